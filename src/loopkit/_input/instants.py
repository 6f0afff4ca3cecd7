"""Instants: timezone-aware datetimes, read, written, checked and compared.

Naive datetimes are refused, never guessed (a :class:`~loopkit.errors.BusinessTimeError`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from zoneinfo import ZoneInfo

from loopkit.errors import BusinessTimeError, ValidationError, describe_input

_OFFSET_ALWAYS: Final = (timezone, ZoneInfo)


def check_aware(value: object, path: str) -> datetime:
    """A timezone-aware datetime; naive ones are refused, never guessed."""
    if not isinstance(value, datetime):
        raise ValidationError(path, "a timezone-aware datetime", describe_input(value))
    zone = value.tzinfo
    # A timezone or a ZoneInfo always gives an offset: ask only other zones.
    if zone is None or (type(zone) not in _OFFSET_ALWAYS and value.utcoffset() is None):
        raise BusinessTimeError(
            path,
            "a timezone-aware datetime",
            "a naive datetime",
            hint="attach a zone, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Stockholm'))",
        )
    return value


def parse_instant(value: object, path: str) -> datetime:
    """An ISO 8601 string with a UTC offset (``2026-11-20T15:30:00+01:00``)."""
    if isinstance(value, datetime):
        return check_aware(value, path)
    if not isinstance(value, str):
        raise ValidationError(path, "an ISO 8601 timestamp with offset", describe_input(value))
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            path, "an ISO 8601 timestamp with offset", describe_input(value)
        ) from None
    if parsed.tzinfo is None:
        raise BusinessTimeError(  # it parsed as a timestamp: safe to show
            path, "an ISO 8601 timestamp with an offset such as +01:00 or Z", repr(value)
        )
    return parsed


_NAIVE_EPOCH: Final = datetime(1970, 1, 1)


_UTC_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def instant_key(value: datetime | None) -> timedelta | None:
    """The instant an aware datetime names, for comparing and ordering.

    Python compares two datetimes sharing one ``tzinfo`` by wall clock (a
    fall-back hour's second 02:10 sorts before its first 02:50), and never
    finds a zone-aware datetime in a DST fold or gap equal to the same instant
    with a fixed offset (what ``from_dict`` reads back). Comparing this key
    instead gives the real order and makes the ``to_dict`` round trip exact.
    Works for every aware datetime, ``datetime.min`` included.
    """
    if value is None:
        return None
    try:
        return value - _UTC_EPOCH  # aware minus aware: by instant, fold included
    except (TypeError, OverflowError):  # naive, or an offset at the edge of time
        offset = value.utcoffset()
        return value.replace(tzinfo=None) - _NAIVE_EPOCH - (offset or timedelta(0))


def format_instant(value: datetime) -> str:
    """The ISO 8601 form used by ``to_dict``: keeps the offset, microseconds if any."""
    return value.isoformat()
