"""When a customer may be contacted: outside quiet hours, inside a preferred
window, on the wall clock of the customer's own time zone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from loopkit._input.checks import check_timezone, validator, zone
from loopkit._input.instants import check_aware
from loopkit.errors import BusinessTimeError, ValidationError, describe
from loopkit.model.window import DailyWindow

from . import _table
from ._table import from_us, to_us

__all__ = ["ContactWindow"]

_DAY: Final = 1440


def _to_quiet(value: DailyWindow | str | None) -> DailyWindow | None:
    if value is None or isinstance(value, DailyWindow):
        return value
    return DailyWindow.parse(value, "ContactWindow.quiet_hours")


def _to_preferred(value: DailyWindow | str | None) -> DailyWindow | None:
    if value is None or isinstance(value, DailyWindow):
        return value
    return DailyWindow.parse(value, "ContactWindow.preferred_window")


def _check_window(value: object, path: str) -> None:
    if value is not None and not isinstance(value, DailyWindow):
        raise ValidationError(path, 'a daily window such as "20:00-08:00" or None', describe(value))


def _pieces(window: DailyWindow) -> list[tuple[int, int]]:
    if window.crosses_midnight:
        return [(window.start, _DAY), (0, window.end)]
    return [(window.start, window.end)]


def allowed_minutes(
    quiet: DailyWindow | None, preferred: DailyWindow | None
) -> tuple[tuple[int, int], ...]:
    """The allowed part of a day as sorted ``(start, end)`` minute pairs."""
    allowed = _pieces(preferred) if preferred is not None else [(0, _DAY)]
    if quiet is not None:
        for q_start, q_end in _pieces(quiet):
            cut: list[tuple[int, int]] = []
            for start, end in allowed:
                if start < q_start:
                    cut.append((start, min(end, q_start)))
                if end > q_end:
                    cut.append((max(start, q_end), end))
            allowed = [(s, e) for s, e in cut if s < e]
    return tuple(sorted(allowed))


@attrs.frozen(cache_hash=True)
class _EveryDay:
    """The schedule behind a contact window: the same hours every day."""

    timezone: str
    minutes: tuple[tuple[int, int], ...]

    def table_source(
        self,
    ) -> tuple[ZoneInfo, list[list[tuple[int, int]]], Callable[[int, int], Iterable[int]]]:
        return zone(self.timezone), [list(self.minutes)] * 7, _never_closed


def _never_closed(year0: int, year1: int) -> Iterable[int]:
    return ()


@attrs.frozen(kw_only=True)
class ContactWindow:
    """When a customer may be called or messaged, on the wall clock of their
    own time zone: never inside ``quiet_hours``, and only inside
    ``preferred_window`` when they gave one. Both are daily windows that may
    cross midnight (``"20:00-08:00"``); strings are parsed.

    Clock changes follow the wall clock: an instant is allowed when the
    customer's clock shows an allowed time. A window that leaves no time at
    all is refused when it is built.

    >>> from zoneinfo import ZoneInfo
    >>> window = ContactWindow(timezone="Europe/Stockholm", quiet_hours="20:00-08:00")
    >>> late = datetime(2026, 11, 20, 21, 15, tzinfo=ZoneInfo("Europe/Stockholm"))
    >>> window.allows(late)
    False
    >>> window.next_allowed(late).isoformat()
    '2026-11-21T08:00:00+01:00'
    """

    timezone: str = attrs.field(validator=validator(check_timezone))
    quiet_hours: DailyWindow | None = attrs.field(
        default=None,
        converter=_to_quiet,
        validator=validator(_check_window),
    )
    preferred_window: DailyWindow | None = attrs.field(
        default=None,
        converter=_to_preferred,
        validator=validator(_check_window),
    )
    _schedule: _EveryDay = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        minutes = allowed_minutes(self.quiet_hours, self.preferred_window)
        if not minutes:
            never = self.quiet_hours is not None and self.quiet_hours.covers_whole_day
            raise BusinessTimeError(
                "ContactWindow",
                "quiet hours and a preferred window that leave some time to make contact",
                f"quiet hours {self.quiet_hours}, preferred window {self.preferred_window}",
                hint=(
                    "quiet hours 00:00-24:00 mean 'never contact': PolicySet.decide "
                    "suppresses the follow-up instead of asking for a window"
                )
                if never
                else None,
            )
        object.__setattr__(self, "_schedule", _EveryDay(self.timezone, minutes))

    def allows(self, at: datetime) -> bool:
        """Whether contact is allowed at the instant ``at``.

        >>> from zoneinfo import ZoneInfo
        >>> window = ContactWindow(
        ...     timezone="America/New_York",
        ...     quiet_hours="21:00-09:00",
        ...     preferred_window="17:00-20:00",
        ... )
        >>> window.allows(datetime(2026, 3, 9, 22, 30, tzinfo=ZoneInfo("UTC")))  # 18:30 there
        True
        """
        local = check_aware(at, "at").astimezone(zone(self.timezone))
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self._schedule.minutes)

    def next_allowed(self, at: datetime) -> datetime:
        """``at`` itself when allowed, else the first allowed instant after it,
        in the customer's zone.

        >>> from zoneinfo import ZoneInfo
        >>> window = ContactWindow(timezone="Europe/Stockholm", quiet_hours="20:00-08:00")
        >>> window.next_allowed(datetime(2026, 11, 20, 22, 0, tzinfo=ZoneInfo("UTC"))).isoformat()
        '2026-11-21T08:00:00+01:00'
        """
        try:
            value = to_us(at)
        except TypeError:
            check_aware(at, "at")
            raise
        return from_us(_table.next_open_us(self._schedule, value), zone(self.timezone))

    def next_allowed_us(self, at: int) -> int:
        """:meth:`next_allowed` in UTC microseconds since 1970 (for loopkit's
        own hot paths, which convert once)."""
        return _table.next_open_us(self._schedule, at)

    @property
    def zone(self) -> ZoneInfo:
        """The customer's time zone as a ``ZoneInfo``."""
        return zone(self.timezone)
