"""``loopkit report``: the report over what a database holds, as text, JSON, CSV or
one self-contained HTML file, to stdout or ``--output FILE``.

Reads through a read-only :class:`~loopkit.Loop` (its responses and cases);
the report itself is pure
(:mod:`loopkit.reports`) and holds no personal data.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from loopkit.compensation import LedgerEntry
from loopkit.engine import Loop
from loopkit.outcomes import RecoveryOutcome, SystemicIssue
from loopkit.reports import (
    Report,
    build_report,
    render_csv,
    render_html,
    render_json,
    render_text,
)
from loopkit.reports.report import PeriodKind

from ._commands import Failed, _reading, _store
from ._output import for_terminal
from ._plugins import add_options as add_plugin_options
from ._plugins import plugins_of

__all__ = ["FORMATS", "add_parser", "build", "report", "write"]

FORMATS = ("text", "json", "csv", "html")


def add_parser(
    commands: argparse._SubParsersAction[Any],
    instant: Callable[[str], datetime],
) -> None:
    """The ``report`` command's options (``instant`` reads an ISO 8601 time)."""
    sub = commands.add_parser(
        "report", help="write a report of the metrics: text, json, csv or one html file"
    )
    sub.add_argument("--db", required=True, metavar="FILE", help="the SQLite database file")
    sub.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    sub.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    sub.add_argument("--since", type=instant, metavar="ISO", help="from this time (inclusive)")
    sub.add_argument("--until", type=instant, metavar="ISO", help="up to this time (exclusive)")
    sub.add_argument(
        "--period", choices=("day", "week", "month"), default="week", help="trend step"
    )
    sub.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="IANA time zone of the periods (default UTC)"
    )
    sub.add_argument(
        "--now",
        type=instant,
        metavar="ISO",
        help="the time the report is as of (default: the real clock)",
    )
    add_plugin_options(sub)
    sub.set_defaults(run=report)


def _extras(
    loop: Loop,
) -> tuple[
    Iterable[LedgerEntry],
    Iterable[RecoveryOutcome | None],
    Iterable[SystemicIssue],
]:
    """The ledger's entries, the recovery outcomes of the cases that were
    re-surveyed (``None`` while the answer window is open) and the systemic
    issues, read through the loop."""
    recoveries = [
        None if case.recovery is None else RecoveryOutcome(case.recovery)
        for case in loop.cases()
        if case.recovery is not None or any(e.kind == "resurvey_queued" for e in case.events)
    ]
    return loop.compensation.ledger().entries, recoveries, loop.issues.list()


def report(args: argparse.Namespace, out: TextIO) -> int:
    now = args.now if args.now is not None else datetime.now(UTC)
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    with _store(args.db, create=False) as store:
        built = build(
            _reading(store, hosts),
            now=now,
            timezone=args.tz,
            period=args.period,
            since=args.since,
            until=args.until,
        )
    write(built, args.format, args.output, out)
    return 0


def build(
    loop: Loop,
    *,
    now: datetime,
    timezone: str = "UTC",
    period: PeriodKind = "week",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """The report over what ``loop``'s store holds, as of ``now``."""
    ledger, recoveries, issues = _extras(loop)
    return build_report(
        responses=loop.responses(),
        cases=loop.cases(),
        ledger=ledger,
        recoveries=recoveries,
        issues=issues,
        now=now,
        timezone=timezone,
        period_kind=period,
        since=since,
        until=until,
    )


def write(built: Report, form: str, output: str | None, out: TextIO) -> None:
    """``built`` rendered as ``form`` (text, json, csv, html), to ``output``
    (a file) or ``out``."""
    if form == "text":
        text = "".join(for_terminal(line) + "\n" for line in render_text(built).splitlines())
    else:
        text = {"json": render_json, "csv": render_csv, "html": render_html}[form](built)
    if output is None:
        out.write(text)
        return
    try:
        with Path(output).open("w", encoding="utf-8", newline="") as file:
            file.write(text)
    except OSError as err:
        raise Failed(f"cannot write {output}: {err.strerror}", 2) from None
