"""Splitting a CSV file into its records as bytes, within a limit: a record
ends at a line end outside quotes (a quoted field may hold line ends), and
one longer than :data:`MAX_RECORD_BYTES` is skipped without being held in
memory (its end is still found, so the next record is read as it should be).

A quote opens a quoted field only at the start of a field, as Python's
``csv`` module reads it; ``""`` inside a quoted field is a quote. The quote
and the delimiter are ASCII, so scanning bytes is safe for any ASCII-based
encoding, UTF-8 above all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

import attrs

__all__ = ["MAX_RECORD_BYTES", "Record", "records"]

MAX_RECORD_BYTES: Final = 1 << 20
"""Longest CSV record read, in bytes (1 MiB); a longer one is rejected unread."""

_QUOTE: Final = ord('"')
# Where the scan is: at the start of a field, inside an unquoted field, inside
# a quoted field, or just after a quote inside one (a closing quote, or the
# first of two).
_START, _FIELD, _QUOTED, _AFTER_QUOTE = range(4)


@attrs.frozen
class Record:
    """One record: the physical lines it spans (1-based), its bytes (``None``
    when it was longer than the limit), whether it ended with a line end, and
    whether the file ended inside one of its quoted fields."""

    line: int
    last: int
    data: bytes | None
    newline: bool
    unclosed: bool


def records(stream: BinaryIO, delimiter: str = ",") -> Iterator[Record]:
    """The records of ``stream``, never holding more than about
    :data:`MAX_RECORD_BYTES` of one."""
    ends = re.compile(re.escape(delimiter.encode("ascii")) + rb"|\n")
    line = 1
    while chunk := stream.readline(MAX_RECORD_BYTES + 1):
        first, parts, size = line, [chunk], len(chunk)
        state = _scan(chunk, _START, ends)
        while True:
            if chunk.endswith(b"\n"):
                line += 1
                if state not in (_QUOTED, _AFTER_QUOTE):
                    break
            nxt = stream.readline(MAX_RECORD_BYTES + 1)
            if not nxt:
                break
            chunk = nxt
            state = _scan(chunk, state, ends)
            size += len(chunk)
            if size <= MAX_RECORD_BYTES:
                parts.append(chunk)
            else:
                parts.clear()  # too long: scanned to its end, never held
        newline = chunk.endswith(b"\n")
        yield Record(
            line=first,
            last=line - 1 if newline else line,
            data=b"".join(parts) if size <= MAX_RECORD_BYTES else None,
            newline=newline,
            unclosed=state == _QUOTED,
        )


def _scan(chunk: bytes, state: int, ends: re.Pattern[bytes]) -> int:
    """The state after reading ``chunk`` from ``state``."""
    pos, n = 0, len(chunk)
    while pos < n:
        if state == _QUOTED:
            q = chunk.find(b'"', pos)
            if q < 0:
                return _QUOTED
            state, pos = _AFTER_QUOTE, q + 1
        elif state == _AFTER_QUOTE:
            if chunk[pos] == _QUOTE:  # "" inside a quoted field
                state, pos = _QUOTED, pos + 1
            else:  # the quote closed the field; the rest is read as unquoted
                state = _FIELD
        elif state == _START and chunk[pos] == _QUOTE:
            state, pos = _QUOTED, pos + 1
        else:  # in an unquoted field: to the next delimiter or line end
            end = ends.search(chunk, pos)
            if end is None:
                return _FIELD
            state, pos = _START, end.end()
    return state
