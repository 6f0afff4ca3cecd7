"""Business calendars: weekly opening hours in an IANA zone, plus holidays."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from dateutil.rrule import rrule

from loopkit._input.checks import validator, zone
from loopkit._input.instants import check_aware
from loopkit.errors import BusinessTimeError, Problem, ValidationError, describe, join_path, suggest

from . import _table
from ._reading import (
    _KEYS,
    _REQUIRED,
    MAX_HOLIDAY_RULES,
    MAX_HOLIDAYS,
    WEEKDAYS,
    DayHours,
    Week,
    _check_date,
    _check_day,
    _check_name,
    _check_rule,
    _holiday_set,
    _instant,
    _read_hours,
    _read_list,
    _rule,
    _rule_texts,
    _week,
    check_iana_zone,
)
from ._table import from_us, td_us, to_us

__all__ = ["WEEKDAYS", "BusinessCalendar"]


@attrs.frozen(kw_only=True, cache_hash=True)
class BusinessCalendar:
    """When a business is open: weekly wall-clock hours in an IANA time zone,
    minus holidays.

    An instant is *open* when the calendar zone's wall clock shows a date that
    is not a holiday and a time inside one of that weekday's intervals (start
    inclusive, end exclusive). Everything else follows from that rule,
    including what happens when clocks change (see the how-to). Operations
    take timezone-aware datetimes only and return datetimes in the calendar's
    zone.

    ``hours`` has seven entries, Monday first, each a tuple of non-overlapping
    :class:`~loopkit.model.window.DailyWindow` that do not cross midnight
    (``"24:00"`` is allowed as an end). ``holidays`` are dates in the
    calendar's zone; ``holiday_rules`` are dateutil rrule strings (or
    ``rrule`` objects, stored as their text) whose occurrences are holidays;
    a rule without ``DTSTART`` counts from 1970-01-01.

    >>> from zoneinfo import ZoneInfo, available_timezones
    >>> cal = BusinessCalendar.weekly("Europe/Stockholm", mon="08:00-17:00", fri="08:00-16:00")
    >>> start = datetime(2026, 11, 20, 15, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    >>> cal.add(start, timedelta(hours=4)).isoformat()
    '2026-11-23T11:30:00+01:00'
    """

    timezone: str = attrs.field(validator=validator(check_iana_zone))
    hours: Week = attrs.field(converter=_week)
    holidays: frozenset[date] = attrs.field(factory=frozenset, converter=_holiday_set)
    holiday_rules: tuple[str, ...] = attrs.field(default=(), converter=_rule_texts)
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        if len(self.hours) != len(WEEKDAYS):
            problems.append(
                Problem("BusinessCalendar.hours", "seven days of hours", f"{len(self.hours)}")
            )
        else:
            for key, day in zip(WEEKDAYS, self.hours, strict=True):
                try:
                    _check_day(day, f"BusinessCalendar.hours.{key}")
                except ValidationError as err:
                    problems.extend(err.problems)
            if not problems and not any(self.hours):
                problems.append(
                    Problem(
                        "BusinessCalendar.hours",
                        "opening hours on at least one weekday",
                        "none",
                        hint="a calendar that is never open has no business time",
                    )
                )
        for holiday in sorted(self.holidays, key=repr):
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                problems.append(Problem("BusinessCalendar.holidays", "dates", describe(holiday)))
        for i, text in enumerate(self.holiday_rules):
            try:
                _check_rule(text, f"BusinessCalendar.holiday_rules[{i}]")
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise BusinessTimeError.of(problems)

    # -- constructors -------------------------------------------------------

    @classmethod
    def weekly(
        cls,
        timezone: str,
        *,
        mon: DayHours = None,
        tue: DayHours = None,
        wed: DayHours = None,
        thu: DayHours = None,
        fri: DayHours = None,
        sat: DayHours = None,
        sun: DayHours = None,
        holidays: Iterable[date | str] = (),
        holiday_rules: Iterable[str | rrule] = (),
        name: str | None = None,
    ) -> BusinessCalendar:
        """A calendar from hours written as in a policy file.

        >>> cal = BusinessCalendar.weekly(
        ...     "Europe/Stockholm",
        ...     mon=["10:00-14:00", "15:00-19:00"],
        ...     sat="10:00-16:00",
        ...     holidays=["2026-12-26"],
        ...     holiday_rules=["FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"],
        ... )
        >>> [str(w) for w in cal.hours[0]]
        ['10:00-14:00', '15:00-19:00']
        """
        days = dict(zip(WEEKDAYS, (mon, tue, wed, thu, fri, sat, sun), strict=True))
        data: dict[str, Any] = {
            "timezone": timezone,
            "hours": {k: v for k, v in days.items() if v is not None},
            "holidays": list(holidays),
            "holiday_rules": list(holiday_rules),
        }
        if name is not None:
            data["name"] = name
        return cls.from_dict(data, path="BusinessCalendar")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "calendar") -> BusinessCalendar:
        """Read a ``[calendars.NAME]`` table of a policy file.

        Keys: ``timezone`` (required), ``hours`` (required; ``mon`` ... ``sun``,
        each ``"HH:MM-HH:MM"`` or a list of them), ``holidays`` (ISO dates),
        ``holiday_rules`` (rrule strings), ``name``. Every problem is reported
        at once, each with its path.

        >>> cal = BusinessCalendar.from_dict(
        ...     {"timezone": "Europe/Stockholm", "hours": {"mon": "08:00-17:00"},
        ...      "holidays": ["2026-12-24"]})
        >>> cal.to_dict()["hours"]
        {'mon': '08:00-17:00'}
        >>> try:
        ...     BusinessCalendar.from_dict(
        ...         {"timezone": "Europe/Stockholm", "hours": {"fri": "08:00-16"}},
        ...         path="calendars.support")
        ... except BusinessTimeError as err:
        ...     print(err.path, "|", err.got)
        calendars.support.hours.fri | '08:00-16'
        """
        if not isinstance(data, Mapping):
            raise BusinessTimeError(path, "a table (mapping)", describe(data))
        problems: list[Problem] = []

        def read(key: str, check: Callable[[Any, str], Any], default: Any) -> Any:
            where = join_path(path, key)
            if data.get(key) is None:
                if default is _REQUIRED:
                    problems.append(Problem(where, "a value (this field is required)"))
                    return None
                return default
            try:
                return check(data[key], where)
            except ValidationError as err:
                problems.extend(err.problems)
                return None

        for key in data:
            if key not in _KEYS:
                text = key if isinstance(key, str) else repr(key)
                near = suggest(text, _KEYS)
                problems.append(
                    Problem(
                        join_path(path, text),
                        f"one of the known keys {sorted(_KEYS)}",
                        "an unknown key",
                        hint=f"did you mean {near!r}?" if near else None,
                    )
                )
        timezone = read("timezone", check_iana_zone, _REQUIRED)
        hours = read("hours", _read_hours, _REQUIRED)
        holidays = read("holidays", _read_list(_check_date, MAX_HOLIDAYS), ())
        rules = read("holiday_rules", _read_list(_check_rule, MAX_HOLIDAY_RULES), ())
        name = read("name", _check_name, None)
        if problems:
            raise BusinessTimeError.of(problems)
        try:
            return cls(
                timezone=timezone, hours=hours, holidays=holidays, holiday_rules=rules, name=name
            )
        except ValidationError as err:
            raise BusinessTimeError.of(err.under(path, strip="BusinessCalendar").problems) from None

    def to_dict(self) -> dict[str, Any]:
        """The ``from_dict`` form; empty days and empty lists are left out.

        >>> cal = BusinessCalendar.weekly("UTC", mon=["09:00-12:00", "13:00-18:00"])
        >>> cal.to_dict()
        {'timezone': 'UTC', 'hours': {'mon': ['09:00-12:00', '13:00-18:00']}}
        >>> BusinessCalendar.from_dict(cal.to_dict()) == cal
        True
        """
        hours: dict[str, str | list[str]] = {}
        for key, day in zip(WEEKDAYS, self.hours, strict=True):
            if len(day) == 1:
                hours[key] = str(day[0])
            elif day:
                hours[key] = [str(w) for w in day]
        out: dict[str, Any] = {"timezone": self.timezone, "hours": hours}
        if self.holidays:
            out["holidays"] = [d.isoformat() for d in sorted(self.holidays)]
        if self.holiday_rules:
            out["holiday_rules"] = list(self.holiday_rules)
        if self.name is not None:
            out["name"] = self.name
        return out

    def with_holidays(self, dates: Iterable[date]) -> BusinessCalendar:
        """The same calendar with more holidays (for example from a host's
        holiday provider); the original is unchanged.

        >>> cal = BusinessCalendar.weekly("Europe/Stockholm", mon="08:00-17:00")
        >>> sorted(cal.with_holidays([date(2026, 6, 19)]).holidays)
        [datetime.date(2026, 6, 19)]
        """
        extra = frozenset(dates)
        if extra <= self.holidays:
            return self
        return attrs.evolve(self, holidays=self.holidays | extra)

    # -- operations ---------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone as a ``ZoneInfo``."""
        return zone(self.timezone)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of business time has elapsed after ``start``.

        A start outside opening hours starts the clock at the next opening. A
        duration that runs out exactly at a closing time ends *at* the closing
        instant, not at the next opening. A negative duration counts backwards
        (a start outside hours counts from the previous closing), and one that
        runs out exactly at an opening time ends at the opening instant. A
        zero duration gives :meth:`next_open`.

        >>> from zoneinfo import ZoneInfo, available_timezones
        >>> cal = BusinessCalendar.weekly("UTC", thu="09:00-17:00", fri="09:00-17:00")
        >>> cal.add(datetime(2016, 1, 21, 15, tzinfo=ZoneInfo("UTC")), timedelta(hours=4))
        datetime.datetime(2016, 1, 22, 11, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
        >>> cal.add(datetime(2016, 1, 22, 13, tzinfo=ZoneInfo("UTC")), timedelta(hours=4))
        datetime.datetime(2016, 1, 22, 17, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
        """
        try:
            at = to_us(start)
        except TypeError:
            check_aware(start, "start")
            raise
        if not isinstance(duration, timedelta):
            raise BusinessTimeError(
                "duration",
                "a datetime.timedelta",
                describe(duration),
                hint='use parse_duration("4h") for a duration written as text',
            )
        return from_us(_table.add_us(self, at, td_us(duration)), zone(self.timezone))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from ``start`` to ``end`` (negative when
        ``end`` is before ``start``).

        >>> from zoneinfo import ZoneInfo, available_timezones
        >>> cal = BusinessCalendar.weekly("UTC", mon="09:00-17:00", tue="09:00-17:00")
        >>> mon_16 = datetime(2016, 1, 18, 16, tzinfo=ZoneInfo("UTC"))
        >>> tue_10 = datetime(2016, 1, 19, 10, tzinfo=ZoneInfo("UTC"))
        >>> cal.between(mon_16, tue_10)
        datetime.timedelta(seconds=7200)
        >>> cal.between(tue_10, mon_16)
        datetime.timedelta(days=-1, seconds=79200)
        """
        a, b = _instant(start, "start"), _instant(end, "end")
        return timedelta(microseconds=_table.between_us(self, a, b))

    def is_open(self, at: datetime) -> bool:
        """Whether the business is open at the instant ``at``.

        >>> from zoneinfo import ZoneInfo, available_timezones
        >>> cal = BusinessCalendar.weekly("Europe/Stockholm", mon="08:00-17:00")
        >>> cal.is_open(datetime(2026, 11, 23, 16, 59, tzinfo=ZoneInfo("Europe/Stockholm")))
        True
        >>> cal.is_open(datetime(2026, 11, 23, 17, 0, tzinfo=ZoneInfo("Europe/Stockholm")))
        False
        """
        return _table.is_open_us(self, _instant(at, "at"))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if open, else the next opening instant.

        >>> from zoneinfo import ZoneInfo, available_timezones
        >>> cal = BusinessCalendar.weekly("Europe/Stockholm", mon="08:00-17:00")
        >>> cal.next_open(datetime(2026, 11, 20, 18, tzinfo=ZoneInfo("UTC"))).isoformat()
        '2026-11-23T08:00:00+01:00'
        """
        return from_us(_table.next_open_us(self, _instant(at, "at")), zone(self.timezone))

    def next_close(self, at: datetime) -> datetime:
        """The end of the opening interval containing ``at`` or, when closed,
        of the next one. Intervals that touch (``22:00-24:00`` then
        ``00:00-06:00``) count as one.

        >>> from zoneinfo import ZoneInfo, available_timezones
        >>> cal = BusinessCalendar.weekly("Europe/Stockholm", mon="08:00-17:00")
        >>> cal.next_close(datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Europe/Stockholm"))).hour
        17
        """
        return from_us(_table.next_close_us(self, _instant(at, "at")), zone(self.timezone))

    # -- table source (see _table) -------------------------------------------

    def table_source(
        self,
    ) -> tuple[ZoneInfo, list[list[tuple[int, int]]], Callable[[int, int], Iterable[int]]]:
        hours = [[(w.start, w.end) for w in day] for day in self.hours]
        return zone(self.timezone), hours, self._closed_days

    def _closed_days(self, year0: int, year1: int) -> Iterable[int]:
        lo, hi = date(year0, 1, 1), date(year1, 1, 1)
        days = {_table.day_number(d) for d in self.holidays if lo <= d < hi}
        for text in self.holiday_rules:
            found = _rule(text).between(datetime(year0, 1, 1), datetime(year1, 1, 1), inc=True)
            days.update(_table.day_number(d.date()) for d in found if d.date() < hi)
        return days
