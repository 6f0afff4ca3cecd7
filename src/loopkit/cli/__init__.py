"""The ``loopkit`` command: run the loop on a feed (JSON Lines, or a survey
tool's CSV export through a column mapping) with the SQLite store.

::

    loopkit check POLICIES.toml
    loopkit ingest --policies POLICIES.toml --db loop.db FEED.jsonl [--now ISO]
    loopkit ingest --policies POLICIES.toml --db loop.db --mapping MAPPING.toml
        [--timezone ZONE] [--rejects FILE] EXPORT.csv
    loopkit tick --policies POLICIES.toml --db loop.db [--now ISO]
    loopkit cases --db loop.db [--customer ID] [--csv]
    loopkit migrate --db loop.db
    loopkit report --db loop.db [--format text|json|csv|html] [--output FILE]
                   [--since ISO] [--until ISO] [--period day|week|month] [--tz ZONE]
    loopkit run FEED --policies POLICIES.toml --db loop.db [--until ISO] [--tick-every 1h]
        [--input-format csv|jsonl] [--mapping ...] [--format text|json|csv|html] [--output FILE]
    loopkit demo [--db PATH] [--format text|json|csv|html] [--output FILE]

The commands that act through a loop (``explain``, ``cases`` and ``report``
too) take ``--plugin MODULE[:ATTR]``
(repeatable) and load the ``loopkit`` entry points (``--no-entry-points``:
not); ``ingest`` and ``run`` show progress on stderr (``--quiet``: not).

Output never contains personal data: responses, cases and messages are shown
by their ids, outcomes and owners only. Exit codes: 0 done, 1 the input was
read but something in it was wrong (every problem is printed, with its file,
line and field path), 2 the command line itself was wrong (an unknown option,
a ``--now`` without an offset, a file that does not exist).

Everything taken from the input that is shown (ids, key names, file names)
is escaped first: control characters, ANSI escape sequences, newlines and
bidirectional overrides are printed as ``\x1b``, ``\n``, ``\u202e`` and so on
(``_output.for_terminal``); a CSV cell that a spreadsheet would run as a
formula is neutralised (``_output.csv_cell``).

This module parses the command line and runs a command; the parts live in
private modules: ``_commands`` (check, ingest, tick, cases, migrate, demo, each over a
:class:`~loopkit.Loop`: the command never opens a store transaction itself),
``_casework`` (contact, step, grant, close: working one case),
``_report`` (the report, rendered by :mod:`loopkit.reports`), ``_run``
(a feed ingested with the clock following its data, then the report),
``_plugins`` (``--plugin`` and entry points), ``_progress`` (progress on
stderr), ``_demo`` (the bundled example) and ``_team`` (the demo's support
team, a plugin working cases), ``_explain``
(what the policies decide for each answer of a feed, and why),
``_ingest`` (ingesting a feed's rows), ``_source`` (which rows: the format,
the mapping, the default time zone, the rejects file), ``_feed`` (reading a
JSON Lines feed within its limits), ``_records`` (a CSV file's records as
bytes, within a limit), ``_csvfeed`` (a CSV export read through its mapping),
``_mapping`` (the mapping file), ``_times`` (timestamps without an offset),
``_rejects`` (the rejects file) and ``_output`` (what is printed, escaped).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from loopkit._input.checks import check_timezone
from loopkit._input.instants import parse_instant
from loopkit._version import __version__
from loopkit.errors import LoopkitError, ValidationError
from loopkit.model import CaseState

from . import _casework, _commands, _demo, _explain, _report, _simulate
from . import _run as _run_command
from ._commands import DEMO_INGEST_AT as DEMO_INGEST_AT  # kept importable from here
from ._commands import DEMO_TICK_AT as DEMO_TICK_AT
from ._commands import Failed
from ._feed import MAX_LINE_BYTES as MAX_LINE_BYTES
from ._output import csv_cell, error, for_terminal
from ._plugins import add_options as add_plugin_options
from ._source import FORMATS

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["main"]

# The escaping helpers by the names they had when the command was one module.
_for_terminal = for_terminal
_csv_cell = csv_cell


def _instant(text: str) -> datetime:
    """argparse type for ``--now`` (and ``--since``, ``--until``): ISO 8601 with an offset."""
    try:
        return parse_instant(text, "--now")
    except ValidationError as err:
        problem = err.problems[0]
        raise argparse.ArgumentTypeError(
            f"expected {problem.expected}, got {problem.got}"
        ) from None


def _zone(text: str) -> ZoneInfo:
    """argparse type for ``--timezone``: an IANA time zone name."""
    try:
        return ZoneInfo(check_timezone(text, "--timezone"))
    except ValidationError as err:
        problem = err.problems[0]
        raise argparse.ArgumentTypeError(
            f"expected {problem.expected}, got {problem.got}"
        ) from None


def _quiet(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--quiet", "-q", action="store_true", help="no progress on standard error")


def _feed_options(
    ingest: argparse.ArgumentParser, *, rejects: bool = True, format_option: str = "--format"
) -> None:
    ingest.add_argument(
        format_option,
        dest="format",
        choices=FORMATS,
        help="the feed's format (default: from its extension, .csv or .tsv for CSV, "
        "else JSON Lines)",
    )
    ingest.add_argument(
        "--mapping", metavar="FILE", help="a TOML file: which CSV column holds which field"
    )
    ingest.add_argument(
        "--column",
        action="append",
        metavar="FIELD=COLUMN",
        help="the CSV column that holds FIELD (repeatable; over the mapping file)",
    )
    ingest.add_argument(
        "--value",
        action="append",
        metavar="FIELD=VALUE",
        help="FIELD's value where no column gives one (repeatable; over the mapping file)",
    )
    ingest.add_argument(
        "--timezone",
        type=_zone,
        metavar="ZONE",
        help="read times without an offset in this IANA zone (default: such a row is rejected)",
    )
    if not rejects:
        return
    ingest.add_argument(
        "--rejects",
        metavar="FILE",
        help="where rejected rows are listed, with their lines and reasons "
        "(default: FEED.rejects.csv beside the feed)",
    )


# -- the command line -----------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with what it echoes of the command line (an unknown option, a
    bad value) escaped like everything else the command prints."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            message = "\n".join(for_terminal(line) for line in message.split("\n"))
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
    check.set_defaults(run=_commands.check)

    def common(sub: argparse.ArgumentParser, *, policies: bool = True, now: bool = True) -> None:
        if policies:
            sub.add_argument("--policies", required=True, metavar="FILE", help="the policy file")
            add_plugin_options(sub)
        sub.add_argument(
            "--db",
            required=True,
            metavar="FILE",
            help="the SQLite database file, or a PostgreSQL DSN (postgresql://...)",
        )
        if now:
            sub.add_argument(
                "--now",
                type=_instant,
                metavar="ISO",
                help="the time to act at, ISO 8601 with offset (default: the real clock)",
            )

    ingest = commands.add_parser(
        "ingest",
        help="ingest a feed: JSON Lines (responses and touchpoint signals) or a CSV export"
        " through a column mapping (idempotent by id)",
    )
    common(ingest)
    ingest.add_argument(
        "feed",
        metavar="FEED",
        help='JSON Lines (one {"response": ..., "customer": ...} or {"touchpoint": ..., '
        '"customer": ...} per line) or a CSV export; - for stdin',
    )
    _feed_options(ingest)
    _quiet(ingest)
    ingest.set_defaults(run=_commands.ingest)

    tick = commands.add_parser(
        "tick", help="do what has come due: send messages, warn, breach, escalate"
    )
    common(tick)
    tick.set_defaults(run=_commands.tick)

    migrate = commands.add_parser(
        "migrate", help="bring a database's layout up to this loopkit's (before new workers start)"
    )
    common(migrate, policies=False, now=False)
    migrate.set_defaults(run=_commands.migrate)

    cases = commands.add_parser("cases", help="list the cases in a database")
    common(cases, policies=False, now=False)
    add_plugin_options(cases)  # a reading loop: the plugins' channels are known
    cases.add_argument("--customer", metavar="ID", help="only this customer's cases")
    cases.add_argument(
        "--state",
        action="append",
        choices=[s.value for s in CaseState],
        help="only cases in this state (repeatable)",
    )
    cases.add_argument(
        "--owner", metavar="OWNER", help="only cases this owner has (emp-7, team:cx)"
    )
    cases.add_argument(
        "--breached", action="store_true", help="only cases whose deadline was breached"
    )
    shape = cases.add_mutually_exclusive_group()
    shape.add_argument(
        "--csv", action="store_true", help="print CSV (for a spreadsheet) instead of a table"
    )
    shape.add_argument(
        "--json", action="store_true", help="print JSON Lines, one case a line, with its log"
    )
    cases.set_defaults(run=_commands.cases)

    _casework.add_parsers(commands, common)
    _report.add_parser(commands, _instant)
    _run_command.add_parser(
        commands,
        common,
        functools.partial(_feed_options, format_option="--input-format"),
        _quiet,
        _instant,
    )
    _explain.add_parser(
        commands,
        _instant,
        functools.partial(_feed_options, rejects=False),
        _commands.explain,
    )

    _simulate.add_parser(commands, functools.partial(_feed_options, rejects=False), _zone)

    demo = commands.add_parser("demo", help="run the bundled example end to end")
    demo.add_argument("--db", metavar="FILE", help="keep the database here (default: in memory)")
    demo.add_argument(
        "--format", choices=_report.FORMATS, default="text", help="the report's (default: text)"
    )
    demo.add_argument("--output", metavar="FILE", help="write the report here")
    _quiet(demo)
    demo.set_defaults(
        run=functools.partial(_demo.demo, run=_run, parse=lambda argv: _parser().parse_args(argv))
    )
    return parser


def _run(argv: Iterable[str], out: TextIO) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else 2
    try:
        code: int = args.run(args, out)
        return code
    except Failed as err:
        error(f"loopkit {args.command}: {err}")
        return err.code
    except ValidationError as err:
        for line in err.messages():  # file:line: path: expected ..., got ...
            error(line)
        return 1
    except LoopkitError as err:
        error(f"loopkit {args.command}: {err}")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``loopkit`` command line; returns the exit code.

    >>> main(["check", "examples/policies.toml"])
    examples/policies.toml: ok: 5 policies, 2 compensation rules, 2 calendars
    0
    """
    try:
        return _run(sys.argv[1:] if argv is None else argv, sys.stdout)
    except BrokenPipeError:
        # The reader went away (``loopkit cases | head``): no traceback, and
        # nothing more written to the closed pipe when Python flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
