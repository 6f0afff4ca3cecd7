"""The ``loopkit`` command: run the loop on a JSON Lines feed with the SQLite store.

::

    loopkit check POLICIES.toml
    loopkit ingest --policies POLICIES.toml --db loop.db FEED.jsonl [--now ISO]
    loopkit tick --policies POLICIES.toml --db loop.db [--now ISO]
    loopkit cases --db loop.db [--customer ID]
    loopkit demo [--db PATH]

Output never contains personal data: responses, cases and messages are shown
by their ids, outcomes and owners only. Exit codes: 0 done, 1 the input was
read but something in it was wrong (every problem is printed, with its file,
line and field path), 2 the command line itself was wrong (an unknown option,
a ``--now`` without an offset, a file that does not exist).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Final, TextIO

from loopkit._version import __version__
from loopkit.channels import ChannelPlugin, ConsoleChannel
from loopkit.engine import Loop, TickReport
from loopkit.errors import LoopkitError, ValidationError
from loopkit.model import CHANNELS, Customer, MessageStatus, Response
from loopkit.model._checks import parse_instant
from loopkit.model._reader import Reader
from loopkit.playbook import Playbook, load_policies
from loopkit.stores import IngestOutcome, SQLiteStore

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
    print(f"{args.policies}: ok: {_summary(playbook)}", file=out)
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
    rows = [("CASE", "STATE", "LEVEL", "OWNER", "DUE", "POLICY", "CUSTOMER")]
    for case in cases:
        due = "-" if case.due_at is None else case.due_at.isoformat(timespec="minutes")
        rows.append(
            (
                case.id,
                case.state.value,
                str(case.escalation_level),
                case.owner or "-",
                due,
                case.policy or "-",
                case.customer_id,
            )
        )
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
    return load_policies(path)


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
    console = ConsoleChannel()  # prints to sys.stdout, personal data redacted
    return Loop(
        playbook,
        plugins=[ChannelPlugin([(name, console) for name in sorted(names)])],
        store=store,
        clock=None if now is None else _FixedClock(now),
        rng=random.Random(0),
    )


def _read_line(data: object) -> tuple[Response, Customer]:
    if not isinstance(data, dict):  # named by its type only: a line may hold personal data
        raise ValidationError(
            "<line>", 'a JSON object {"response": ..., "customer": ...}', type(data).__name__
        )
    r = Reader(data, "")
    response = r.get("response", Response.from_dict)
    customer = r.get("customer", Customer.from_dict)
    r.finish()
    r.raise_if_any()
    return response, customer


def _lines(feed: str) -> Iterator[tuple[int, str]]:
    if feed == "-":
        yield from enumerate(sys.stdin, start=1)
        return
    try:
        with open(feed, encoding="utf-8") as stream:
            yield from enumerate(stream, start=1)
    except UnicodeDecodeError as err:
        raise _Failed(f"{feed}: expected UTF-8 text, got {err.reason}") from None


_FEED_BATCH: Final = 500
"""Feed lines ingested per store transaction (:meth:`Loop.ingest_many`)."""


def _ingest_feed(loop: Loop, feed: str, out: TextIO) -> int:
    counts: Counter[str] = Counter()
    tally = {"failed": 0, "replayed": 0}
    # Per line: where it is, then the pair to ingest or the problems already found.
    chunk: list[tuple[str, tuple[Response, Customer] | list[str]]] = []

    def flush() -> None:
        pairs = [entry for _, entry in chunk if isinstance(entry, tuple)]
        items = iter(loop.ingest_many(pairs, batch_size=_FEED_BATCH))
        for where, entry in chunk:  # report in line order, as the lines were read
            if isinstance(entry, list):
                problems = entry
            else:
                item = next(items)
                if item.result is not None:
                    result = item.result
                    counts[result.outcome.value] += 1
                    tally["replayed"] += result.replayed
                    case = "-" if result.case is None else result.case.id
                    note = "  (replayed)" if result.replayed else ""
                    print(
                        f"{result.response_id:<10} {result.outcome.value:<13} {case:<10} "
                        f"{result.policy or '-'}{note}",
                        file=out,
                    )
                    continue
                err = item.error
                problems = (
                    [str(problem) for problem in err.problems]
                    if isinstance(err, ValidationError)
                    else [str(err)]  # a conflict, a plugin that failed
                )
            for problem in problems:
                _error(f"{where}: {problem}")
            tally["failed"] += 1
        chunk.clear()

    for number, line in _lines(feed):
        if not line.strip():
            continue
        where = f"{feed}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            chunk.append(
                (where, [f"expected one JSON object per line, got invalid JSON ({err.msg})"])
            )
        else:
            try:
                chunk.append((where, _read_line(data)))
            except ValidationError as err:
                chunk.append((where, [str(problem) for problem in err.problems]))
        if len(chunk) == _FEED_BATCH:
            flush()
    flush()
    total = sum(counts.values())
    parts = [f"{counts[o.value]} {o.value}" for o in IngestOutcome if counts[o.value]]
    print(
        f"{total} response{'' if total == 1 else 's'} ingested"
        + (f": {', '.join(parts)}" if parts else "")
        + f"; {tally['replayed']} replayed, {tally['failed']} failed",
        file=out,
    )
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
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )


def _error(message: str) -> None:
    print(message, file=sys.stderr)


# -- the command line -----------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        "ingest", help="ingest a JSON Lines feed of responses (idempotent by response id)"
    )
    common(ingest)
    ingest.add_argument(
        "feed", metavar="FEED", help='one {"response": ..., "customer": ...} per line; - for stdin'
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
    examples/policies.toml: ok: 4 policies, 2 compensation rules, 2 calendars
    0
    """
    return _run(sys.argv[1:] if argv is None else argv, sys.stdout)
