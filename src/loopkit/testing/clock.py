"""A clock tests can move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loopkit._input.instants import check_aware
from loopkit.errors import ValidationError, describe

__all__ = ["FakeClock"]

DEFAULT_START = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
"""Friday 2026-11-20, 15:30 in Stockholm: an afternoon before a weekend."""


class FakeClock:
    """A clock that stands still until told to move, and never moves backwards.

    >>> clock = FakeClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
    >>> clock.advance(hours=2)
    datetime.datetime(2026, 11, 20, 11, 0, tzinfo=datetime.timezone.utc)
    >>> clock.jump(datetime(2026, 11, 20, 10, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    loopkit.errors.ValidationError: to: expected a time not before the clock's now, ...
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = check_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, /, **parts: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**parts)``; returns the new now."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            raise ValidationError("delta", "a duration >= 0 (clocks do not go back)", str(step))
        self._now = self._now + step
        return self._now

    def jump(self, to: datetime) -> datetime:
        """Move to an instant that is not earlier than now."""
        check_aware(to, "to")
        if to < self._now:
            raise ValidationError(
                "to", "a time not before the clock's now", describe(to.isoformat())
            )
        self._now = to
        return self._now
