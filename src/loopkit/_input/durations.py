"""Durations as written in policy files: ``"90m"``, ``"4h"``, ``"1h30m"``, ``"30d"``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from loopkit.errors import BusinessTimeError, describe

__all__ = ["format_duration", "parse_duration"]

_DURATION: Final = re.compile(r"^(-)?(?:(\d{1,7})d)?(?:(\d{1,9})h)?(?:(\d{1,11})m)?$", re.ASCII)
_EXPECTED: Final = 'a duration such as "90m", "4h", "1h30m" or "30d"'
MAX_DURATION: Final = timedelta(days=73_000)
"""The longest duration :func:`parse_duration` reads (200 years of 365 days):
anything an instant can be moved by without leaving the years datetime knows."""


def parse_duration(text: object, path: str = "duration") -> timedelta:
    """Parse a duration written as days, hours and minutes, in that order.

    Units are ``d`` (24 hours), ``h`` and ``m``; each may appear once, and at
    least one must. A leading ``-`` makes the duration negative. Nothing else
    is accepted: no spaces inside, no seconds, no fractions, no other order,
    nothing longer than :data:`MAX_DURATION` (``"73000d"``).

    ``"d"`` is always 24 hours of calendar time. Used as a *business*
    duration (``BusinessCalendar.add``) it means 24 hours of business time,
    which is about three working days on an 8-hour schedule, not one; write
    ``"8h"`` for "one working day".

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("30d")
    datetime.timedelta(days=30)
    >>> parse_duration("-15m")
    datetime.timedelta(days=-1, seconds=85500)
    >>> try:
    ...     parse_duration("1.5h", "policies[0].deadline.within")
    ... except BusinessTimeError as err:
    ...     print(err.path, "|", err.got)
    policies[0].deadline.within | '1.5h'
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or match.group(2, 3, 4) == (None, None, None):
        raise BusinessTimeError(path, _EXPECTED, describe(text))
    sign, days, hours, minutes = match.groups()
    value = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))
    if value > MAX_DURATION:
        raise BusinessTimeError(
            path,
            f"a duration of at most {MAX_DURATION.days}d (200 years)",
            describe(text),
        )
    return -value if sign else value


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: the shortest text for ``value``.

    Whole days are written in days (``"30d"``); anything else in hours and
    minutes (``"36h"``, ``"1h30m"``), so a business deadline never looks like
    a count of working days. Durations that are not whole minutes cannot be
    written in a policy file and raise :class:`~loopkit.errors.BusinessTimeError`.

    >>> format_duration(timedelta(minutes=90))
    '1h30m'
    >>> format_duration(timedelta(days=30)), format_duration(timedelta(hours=36))
    ('30d', '36h')
    >>> format_duration(-timedelta(hours=4)), format_duration(timedelta(0))
    ('-4h', '0m')
    """
    if not isinstance(value, timedelta):
        raise BusinessTimeError("duration", "a datetime.timedelta", describe(value))
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    if value.microseconds or value.seconds % 60:
        raise BusinessTimeError(
            "duration", "a whole number of minutes", f"{value.total_seconds()} seconds"
        )
    if value.seconds == 0 and value.days:
        return f"{sign}{value.days}d"
    hours, minutes = divmod(value.days * 1440 + value.seconds // 60, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")
    return sign + text
