"""Reading a calendar's table: opening hours, holiday dates and holiday rules,
and the time zone, each checked with the bounds the policy-file reference states."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any, Final
from zoneinfo import available_timezones

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rruleset, rrulestr, weekday

from loopkit._input.instants import check_aware
from loopkit._input.names import check_name
from loopkit.errors import BusinessTimeError, Problem, ValidationError, describe, join_path, suggest
from loopkit.model.window import DailyWindow

from ._table import to_us

_RULE_ANCHOR: Final = datetime(1970, 1, 1)


WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The weekday keys of ``hours``, Monday first (``date.weekday()`` order)."""


_KEYS: Final = ("timezone", "hours", "holidays", "holiday_rules", "name")


DayHours = str | Sequence[str] | None


Week = tuple[tuple[DailyWindow, ...], ...]


@lru_cache(maxsize=512)
def _rule(text: str) -> rrule | rruleset:
    """An rrule string parsed with DTSTART 1970-01-01 unless it gives one:
    never "now", which would make holidays depend on the wall clock."""
    return rrulestr(text, dtstart=_RULE_ANCHOR)


MAX_RULE_LENGTH: Final = 500
"""Longest holiday rule text accepted."""


MAX_HOLIDAY_RULES: Final = 50
"""Most holiday rules in one calendar."""


MAX_HOLIDAYS: Final = 10_000
"""Most holiday dates in one calendar."""


MAX_RULE_INTERVAL: Final = 100
"""Largest ``INTERVAL`` of a holiday rule."""


_FREQS: Final = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}


_FINER: Final = re.compile(r"(?i)\bFREQ\s*=\s*(HOURLY|MINUTELY|SECONDLY)\b")


_TIME_PARTS: Final = re.compile(r"(?i)\bBY(HOUR|MINUTE|SECOND|SETPOS)\s*=")


_RULE_EXAMPLE: Final = '"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"'


def _check_rule(value: object, path: str) -> str:
    """A holiday rule: one RRULE (an optional ``DTSTART:`` line before it) whose
    occurrences are whole days, that occurs at least once, and whose
    expansion is bounded (see the policy-file reference, *Holiday rules*)."""
    if isinstance(value, rrule):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BusinessTimeError(path, f"an rrule string such as {_RULE_EXAMPLE}", describe(value))
    if len(value) > MAX_RULE_LENGTH:
        raise BusinessTimeError(
            path, f"an rrule of at most {MAX_RULE_LENGTH} characters", f"{len(value)} characters"
        )
    finer = _FINER.search(value)
    if finer:
        raise BusinessTimeError(
            path,
            "a holiday rule that repeats by day or coarser (FREQ=YEARLY, MONTHLY, WEEKLY or DAILY)",
            describe(value),
            hint=f"FREQ={finer.group(1).upper()} does not name days",
        )
    part = _TIME_PARTS.search(value)
    if part:
        raise BusinessTimeError(
            path,
            "a holiday rule naming days only (no BYHOUR, BYMINUTE, BYSECOND or BYSETPOS)",
            describe(value),
            hint=f"BY{part.group(1).upper()} is not allowed in a holiday rule",
        )
    try:
        rule = _rule(value)
        if not isinstance(rule, rrule) or _start(rule).tzinfo is not None:
            raise TypeError("a rule set, or a DTSTART with a zone")
    except Exception:  # dateutil raises ValueError, TypeError, KeyError, ...
        raise BusinessTimeError(
            path,
            f"one rrule without a time zone, such as {_RULE_EXAMPLE}",
            describe(value),
        ) from None
    problem = _unbounded(rule)
    if problem:
        raise BusinessTimeError(path, problem, describe(value))
    return value


def _unbounded(rule: rrule) -> str | None:
    """Why expanding ``rule`` could run unboundedly, or ``None``.

    dateutil looks for the next occurrence until the year 9999: a rule that
    never occurs (``BYMONTH=2;BYMONTHDAY=30``) would take seconds on every
    table build. Whether the rule's day filters can ever hold is tested on
    the last century of the calendar (every weekday, month length and leap
    day combination occurs in it), with yearly steps.
    """
    r: Any = rule
    if r._freq not in _FREQS.values():  # pragma: no cover - refused by the text check
        return "a holiday rule that repeats by day or coarser"
    if not 1900 <= r._dtstart.year <= 9000:
        return "a holiday rule starting (DTSTART) between 1900 and 9000"
    if r._interval > MAX_RULE_INTERVAL:
        return f"a holiday rule with INTERVAL at most {MAX_RULE_INTERVAL}"
    filters = (r._byweekno, r._byyearday, r._byeaster, r._bynweekday, r._bymonthday)
    if r._freq == DAILY and r._interval > 1 and (any(filters) or r._byweekday or r._bymonth):
        return "a DAILY holiday rule with INTERVAL=1 when it filters days (BY...)"
    weekdays = [weekday(d) for d in r._byweekday or ()]
    weekdays += [weekday(d, n) for d, n in r._bynweekday or ()]
    months = r._bymonth or (tuple(range(1, 13)) if r._freq == MONTHLY else None)
    probe = rrule(
        YEARLY,
        dtstart=datetime(9899, 1, 1),
        bymonth=months,
        bymonthday=(*(r._bymonthday or ()), *(r._bynmonthday or ())) or None,
        byyearday=r._byyearday or None,
        byweekno=r._byweekno or None,
        byweekday=weekdays or None,
        byeaster=r._byeaster or None,
        cache=False,
    )
    if next(iter(probe), None) is None:
        return "a holiday rule that occurs on some day (its BY... parts never meet)"
    return None


_NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(
        z
        for z in available_timezones()
        if z not in _NOT_ZONES and not z.startswith(("posix/", "right/"))
    )


def check_iana_zone(value: object, path: str) -> str:
    """A real IANA zone key (``Europe/Stockholm``, ``UTC``): not ``localtime``
    (the machine's own zone, which changes with the machine), not a POSIX
    string such as ``UTC+2``, not a ``posix/`` or ``right/`` alias.

    >>> check_iana_zone("Europe/Stockholm", "timezone")
    'Europe/Stockholm'
    """
    name = value
    if not isinstance(name, str) or name not in _iana_zones():
        near = suggest(name, _iana_zones()) if isinstance(name, str) and len(name) < 100 else None
        raise BusinessTimeError(
            path,
            "an IANA time zone name such as 'Europe/Stockholm'",
            describe(value),
            hint=f"did you mean {near!r}?" if near else None,
        )
    return name


def _check_date(value: object, path: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BusinessTimeError(path, 'an ISO date such as "2026-12-24"', describe(value))


def _check_day(value: object, path: str) -> tuple[DailyWindow, ...]:
    """One weekday's hours: ``"08:00-17:00"``, a list of them, or none."""
    items: Sequence[object]
    if value is None:
        items = ()
    elif isinstance(value, str | DailyWindow):
        items = (value,)
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise BusinessTimeError(
            path, 'opening hours such as "08:00-17:00" or a list of them', describe(value)
        )
    problems: list[Problem] = []
    windows: list[DailyWindow] = []
    for i, item in enumerate(items):
        where = path if isinstance(value, str | DailyWindow) else f"{path}[{i}]"
        try:
            window = item if isinstance(item, DailyWindow) else DailyWindow.parse(item, where)
        except ValidationError as err:
            problems.extend(err.problems)
            continue
        if window.crosses_midnight:
            problems.append(
                Problem(
                    where,
                    "opening hours that end after they start, on the same day",
                    describe(str(window)),
                    hint='split a night across days: mon = "22:00-24:00", tue = "00:00-06:00"',
                )
            )
            continue
        windows.append(window)
    windows.sort(key=lambda w: w.start)
    for before, after in pairwise(windows):
        if after.start < before.end:
            problems.append(
                Problem(path, "opening hours that do not overlap", f"{before} and {after}")
            )
    if problems:
        raise BusinessTimeError.of(problems)
    return tuple(windows)


def _week(value: Mapping[str, DayHours] | Sequence[Iterable[DailyWindow]]) -> Week:
    if isinstance(value, Mapping):
        return _read_hours(value, "BusinessCalendar.hours")
    return tuple(tuple(sorted(day, key=lambda w: getattr(w, "start", 0))) for day in value)


def _holiday_set(value: Iterable[date]) -> frozenset[date]:
    return frozenset(value)


def _rule_texts(value: Iterable[str | rrule]) -> tuple[str, ...]:
    return tuple(str(v) if isinstance(v, rrule) else v for v in value)


_REQUIRED: Final = object()


def _instant(value: datetime, path: str) -> int:
    try:
        return to_us(value)
    except TypeError:
        check_aware(value, path)
        raise


def _read_hours(value: object, path: str) -> Week:
    if not isinstance(value, Mapping):
        raise BusinessTimeError(
            path, 'a table of weekdays such as { mon = "08:00-17:00" }', describe(value)
        )
    problems: list[Problem] = []
    week: list[tuple[DailyWindow, ...]] = [() for _ in WEEKDAYS]
    for key, day in value.items():
        where = join_path(path, str(key))
        if key not in WEEKDAYS:
            near = suggest(str(key), WEEKDAYS)
            problems.append(
                Problem(
                    where,
                    "a weekday: mon, tue, wed, thu, fri, sat or sun",
                    "an unknown key",
                    hint=f"did you mean {near!r}?" if near else None,
                )
            )
            continue
        try:
            week[WEEKDAYS.index(key)] = _check_day(day, where)
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise BusinessTimeError.of(problems)
    return tuple(week)


def _read_list(
    check: Callable[[object, str], Any], most: int
) -> Callable[[object, str], tuple[Any, ...]]:
    def read(value: object, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple | set | frozenset):
            raise BusinessTimeError(path, "a list", describe(value))
        if len(value) > most:
            raise BusinessTimeError(path, f"a list of at most {most}", f"{len(value)} entries")
        problems: list[Problem] = []
        out = []
        for i, item in enumerate(value):
            try:
                out.append(check(item, f"{path}[{i}]"))
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise BusinessTimeError.of(problems)
        return tuple(out)

    return read


def _check_name(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BusinessTimeError(path, "a non-empty name", describe(value))
    return check_name(value, path)


def _start(rule: rrule) -> datetime:
    start: datetime = getattr(rule, "_dtstart")  # noqa: B009 - dateutil keeps it private
    return start
