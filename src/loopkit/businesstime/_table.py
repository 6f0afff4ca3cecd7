"""Opening intervals expanded to UTC microseconds, cached, searched by bisection.

A :class:`Table` holds, for a range of local years, every open interval of a
schedule as ``[start, end)`` pairs of integer microseconds since the Unix epoch
(UTC), sorted and merged (touching intervals are one), plus the cumulative
business time before each interval. Adding business time is then two binary
searches and some integer arithmetic.

Semantics (the only definition; everything else follows from it): an instant
is *open* when the wall clock of the schedule's zone at that instant shows a
date that is not closed and a time of day inside one of that weekday's
intervals (start inclusive, end exclusive). Intervals are found by splitting
time into stretches of constant UTC offset, so clock changes need no special
cases: a spring-forward gap shortens an interval, a repeated autumn hour is
open twice if its wall times are open, a day whose midnight does not exist
starts at the first instant that day.

Tables are built for a few years around the first query and grown when a
query falls outside, so a search is always bounded: growing by two years that
contain no opening time raises :class:`~loopkit.errors.BusinessTimeError`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from loopkit.errors import BusinessTimeError

US: Final = 1_000_000
DAY_US: Final = 86_400 * US
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_SAMPLE_S: Final = 24 * 3600
"""Spacing of the UTC-offset samples: two clock changes closer than this would
not both be seen. In the tz database of 2026, no zone has two changes less than
four days apart between 1900 and 2100 (checked by sampling every 6 hours)."""

MIN_YEAR: Final = 2
MAX_YEAR: Final = 9998
_EMPTY_YEARS: Final = 2
_CACHE_SIZE: Final = 256
_JOIN_YEARS: Final = 10

Hours = Sequence[Sequence[tuple[int, int]]]
"""Per weekday (Monday first), ``(start, end)`` in minutes after midnight."""


class Schedule(Hashable, Protocol):
    """What a table is built from: a frozen, hashable value."""

    def table_source(self) -> tuple[ZoneInfo, Hours, Callable[[int, int], Iterable[int]]]:
        """Zone, weekly hours, and ``closed_days(year0, year1)`` giving the
        closed days (days since 1970-01-01) in ``[year0, year1)``."""


def day_number(d: date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def to_us(at: datetime) -> int:
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(value: int, zone: ZoneInfo) -> datetime:
    seconds, micro = divmod(value, US)
    if micro:
        return (EPOCH + timedelta(microseconds=value)).astimezone(zone)
    # A whole second (the usual case): three times faster, and exact.
    return datetime.fromtimestamp(seconds, zone)


def td_us(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * US + value.microseconds


def _year_of(value_us: int) -> int:
    days = value_us // DAY_US
    ordinal = min(max(days + _EPOCH_ORDINAL, 1), date.max.toordinal())
    return date.fromordinal(ordinal).year


def _start_of_year_s(year: int) -> int:
    return day_number(date(year, 1, 1)) * 86_400


class Table:
    """Open intervals of one schedule for the local years ``[year0, year1)``."""

    __slots__ = ("cov_hi", "cov_lo", "cum", "cum_end", "ends", "starts", "year0", "year1")

    def __init__(self, year0: int, year1: int, pieces: list[tuple[int, int]]) -> None:
        self.year0 = year0
        self.year1 = year1
        # Instants at least three days inside the built years: offsets are
        # under a day, so every interval touching them has been built.
        self.cov_lo = (_start_of_year_s(year0) + 3 * 86_400) * US
        self.cov_hi = (_start_of_year_s(year1) - 3 * 86_400) * US
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(pieces):
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        cum: list[int] = []
        cum_end: list[int] = []
        total = 0
        for start, end in zip(starts, ends, strict=True):
            cum.append(total)
            total += end - start
            cum_end.append(total)
        self.starts = starts
        self.ends = ends
        self.cum = cum
        self.cum_end = cum_end

    def covers(self, value: int) -> bool:
        return self.cov_lo <= value < self.cov_hi

    def pos(self, value: int) -> int:
        """Business time from the first interval up to ``value``."""
        i = bisect_right(self.starts, value) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(value, self.ends[i]) - self.starts[i]


def _offsets(zone: ZoneInfo, lo_s: int, hi_s: int) -> list[tuple[int, int, int]]:
    """Stretches ``(start, end, offset)`` of constant UTC offset, in seconds."""

    def offset(at_s: int) -> int:
        try:
            local = datetime.fromtimestamp(at_s, zone)
        except (OverflowError, OSError, ValueError):  # platforms with a narrow time_t
            local = (EPOCH + timedelta(seconds=at_s)).astimezone(zone)
        delta = local.utcoffset()
        assert delta is not None
        return delta.days * 86_400 + delta.seconds

    stretches: list[tuple[int, int, int]] = []
    begin, current, t = lo_s, offset(lo_s), lo_s
    while t < hi_s:
        nxt = min(t + _SAMPLE_S, hi_s)
        seen = offset(nxt)
        if seen != current:
            lo, hi = t, nxt  # offset(lo) == current != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            stretches.append((begin, hi, current))
            begin, current = hi, offset(hi)
        t = nxt
    stretches.append((begin, hi_s, current))
    return stretches


def build(schedule: Schedule, year0: int, year1: int) -> Table:
    zone, hours, closed_days = schedule.table_source()
    first_day = day_number(date(year0, 1, 1))
    last_day = day_number(date(year1, 1, 1))  # exclusive
    closed = set(closed_days(year0, year1))
    seconds = [[(s * 60, e * 60) for s, e in day] for day in hours]
    pieces: list[tuple[int, int]] = []
    for lo, hi, off in _offsets(zone, (first_day - 2) * 86_400, (last_day + 2) * 86_400):
        wall_lo, wall_hi = lo + off, hi + off
        for day in range(
            max(wall_lo // 86_400, first_day), min((wall_hi - 1) // 86_400 + 1, last_day)
        ):
            if day in closed:
                continue
            base = day * 86_400
            for s, e in seconds[(day + 3) % 7]:  # 1970-01-01 was a Thursday
                a, b = max(base + s, wall_lo), min(base + e, wall_hi)
                if a < b:
                    pieces.append(((a - off) * US, (b - off) * US))
    return Table(year0, year1, pieces)


_TABLES: dict[Hashable, Table] = {}


def _store(schedule: Schedule, table: Table) -> Table:
    _TABLES.pop(schedule, None)
    if len(_TABLES) >= _CACHE_SIZE:
        _TABLES.pop(next(iter(_TABLES)), None)
    _TABLES[schedule] = table
    return table


def _out_of_range(value_us: int) -> BusinessTimeError:
    return BusinessTimeError(
        "datetime",
        f"an instant between the years {MIN_YEAR + 1} and {MAX_YEAR - 1}",
        f"one in the year {_year_of(value_us)}",
    )


def covering(schedule: Schedule, lo_us: int, hi_us: int) -> Table:
    """A table whose covered instants include ``lo_us`` and ``hi_us``."""
    table = _TABLES.get(schedule)
    if table is not None and table.cov_lo <= lo_us and hi_us < table.cov_hi:
        return table
    year0, year1 = _year_of(lo_us) - 1, _year_of(hi_us) + 2
    if (
        table is not None
        and year0 <= table.year1 + _JOIN_YEARS
        and table.year0 <= year1 + _JOIN_YEARS
    ):
        # Near the years already built: extend them. Far away: start afresh,
        # so one query about 2090 does not cost a table for every year between.
        year0, year1 = min(year0, table.year0), max(year1, table.year1)
    if year0 < MIN_YEAR:
        raise _out_of_range(lo_us)
    if year1 > MAX_YEAR:
        raise _out_of_range(hi_us)
    return _store(schedule, build(schedule, year0, year1))


def grow(schedule: Schedule, table: Table, *, forward: bool) -> Table:
    """A table with more years after (or before) ``table``'s; raises if the
    added years (at least two) hold no opening time at all."""
    span = max(_EMPTY_YEARS, table.year1 - table.year0)
    if forward:
        if table.year1 >= MAX_YEAR:
            raise _out_of_range(table.cov_hi)
        new = build(schedule, table.year0, min(MAX_YEAR, table.year1 + span))
        empty = not new.ends or new.ends[-1] <= table.cov_hi
        edge = table.year1
    else:
        if table.year0 <= MIN_YEAR:
            raise _out_of_range(table.cov_lo - DAY_US)
        new = build(schedule, max(MIN_YEAR, table.year0 - span), table.year1)
        empty = not new.starts or new.starts[0] >= table.cov_lo
        edge = table.year0
    if empty and abs(new.year1 - new.year0 - (table.year1 - table.year0)) >= _EMPTY_YEARS:
        where = "after" if forward else "before"
        raise BusinessTimeError(
            "calendar",
            "some opening time in every two years",
            f"none in the {_EMPTY_YEARS}+ years {where} {edge}",
            hint="every day is closed or a holiday; check the hours and holiday rules",
        )
    return _store(schedule, new)


def add_us(schedule: Schedule, start: int, duration: int) -> int:
    """The instant ``duration`` of business time after (or before) ``start``."""
    table = covering(schedule, start, start)
    if duration > 0:
        while True:
            target = table.pos(start) + duration
            j = bisect_left(table.cum_end, target)
            if j < len(table.ends):
                found = table.starts[j] + target - table.cum[j]
                if found < table.cov_hi:
                    return found
            table = grow(schedule, table, forward=True)
    if duration < 0:
        while True:
            target = table.pos(start) + duration
            j = bisect_right(table.cum, target) - 1
            if j >= 0:
                found = table.starts[j] + target - table.cum[j]
                if found > table.cov_lo:
                    return found
            table = grow(schedule, table, forward=False)
    return next_open_us(schedule, start)


def between_us(schedule: Schedule, start: int, end: int) -> int:
    table = covering(schedule, min(start, end), max(start, end))
    return table.pos(end) - table.pos(start)


def is_open_us(schedule: Schedule, at: int) -> bool:
    table = covering(schedule, at, at)
    i = bisect_right(table.starts, at) - 1
    return i >= 0 and at < table.ends[i]


def next_open_us(schedule: Schedule, at: int) -> int:
    table = covering(schedule, at, at)
    while True:
        i = bisect_right(table.starts, at) - 1
        if i >= 0 and at < table.ends[i]:
            return at
        if i + 1 < len(table.starts) and table.starts[i + 1] < table.cov_hi:
            return table.starts[i + 1]
        table = grow(schedule, table, forward=True)


def next_close_us(schedule: Schedule, at: int) -> int:
    table = covering(schedule, at, at)
    while True:
        i = bisect_right(table.starts, at) - 1
        if i < 0 or at >= table.ends[i]:
            i += 1
        if i < len(table.ends) and table.ends[i] < table.cov_hi:
            return table.ends[i]
        if (
            i < len(table.ends)
            and table.starts[i] <= at
            and table.cov_hi - at > _EMPTY_YEARS * 366 * DAY_US
        ):
            raise BusinessTimeError(
                "calendar",
                "a closing time within two years",
                "none",
                hint="the calendar is open around the clock",
            )
        table = grow(schedule, table, forward=True)
