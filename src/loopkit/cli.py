"""The ``loopkit`` command: run the loop on a JSON Lines feed with the SQLite store.

::

    loopkit check POLICIES.toml
    loopkit ingest --policies POLICIES.toml --db loop.db FEED.jsonl [--now ISO]
    loopkit tick --policies POLICIES.toml --db loop.db [--now ISO]
    loopkit cases --db loop.db [--customer ID] [--csv]
    loopkit demo [--db PATH]

Output never contains personal data: responses, cases and messages are shown
by their ids, outcomes and owners only. Exit codes: 0 done, 1 the input was
read but something in it was wrong (every problem is printed, with its file,
line and field path), 2 the command line itself was wrong (an unknown option,
a ``--now`` without an offset, a file that does not exist).

Everything taken from the input that is shown (ids, key names, file names)
is escaped first: control characters, ANSI escape sequences, newlines and
bidirectional overrides are printed as ``\x1b``, ``\n``, ``\u202e`` and so on
(:func:`_for_terminal`); a CSV cell that a spreadsheet would run as a formula
is neutralised (:func:`_csv_cell`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import sqlite3
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, TextIO, cast

from loopkit._input.instants import parse_instant
from loopkit._input.reader import Reader
from loopkit._version import __version__
from loopkit.channels import ChannelPlugin, ConsoleChannel
from loopkit.engine import IngestResult, Loop, TickReport
from loopkit.errors import LoopkitError, Unreadable, ValidationError
from loopkit.model import CHANNELS, Customer, MessageStatus, Response, Touchpoint
from loopkit.playbook import Playbook, load_playbook
from loopkit.stores import IngestOutcome, SQLiteStore, signal_key

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["main"]

DEMO_INGEST_AT: Final = "2026-11-20T21:30:00+01:00"
"""When the demo ingests its feed: Friday evening, after the last answer came in."""
DEMO_TICK_AT: Final = "2026-11-23T16:00:00+01:00"
"""When the demo lets time pass to: Monday afternoon, after the first deadlines."""


class _Failed(Exception):
    """Ends a command with one message on stderr and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _FixedClock:
    """The clock a command runs on when it is given ``--now``."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at


def _instant(text: str) -> datetime:
    """argparse type for ``--now``: ISO 8601 with an offset."""
    try:
        return parse_instant(text, "--now")
    except ValidationError as err:
        problem = err.problems[0]
        raise argparse.ArgumentTypeError(
            f"expected {problem.expected}, got {problem.got}"
        ) from None


# -- the commands ----------------------------------------------------------------


def _check(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    print(f"{_for_terminal(args.policies)}: ok: {_summary(playbook)}", file=out)
    return 0


def _ingest(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    if args.feed != "-" and not Path(args.feed).is_file():
        raise _Failed(f"feed file not found: {args.feed}", 2)
    with _store(args.db, create=True) as store:
        loop = _loop(playbook, store, args.now)
        return _ingest_feed(loop, args.feed, out)


def _tick(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    with _store(args.db, create=False) as store:
        loop = _loop(playbook, store, args.now)
        report = loop.tick()
        print(_report(report), file=out)
    return 0


def _cases(args: argparse.Namespace, out: TextIO) -> int:
    with _store(args.db, create=False) as store, store.transaction() as tx:
        cases = tx.cases(args.customer)
    none = "" if args.csv else "-"
    rows = [("CASE", "STATE", "LEVEL", "OWNER", "DUE", "POLICY", "CUSTOMER")]
    for case in cases:
        due = none if case.due_at is None else case.due_at.isoformat(timespec="minutes")
        rows.append(
            (
                case.id,
                case.state.value,
                str(case.escalation_level),
                case.owner or none,
                due,
                case.policy or none,
                case.customer_id,
            )
        )
    if args.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([_csv_cell(cell) for cell in row] for row in rows)
        return 0
    _table(rows, out)
    print(f"{len(cases)} case{'' if len(cases) == 1 else 's'}", file=out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    data = resources.files("loopkit").joinpath("_demo")
    db = None if args.db is None else Path(args.db).resolve()
    with tempfile.TemporaryDirectory(prefix="loopkit-demo-") as work:
        for name in ("policies.toml", "feed.jsonl"):
            Path(work, name).write_bytes(data.joinpath(name).read_bytes())
        where = "a temporary file (keep it with --db PATH)" if db is None else str(db)
        print("loopkit demo: ten survey answers from one Friday, and the follow-up", file=out)
        print(f"database: {where}", file=out)
        with contextlib.chdir(work):  # so each step shows the command a user would type
            for title, argv in _DEMO_STEPS:
                print(f"\n== {title}\n$ loopkit {' '.join(argv)}", file=out)
                code = _run([str(db) if a == "loop.db" and db else a for a in argv], out)
                if code:
                    return code
    return 0


_DEMO_STEPS: Final = (
    ("check the policy file", ("check", "policies.toml")),
    (
        "Friday evening: ingest the survey answers",
        (
            "ingest",
            *("--policies", "policies.toml", "--db", "loop.db", "--now", DEMO_INGEST_AT),
            "feed.jsonl",
        ),
    ),
    (
        "Monday afternoon: send what is due, warn, breach and escalate",
        ("tick", "--policies", "policies.toml", "--db", "loop.db", "--now", DEMO_TICK_AT),
    ),
    ("where things stand", ("cases", "--db", "loop.db")),
)


# -- helpers -----------------------------------------------------------------------


def _playbook(path: str) -> Playbook:
    if not Path(path).is_file():
        raise _Failed(f"policy file not found: {path}", 2)
    return load_playbook(path)


def _summary(playbook: Playbook) -> str:
    counts = (
        (len(list(playbook.policies)), "policy", "policies"),
        (len(list(playbook.compensation)), "compensation rule", "compensation rules"),
        (len(playbook.calendars), "calendar", "calendars"),
    )
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)


@contextlib.contextmanager
def _store(path: str, *, create: bool) -> Iterator[SQLiteStore]:
    if path != ":memory:" and not create and not Path(path).is_file():
        raise _Failed(f"database not found: {path} (loopkit ingest creates it)", 2)
    try:
        store = SQLiteStore(path)
    except sqlite3.Error as err:
        raise _Failed(f"cannot open database {path}: {err}") from None
    try:
        yield store
    finally:
        store.close()


def _loop(playbook: Playbook, store: SQLiteStore, now: datetime | None) -> Loop:
    names = set(CHANNELS)
    for policy in playbook.policies:
        names.update(policy.channels)
    with store.transaction() as tx:
        names.update(m.channel for m in tx.messages(status=MessageStatus.PENDING))
    # prints to sys.stdout, personal data redacted, ids escaped
    console = ConsoleChannel(stream=cast(TextIO, _EscapedStream()))
    return Loop(
        playbook,
        plugins=[ChannelPlugin([(name, console) for name in sorted(names)])],
        store=store,
        clock=None if now is None else _FixedClock(now),
        rng=random.Random(0),
    )


def _read_line(data: object) -> tuple[Response | Touchpoint, Customer]:
    """A response and its customer, or a touchpoint signal (a line with a
    ``touchpoint`` and no ``response``) and its customer."""
    if not isinstance(data, dict):  # named by its type only: a line may hold personal data
        raise ValidationError(
            "<line>",
            'a JSON object {"response": ..., "customer": ...} '
            'or {"touchpoint": ..., "customer": ...}',
            type(data).__name__,
        )
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


MAX_LINE_BYTES: Final = 1 << 20
"""Longest feed line read, in bytes (1 MiB); a longer one is rejected unread."""

_BOM: Final = b"\xef\xbb\xbf"


def _raw_lines(feed: str) -> Iterator[bytes | None]:
    """The feed's lines as bytes (``None`` for one over :data:`MAX_LINE_BYTES`)."""
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


def _decode_line(raw: bytes | None, number: int) -> tuple[object, None] | tuple[None, str]:
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


_FEED_BATCH: Final = 500
"""Feed lines ingested per store transaction (:meth:`Loop.ingest_many`)."""


def _ingest_feed(loop: Loop, feed: str, out: TextIO) -> int:
    counts: Counter[str] = Counter()
    tally = {"failed": 0, "replayed": 0, "signals": 0}
    # Per line: where it is, then what to ingest or the problems already found.
    # A touchpoint signal is ingested on its own, after the lines before it.
    chunk: list[tuple[str, tuple[Response | Touchpoint, Customer] | list[str]]] = []

    def flush() -> None:
        pairs: list[tuple[Response, Customer]] = [
            (entry[0], entry[1])
            for _, entry in chunk
            if not isinstance(entry, list) and isinstance(entry[0], Response)
        ]
        items = iter(loop.ingest_many(pairs, batch_size=_FEED_BATCH))
        for where, entry in chunk:  # report in line order, as the lines were read
            if isinstance(entry, list):
                problems = entry
            else:
                subject, customer = entry
                result: IngestResult | None
                err: LoopkitError | None
                if isinstance(subject, Touchpoint):
                    try:
                        result, err = loop.ingest_touchpoint(subject, customer=customer), None
                    except LoopkitError as failed:
                        result, err = None, failed
                else:
                    item = next(items)
                    result, err = item.result, item.error
                if result is not None:
                    counts[result.outcome.value] += 1
                    tally["replayed"] += result.replayed
                    tally["signals"] += isinstance(subject, Touchpoint)
                    case = "-" if result.case is None else result.case.id
                    note = "  (replayed)" if result.replayed else ""
                    key = _for_terminal(result.response_id or signal_key(subject.id))
                    print(
                        f"{key:<10} {result.outcome.value:<13} {case:<10} "
                        f"{result.policy or '-'}{note}",
                        file=out,
                    )
                    continue
                problems = (
                    [str(problem) for problem in err.problems]
                    if isinstance(err, ValidationError)
                    else [str(err)]  # a conflict, a plugin that failed
                )
            for problem in problems:
                _error(f"{where}: {problem}")
            tally["failed"] += 1
        chunk.clear()

    stopped: str | None = None
    try:
        for number, raw in enumerate(_raw_lines(feed), start=1):
            if raw is not None and not raw.strip(b" \t\r\n"):
                continue
            where = f"{feed}:{number}"
            data, problem = _decode_line(raw, number)
            if problem is not None:
                chunk.append((where, [problem]))
            else:
                try:
                    subject, customer = _read_line(data)
                except ValidationError as err:
                    chunk.append((where, [str(problem) for problem in err.problems]))
                else:
                    if isinstance(subject, Touchpoint):
                        flush()  # the lines before it go in first
                    chunk.append((where, (subject, customer)))
                    if isinstance(subject, Touchpoint):
                        flush()
            if len(chunk) == _FEED_BATCH:
                flush()
        flush()
    except (OSError, sqlite3.Error, LoopkitError) as err:  # the file or the store failed
        stopped = f"loopkit ingest: stopped: {err}"
    total = sum(counts.values())
    parts = [f"{counts[o.value]} {o.value}" for o in IngestOutcome if counts[o.value]]
    responses, signals = total - tally["signals"], tally["signals"]
    print(
        f"{responses} response{'' if responses == 1 else 's'}"
        + (f", {signals} touchpoint signal{'' if signals == 1 else 's'}" if signals else "")
        + " ingested"
        + (f": {', '.join(parts)}" if parts else "")
        + f"; {tally['replayed']} replayed, {tally['failed']} failed",
        file=out,
    )
    if stopped is not None:
        _error(stopped + " (what was ingested before is kept; run the feed again to go on)")
        return 1
    return 1 if tally["failed"] else 0


def _report(report: TickReport) -> str:
    fields = (
        "sent",
        "retried",
        "dead_lettered",
        "warnings",
        "breaches",
        "escalations",
        "broken_promises",
    )
    return "tick: " + ", ".join(f"{getattr(report, name)} {name}" for name in fields)


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Columns two spaces apart, aligned by the width each cell takes on a
    terminal. A cell with a space (or empty) is quoted so a column never
    looks like two."""
    shown = [[_cell(cell) for cell in row] for row in rows]
    widths = [max(_width(row[i]) for row in shown) for i in range(len(shown[0]))]
    for row in shown:
        print(
            "  ".join(
                cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
            ).rstrip(),
            file=out,
        )


def _cell(text: str) -> str:
    text = _for_terminal(text)
    if not text or any(c.isspace() for c in text) or text.startswith('"'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _for_terminal(text: str) -> str:
    """``text`` safe to print on a terminal or in a log line: every character
    that is not printable (control characters and so ANSI escape sequences,
    newlines, tabs, bidirectional overrides, lone surrogates, unassigned code
    points) is shown as a Python escape.

    >>> _for_terminal("c-1\\x1b[31m\\u202e\\n")
    'c-1\\\\x1b[31m\\\\u202e\\\\n'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(text: str) -> str:
    """``text`` safe for a CSV cell: escaped as :func:`_for_terminal` does, and
    with a leading ``'`` when it starts like a spreadsheet formula (``=``,
    ``+``, ``-``, ``@``), so a spreadsheet shows it as text and never runs it.

    >>> _csv_cell("=HYPERLINK(\\"http://x\\")"), _csv_cell("c-1")
    ('\\'=HYPERLINK("http://x")', 'c-1')
    """
    if text.lstrip(" ").startswith(_FORMULA):
        text = "'" + text
    return _for_terminal(text)


class _EscapedStream(io.TextIOBase):
    """Standard output, with each text written passed through :func:`_for_terminal`
    (``print``'s line ends go through as they are)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        sys.stdout.write(text if text == "\n" else _for_terminal(text))
        return len(text)


def _error(message: str) -> None:
    print(_for_terminal(message), file=sys.stderr)


# -- the command line -----------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with what it echoes of the command line (an unknown option, a
    bad value) escaped like everything else the command prints."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            message = "\n".join(_for_terminal(line) for line in message.split("\n"))
        super()._print_message(message, file)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loopkit",
        description="Close the loop with customers: run follow-up policies on survey "
        "answers with the embedded SQLite store.",
    )
    parser.add_argument("--version", action="version", version=f"loopkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="load a policy file and report every problem")
    check.add_argument("policies", metavar="POLICIES", help="a policy file (.toml or .json)")
    check.set_defaults(run=_check)

    def common(sub: argparse.ArgumentParser, *, policies: bool = True, now: bool = True) -> None:
        if policies:
            sub.add_argument("--policies", required=True, metavar="FILE", help="the policy file")
        sub.add_argument("--db", required=True, metavar="FILE", help="the SQLite database file")
        if now:
            sub.add_argument(
                "--now",
                type=_instant,
                metavar="ISO",
                help="the time to act at, ISO 8601 with offset (default: the real clock)",
            )

    ingest = commands.add_parser(
        "ingest",
        help="ingest a JSON Lines feed of responses and touchpoint signals (idempotent by id)",
    )
    common(ingest)
    ingest.add_argument(
        "feed",
        metavar="FEED",
        help='one {"response": ..., "customer": ...} or {"touchpoint": ..., "customer": ...} '
        "per line; - for stdin",
    )
    ingest.set_defaults(run=_ingest)

    tick = commands.add_parser(
        "tick", help="do what has come due: send messages, warn, breach, escalate"
    )
    common(tick)
    tick.set_defaults(run=_tick)

    cases = commands.add_parser("cases", help="list the cases in a database")
    common(cases, policies=False, now=False)
    cases.add_argument("--customer", metavar="ID", help="only this customer's cases")
    cases.add_argument(
        "--csv", action="store_true", help="print CSV (for a spreadsheet) instead of a table"
    )
    cases.set_defaults(run=_cases)

    demo = commands.add_parser("demo", help="run the bundled example end to end")
    demo.add_argument("--db", metavar="FILE", help="keep the database here (default: a temp file)")
    demo.set_defaults(run=_demo)
    return parser


def _run(argv: Iterable[str], out: TextIO) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else 2
    try:
        code: int = args.run(args, out)
        return code
    except _Failed as err:
        _error(f"loopkit {args.command}: {err}")
        return err.code
    except ValidationError as err:
        for line in err.messages():  # file:line: path: expected ..., got ...
            _error(line)
        return 1
    except LoopkitError as err:
        _error(f"loopkit {args.command}: {err}")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``loopkit`` command line; returns the exit code.

    >>> main(["check", "examples/policies.toml"])
    examples/policies.toml: ok: 5 policies, 2 compensation rules, 2 calendars
    0
    """
    return _run(sys.argv[1:] if argv is None else argv, sys.stdout)
