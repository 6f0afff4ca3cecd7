"""Reading a JSON Lines feed line by line, within its limits: each line as
bytes (never more than :data:`MAX_LINE_BYTES` of one held), its JSON value or
why it cannot be read, and the response (or touchpoint signal) and customer
it holds, as a :class:`Row`. Nothing read is ever shown: a line may hold
personal data."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from typing import BinaryIO, Final

import attrs

from loopkit._input.reader import Reader
from loopkit.errors import Unreadable, ValidationError
from loopkit.model import Customer, Response, Touchpoint

from ._output import Failed
from ._times import TimeReading

__all__ = [
    "MAX_LINE_BYTES",
    "Row",
    "decode_line",
    "jsonl_rows",
    "open_feed",
    "raw_lines",
    "read_line",
]


@attrs.frozen
class Row:
    """One row of a feed: its (first) line, what to ingest or the reasons it
    cannot be, and its response id when that is known (for the rejects file)."""

    line: int
    entry: tuple[Response | Touchpoint, Customer] | list[str]
    key: str | None = None


@contextlib.contextmanager
def open_feed(feed: str) -> Iterator[BinaryIO]:
    """The feed as a binary stream: a file, or ``-`` for standard input."""
    if feed != "-":
        with open(feed, "rb") as stream:
            yield stream
        return
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        yield buffer
    else:  # a text stream standing in for stdin: as UTF-8
        yield io.BytesIO(sys.stdin.read().encode("utf-8", "surrogatepass"))


def jsonl_rows(feed: str, times: TimeReading) -> Iterator[Row]:
    """The rows of a JSON Lines feed; a first line that is a CSV header stops
    it (:class:`Failed`, exit 2) before anything is ingested."""
    first = True
    for number, raw in enumerate(raw_lines(feed), start=1):
        if raw is not None and not raw.strip(b" \t\r\n"):
            continue
        data, problem = decode_line(raw, number)
        if first and problem is not None and raw is not None and _looks_like_csv(raw):
            raise Failed(
                f"{feed}: this looks like CSV, not JSON Lines (line {number} is not a JSON "
                "object but a row of comma-separated cells); use --format csv",
                2,
            )
        first = False
        if problem is not None:
            yield Row(number, [problem])
            continue
        problems = times.place_fields(data)
        if problems:
            yield Row(number, [str(p) for p in problems], _response_id(data))
            continue
        try:
            entry = read_line(data)
        except ValidationError as err:
            yield Row(number, [str(p) for p in err.problems], _response_id(data))
            continue
        subject = entry[0]  # its id is the one _response_id finds (0.2 us a line saved)
        yield Row(number, entry, subject.id if type(subject) is Response else _response_id(data))


def _looks_like_csv(raw: bytes) -> bool:
    text = raw.lstrip(_BOM + b" \t")
    return not text.startswith((b"{", b"[")) and any(d in text for d in (b",", b";", b"\t"))


def _response_id(data: object) -> str | None:
    """The id the rejects file names a line by: its response's, or
    ``touchpoint:ID`` for a signal (as the output names it)."""
    if isinstance(data, dict):
        for key, prefix in (("response", ""), ("touchpoint", "touchpoint:")):
            inner = data.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("id"), str):
                return prefix + str(inner["id"])[:200]
    return None


MAX_LINE_BYTES: Final = 1 << 20
"""Longest feed line read, in bytes (1 MiB); a longer one is rejected unread."""

_BOM: Final = b"\xef\xbb\xbf"


def raw_lines(feed: str) -> Iterator[bytes | None]:
    """The feed's lines as bytes (``None`` for one over :data:`MAX_LINE_BYTES`);
    ``feed`` is a file name, or ``-`` for standard input."""
    if feed != "-":
        with open(feed, "rb") as stream:
            yield from _read_lines(stream)
        return
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        yield from _read_lines(buffer)
    else:  # a text stream standing in for stdin: its lines, as UTF-8
        for line in sys.stdin:
            yield line.encode("utf-8", "surrogatepass")


def _read_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    while line := stream.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line, never holding more than 1 MiB
            yield None
        else:
            yield line


def decode_line(raw: bytes | None, number: int) -> tuple[object, None] | tuple[None, str]:
    """A line's JSON value, or why it cannot be read (never its content: a
    line may hold personal data)."""
    expected = "expected one JSON object per line"
    if raw is None:
        return None, f"expected a line of at most {MAX_LINE_BYTES:,} bytes, got a longer one"
    if number == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    nul = raw.find(b"\x00")
    if nul >= 0:
        return None, f"{expected}, got a NUL byte at column {nul + 1}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"expected UTF-8 text, got an invalid byte at column {err.start + 1}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as err:
        at = "" if err.msg.endswith(" at") else " at"  # "Unterminated string starting at"
        problem = f"{expected}, got invalid JSON ({err.msg}{at} column {err.colno})"
        if not raw.endswith(b"\n"):  # only the last line of a file can end without one
            problem += "; the file ends inside this line (truncated?)"
        return None, problem
    except RecursionError:
        return None, f"{expected}, got JSON nested too deeply to read"
    except ValueError:  # Python reads no integer of more than 4,300 digits
        try:  # again, with such numbers kept aside so the model names their field
            return json.loads(text, parse_int=_whole_number), None
        except (ValueError, RecursionError):
            return None, f"{expected}, got a number too long to read"


def _whole_number(text: str) -> int | Unreadable:
    """An integer of a feed line; one too long for Python to read (more than
    4,300 digits) is a stand-in that no field takes, so its error names the field."""
    try:
        return int(text)
    except ValueError:
        return Unreadable(f"an integer of {len(text.lstrip('-')):,} digits")


def read_line(data: object) -> tuple[Response | Touchpoint, Customer]:
    """A response and its customer, or a touchpoint signal (a line with a
    ``touchpoint`` and no ``response``) and its customer."""
    if not isinstance(data, dict):  # named by its type only: a line may hold personal data
        raise ValidationError(
            "<line>",
            'a JSON object {"response": ..., "customer": ...} '
            'or {"touchpoint": ..., "customer": ...}',
            type(data).__name__,
        )
    if len(data) == 2:  # the common line: read at once, or again below to name every problem
        response, customer = data.get("response"), data.get("customer")
        if response is not None and customer is not None:
            try:
                return Response.from_dict(response), Customer.from_dict(customer)
            except ValidationError:
                pass
    r = Reader(data, "")
    subject: Response | Touchpoint
    if "touchpoint" in data and "response" not in data:
        subject = r.get("touchpoint", Touchpoint.from_dict)
    else:
        subject = r.get("response", Response.from_dict)
    customer = r.get("customer", Customer.from_dict)
    r.finish()
    r.raise_if_any()
    return subject, customer
