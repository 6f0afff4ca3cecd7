"""Properties of business time, in every zone, checked against a slow reference.

The reference below is deliberately naive: it walks time minute by minute in
UTC and asks the wall clock of the calendar's zone whether each minute is
open. It shares no code with loopkit's precomputed tables.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from loopkit.businesstime import WEEKDAYS, BusinessCalendar
from loopkit.errors import BusinessTimeError

# Every real IANA zone key: not "localtime" (the machine's own zone), not the
# "posixrules"/"Factory" files or the posix/ and right/ copies, which calendars refuse.
ZONES = sorted(
    z
    for z in zoneinfo.available_timezones()
    if z not in {"localtime", "posixrules", "Factory"} and not z.startswith(("posix/", "right/"))
)
DST_ZONES = [
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Europe/Stockholm",
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "America/Asuncion",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Pacific/Chatham",
    "America/St_Johns",
    "Australia/Adelaide",
    "Europe/Chisinau",
    "Asia/Gaza",
    "America/Godthab",
]
MINUTE = timedelta(minutes=1)
US = timedelta(microseconds=1)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the reference ------------------------------------------------------------------


def ref_is_open(cal: BusinessCalendar, instant: datetime) -> bool:
    wall = instant.astimezone(zoneinfo.ZoneInfo(cal.timezone))
    if wall.date() in cal.holidays or (wall.month, wall.day) in ref_rule_days(cal.holiday_rules):
        return False
    minute = wall.hour * 60 + wall.minute
    return any(w.start <= minute < w.end for w in cal.hours[wall.weekday()])


@cache
def ref_rule_days(rules: tuple[str, ...]) -> frozenset[tuple[int, int]]:
    """(month, day) of the only rules this module draws: FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d."""
    days = set()
    for rule in rules:
        parts = dict(p.split("=") for p in rule.split(";"))
        days.add((int(parts["BYMONTH"]), int(parts["BYMONTHDAY"])))
    return frozenset(days)


def before(a: datetime) -> datetime:
    """One microsecond earlier, in elapsed time (same-zone arithmetic is wall time)."""
    return a.astimezone(UTC) - US


def same(a: datetime, b: datetime) -> bool:
    """Equal instants. (``==`` between zones is False for a time in a repeated
    hour, by PEP 495, so compare in UTC.)"""
    return a.astimezone(UTC) == b.astimezone(UTC)


def ref_add(cal: BusinessCalendar, start: datetime, duration: timedelta) -> datetime | None:
    """Step minute by minute; None if it takes more than 60,000 steps."""
    at, left, step = start.astimezone(UTC), abs(duration), MINUTE
    if duration == timedelta(0):
        for _ in range(60_000):
            if ref_is_open(cal, at):
                return at
            at += step
        return None
    for _ in range(60_000):
        if left == timedelta(0):
            return at
        if duration > timedelta(0):
            if ref_is_open(cal, at):
                left -= step
            at += step
        else:
            if ref_is_open(cal, at - step):
                left -= step
            at -= step
    return None


def ref_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    lo, hi = sorted((start.astimezone(UTC), end.astimezone(UTC)))
    total, at = timedelta(0), lo
    while at < hi:
        if ref_is_open(cal, at):
            total += MINUTE
        at += MINUTE
    return total if end >= start else -total


# -- strategies ---------------------------------------------------------------------


@st.composite
def day_hours(draw: st.DrawFn, grid: int) -> list[str]:
    marks = sorted(draw(st.sets(st.integers(0, 1440 // grid), max_size=4)))
    pairs = list(zip(marks[::2], marks[1::2], strict=False))
    return [
        f"{a * grid // 60:02d}:{a * grid % 60:02d}-{b * grid // 60:02d}:{b * grid % 60:02d}"
        for a, b in pairs
    ]


@st.composite
def calendars(
    draw: st.DrawFn, zones: list[str] = ZONES, min_weekly_minutes: int = 30
) -> BusinessCalendar:
    zone = draw(st.sampled_from(zones))
    grid = draw(st.sampled_from([15, 30, 60]))
    hours = {day: draw(day_hours(grid)) for day in WEEKDAYS}
    cal_hours = {day: spans for day, spans in hours.items() if spans}
    open_minutes = sum(
        int(s[6:8]) * 60 + int(s[9:11]) - int(s[0:2]) * 60 - int(s[3:5])
        for spans in cal_hours.values()
        for s in spans
    )
    assume(open_minutes >= min_weekly_minutes)
    holidays = draw(st.sets(st.dates(date(1994, 12, 1), date(2037, 1, 31)), max_size=40))
    rules = draw(
        st.lists(
            st.tuples(st.integers(1, 12), st.integers(1, 28)).map(
                lambda md: f"FREQ=YEARLY;BYMONTH={md[0]};BYMONTHDAY={md[1]}"
            ),
            max_size=2,
        )
    )
    return BusinessCalendar.weekly(zone, **cal_hours, holidays=holidays, holiday_rules=rules)


instants = st.datetimes(
    min_value=datetime(1995, 1, 1),
    max_value=datetime(2035, 12, 31),
    timezones=st.sampled_from([zoneinfo.ZoneInfo(z) for z in ZONES]),
)
minute_instants = instants.map(lambda d: d.astimezone(UTC).replace(second=0, microsecond=0))
durations = st.integers(-2000 * 3600, 2000 * 3600).map(lambda s: timedelta(seconds=s)) | st.just(
    timedelta(0)
)


@cache
def transitions(zone: str, year: int) -> list[date]:
    """Local dates in ``year`` whose UTC offset at noon differs from the day before."""
    tz = zoneinfo.ZoneInfo(zone)
    found, day = [], date(year, 1, 1)
    previous = datetime(year - 1, 12, 31, 12, tzinfo=tz).utcoffset()
    while day.year == year:
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
        if offset != previous:
            found.append(day)
        previous, day = offset, day + timedelta(days=1)
    return found


# -- properties ---------------------------------------------------------------------


@FAST
@given(calendars(), instants, durations)
def test_between_measures_what_add_added(
    cal: BusinessCalendar, start: datetime, d: timedelta
) -> None:
    end = cal.add(start, d)
    assert cal.between(start, end) == d
    assert end.tzinfo == zoneinfo.ZoneInfo(cal.timezone)


@FAST
@given(calendars(), instants, durations)
@example(  # backwards from an opening instant (found by Hypothesis)
    BusinessCalendar.weekly("Etc/GMT+4", sun="08:00-08:30"),
    datetime(2016, 3, 13, 4, 0, tzinfo=zoneinfo.ZoneInfo("America/Juneau")),
    timedelta(seconds=-1),
)
def test_add_lands_inside_an_opening_or_at_its_end(
    cal: BusinessCalendar, start: datetime, d: timedelta
) -> None:
    end = cal.add(start, d)
    assert cal.is_open(end) or cal.is_open(before(end))
    if d < timedelta(0):
        assert cal.is_open(end)  # backwards ends at an opening, never at a close
    if cal.is_open(start):
        back = cal.add(end, -d)
        # The round trip is exact, except from an opening instant backwards:
        # forward again, it ends at the closing before that opening (a duration
        # that runs out at a closing ends there), with no business time between.
        assert same(back, start) or (d < timedelta(0) and cal.between(back, start) == timedelta(0))


@FAST
@given(calendars(), instants, instants, durations)
def test_add_is_monotonic_in_start(
    cal: BusinessCalendar, a: datetime, b: datetime, d: timedelta
) -> None:
    a, b = sorted((a, b))
    assert cal.add(a, d) <= cal.add(b, d)


@FAST
@given(calendars(), instants, durations, durations)
def test_add_is_monotonic_in_duration(
    cal: BusinessCalendar, start: datetime, d1: timedelta, d2: timedelta
) -> None:
    d1, d2 = sorted((d1, d2))
    assert cal.add(start, d1) <= cal.add(start, d2)


@FAST
@given(calendars(), instants)
def test_next_open_and_next_close(cal: BusinessCalendar, at: datetime) -> None:
    opened = cal.next_open(at)
    assert cal.is_open(opened)
    assert opened >= at
    assert cal.between(at, opened) == timedelta(0)
    assert same(opened, at) is cal.is_open(at)
    if opened > at:
        assert not cal.is_open(before(opened))
    try:
        closed = cal.next_close(at)
    except BusinessTimeError:  # open around the clock for two years
        later = opened.astimezone(UTC) + timedelta(days=730)
        assert cal.between(opened, later) == timedelta(days=730)
        return
    assert closed > opened
    assert not cal.is_open(closed)
    assert cal.is_open(before(closed))
    assert cal.between(opened, closed) == closed.astimezone(UTC) - opened.astimezone(UTC)


@FAST
@given(calendars(), instants, instants)
def test_between_is_antisymmetric_and_additive(
    cal: BusinessCalendar, a: datetime, b: datetime
) -> None:
    assert cal.between(a, b) == -cal.between(b, a)
    assert cal.between(a, a) == timedelta(0)
    middle = a.astimezone(UTC) + (b - a) / 2
    assert cal.between(a, b) == cal.between(a, middle) + cal.between(middle, b)


# -- agreement with the reference ------------------------------------------------------


def check_against_reference(cal: BusinessCalendar, start: datetime, minutes: int) -> None:
    d = timedelta(minutes=minutes)
    expected = ref_add(cal, start, d)
    assume(expected is not None)
    assert expected is not None
    got = cal.add(start, d)
    assert same(got, expected), (cal, start, d)
    assert cal.is_open(start) is ref_is_open(cal, start)
    assert cal.is_open(got) is ref_is_open(cal, got)
    if abs(got - start) <= timedelta(days=2):
        assert cal.between(start, got) == ref_between(cal, start, got)


@SLOW
@given(calendars(min_weekly_minutes=600), minute_instants, st.integers(-480, 480))
def test_agrees_with_the_reference_in_any_zone(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    check_against_reference(cal, start, minutes)


@SLOW
@given(
    calendars(zones=DST_ZONES, min_weekly_minutes=600),
    st.integers(1996, 2035),
    st.integers(0, 1),
    st.integers(-3 * 24 * 60, 24 * 60),
    st.integers(-480, 480),
)
def test_agrees_with_the_reference_around_clock_changes(
    cal: BusinessCalendar, year: int, which: int, offset_minutes: int, minutes: int
) -> None:
    changes = transitions(cal.timezone, year)
    assume(changes)
    day = changes[which % len(changes)]
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=zoneinfo.ZoneInfo(cal.timezone))
    start = (noon.astimezone(UTC) + timedelta(minutes=offset_minutes)).replace(second=0)
    check_against_reference(cal, start, minutes)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(ZONES), instants, st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO"]))
def test_no_operation_runs_unboundedly(zone: str, at: datetime, rule: str) -> None:
    cal = BusinessCalendar.weekly(zone, mon="09:00-17:00", holiday_rules=[rule])
    with pytest.raises(BusinessTimeError, match="opening time"):
        cal.add(at, timedelta(hours=1))
    with pytest.raises(BusinessTimeError, match="opening time"):
        cal.add(at, -timedelta(hours=1))
    with pytest.raises(BusinessTimeError, match="opening time"):
        cal.next_open(at)
    with pytest.raises(BusinessTimeError, match="opening time"):
        cal.next_close(at)
