"""Retrying outgoing messages: exponential backoff with full jitter, then dead letters."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import attrs

from loopkit.errors import ValidationError, describe
from loopkit.model import Message, MessageStatus

__all__ = ["RetryPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(
            f"RetryPolicy.{attribute.name}", "a positive timedelta", describe(value)
        )


def _attempts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError("RetryPolicy.max_attempts", "an integer >= 1", describe(value))


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how long to retry a message a channel failed to send.

    After the n-th failed attempt the next one is due after a random delay
    between zero and ``min(cap, base * 2 ** (n - 1))`` ("full jitter"); after
    ``max_attempts`` failures the message is dead-lettered (kept, status
    ``dead``, for a person to look at). The engine never sleeps: a retry is a
    due time that a later :meth:`~loopkit.Loop.tick` picks up.

    >>> policy = RetryPolicy(max_attempts=3, base=timedelta(minutes=1))
    >>> policy.ceiling(3)
    datetime.timedelta(seconds=240)
    """

    max_attempts: int = attrs.field(default=5, validator=_attempts)
    base: timedelta = attrs.field(default=timedelta(minutes=1), validator=_positive)
    cap: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)

    def ceiling(self, failures: int) -> timedelta:
        """The longest delay after ``failures`` failed attempts."""
        ceiling: timedelta = min(self.cap, self.base * 2 ** (failures - 1))
        return ceiling

    def after_failure(
        self, message: Message, error: BaseException, now: datetime, rng: random.Random
    ) -> Message:
        """The message after one more failed attempt: pending again, or dead."""
        attempts = message.attempts + 1
        if attempts >= self.max_attempts:
            return attrs.evolve(
                message,
                status=MessageStatus.DEAD,
                attempts=attempts,
                next_attempt_at=None,
                last_error=type(error).__name__,
            )
        delay = self.ceiling(attempts) * rng.random()
        try:
            next_attempt_at = now + delay
        except OverflowError:  # at the end of time: due again at once, never an overflow
            next_attempt_at = now
        return attrs.evolve(
            message,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=type(error).__name__,
        )
