"""``loopkit run``: ingest a feed and let the clock run through it, then
print the report.

The clock follows the feed: each row is ingested as of the latest time read
so far (its answer's, or its signal's), and whenever that time crosses a
step of ``--tick-every`` (an hour by default) the rows before are ingested
and the loop ticks at that step, so deadlines are warned, breached and
escalated, messages sent and re-surveys sent as the data's time passes. At
the end of the data (or at ``--until``: rows from then on are left for a
later run) the loop ticks once more, and the report is printed as of then.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, Final, TextIO

import attrs

from loopkit._input.durations import parse_duration
from loopkit.engine import Loop, TickReport
from loopkit.errors import ValidationError
from loopkit.model import Response

from ._commands import _FixedClock, _loop, _playbook, _store
from ._feed import Row
from ._ingest import ingest_rows
from ._output import Failed, for_terminal
from ._plugins import plugins_of
from ._progress import Progress, estimate_lines
from ._report import FORMATS, build, write
from ._source import feed_rows

__all__ = ["add_parser", "run"]

_EPOCH: Final = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: ticks fall on whole hours
_COUNTS: Final = tuple(a.name for a in attrs.fields(TickReport))


def _every(text: str) -> timedelta:
    """argparse type for ``--tick-every``: a duration (``15m``, ``1h``, ``1d``)."""
    try:
        step = parse_duration(text, "--tick-every")
    except ValidationError as err:
        problem = err.problems[0]
        raise argparse.ArgumentTypeError(
            f"expected {problem.expected}, got {problem.got}"
        ) from None
    if step < timedelta(minutes=1):
        raise argparse.ArgumentTypeError(f"expected at least 1m, got {text!r}")
    return step


def add_parser(
    commands: argparse._SubParsersAction[Any],
    common: Callable[..., None],
    feed_options: Callable[[argparse.ArgumentParser], None],
    quiet: Callable[[argparse.ArgumentParser], None],
    instant: Callable[[str], datetime],
) -> None:
    """The ``run`` command's options: those of ``ingest`` (the feed's format
    is ``--input-format`` here), the clock's and the report's."""
    sub = commands.add_parser(
        "run",
        help="ingest a feed, run the clock to the end of its data (or --until), ticking as "
        "time passes, and print the report",
    )
    common(sub, now=False)
    sub.add_argument("feed", metavar="FEED", help="JSON Lines or a CSV export, as for ingest")
    feed_options(sub)
    sub.add_argument(
        "--until",
        type=instant,
        metavar="ISO",
        help="run the clock to this time; rows from then on are left for a later run "
        "(default: the end of the data)",
    )
    sub.add_argument(
        "--tick-every",
        type=_every,
        default=timedelta(hours=1),
        metavar="DURATION",
        help="tick each time the data's time crosses a step this long (default: 1h)",
    )
    sub.add_argument(
        "--format",
        dest="report_format",
        choices=FORMATS,
        default="text",
        help="the report's format (default: text)",
    )
    sub.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    sub.add_argument(
        "--period", choices=("day", "week", "month"), default="week", help="trend step"
    )
    sub.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="IANA time zone of the periods (default UTC)"
    )
    quiet(sub)
    sub.set_defaults(run=run)


def when(row: Row) -> datetime | None:
    """When a row happened: its answer's time, or its signal's; ``None`` for
    a row that could not be read."""
    if isinstance(row.entry, list):
        return None
    subject = row.entry[0]
    return subject.answered_at if isinstance(subject, Response) else subject.occurred_at


class _Pace:
    """Moves the loop's clock on with the feed and ticks at each step crossed."""

    def __init__(
        self,
        clock: _FixedClock,
        every: timedelta,
        until: datetime | None,
        after_tick: Callable[[Loop, datetime], None] | None,
    ) -> None:
        self.clock, self.every, self.until = clock, every, until
        self.after_tick = after_tick
        self.loop: Loop | None = None
        self.next = self._step(clock.at) + every
        self.ticks = 0
        self.later = 0  # rows left for a later run (at or after --until)
        self.totals = dict.fromkeys(_COUNTS, 0)

    def _step(self, at: datetime) -> datetime:
        return _EPOCH + ((at - _EPOCH) // self.every) * self.every

    def __call__(self, row: Row, flush: Callable[[], None]) -> bool:
        at = when(row)
        if at is None:
            return True  # rejected where it is read, with its line
        if self.until is not None and at >= self.until:
            self.later += 1
            return False
        if at >= self.next:
            flush()
            self.tick(self._step(at))
        self.clock.at = max(self.clock.at, at)
        return True

    def tick(self, at: datetime) -> None:
        assert self.loop is not None
        self.clock.at = max(self.clock.at, at)
        done = self.loop.tick()
        self.ticks += 1
        for name in _COUNTS:
            self.totals[name] += getattr(done, name)
        if self.after_tick is not None:
            self.after_tick(self.loop, self.clock.at)
        self.next = self._step(self.clock.at) + self.every


def _first_time(rows: Iterator[Row]) -> tuple[datetime | None, Iterator[Row]]:
    """The time of the first readable row, and all the rows still to come."""
    seen: list[Row] = []
    for row in rows:
        seen.append(row)
        at = when(row)
        if at is not None:
            return at, chain(seen, rows)
    return None, iter(seen)


def run(
    args: argparse.Namespace,
    out: TextIO,
    *,
    after_tick: Callable[[Loop, datetime], None] | None = None,
) -> int:
    """``loopkit run``; ``after_tick(loop, at)`` is called after each tick
    (``loopkit demo``'s team works its cases there)."""
    playbook = _playbook(args.policies)
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    if args.feed != "-" and not Path(args.feed).is_file():
        raise Failed(f"feed file not found: {args.feed}", 2)
    rows, rejects, _ = feed_rows(args, out)
    start, rows = _first_time(rows)
    if start is None or (args.until is not None and args.until < start):
        start = args.until if args.until is not None else datetime.now(UTC)
    clock = _FixedClock(start)
    pace = _Pace(clock, args.tick_every, args.until, after_tick)
    progress = None if args.quiet else Progress("loopkit run", estimate_lines(args.feed))
    with _store(args.db, create=True) as store:
        loop = _loop(playbook, store, None, hosts=hosts, clock=clock, echo=False)
        pace.loop = loop
        code = ingest_rows(
            loop, rows, args.feed, out, rejects, each=False, progress=progress, pace=pace
        )
        end = args.until if args.until is not None else clock.at
        pace.tick(end)
        if pace.later:
            n = pace.later
            later = f"{n} row{'' if n == 1 else 's'} from {end.isoformat()} on"
            print(f"{later} left for a later run", file=out)
        counts = ", ".join(f"{pace.totals[name]} {name}" for name in _COUNTS if pace.totals[name])
        print(
            f"clock: {pace.ticks} tick{'' if pace.ticks == 1 else 's'} from "
            f"{start.isoformat(timespec='minutes')} to {end.isoformat(timespec='minutes')}"
            + (f": {counts}" if counts else ""),
            file=out,
        )
        built = build(loop, now=end, timezone=args.tz, period=args.period)
    if args.output is not None or args.report_format != "text":
        write(built, args.report_format, args.output, out)
        if args.output is not None:
            print(f"report written to {for_terminal(args.output)}", file=out)
    else:
        print(file=out)
        write(built, "text", None, out)
    return code
