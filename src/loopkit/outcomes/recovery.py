"""Did following up win the customer back? The outcome of a case, from the answer
the customer gave after it closed (seed 001: detractors turned into passives or
promoters).

A pure function: the engine links a later answer to the customer's last closed case
and records what :func:`recovery_outcome` says; the recovery rate counts them.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from loopkit.errors import ValidationError, describe
from loopkit.model import Category, Response

__all__ = ["RecoveryOutcome", "recovery_outcome"]


class RecoveryOutcome(enum.StrEnum):
    """What became of a customer who was unhappy."""

    RECOVERED = "recovered"
    """They answered again as a passive or a promoter."""
    NOT_RECOVERED = "not_recovered"
    """They answered again, still unhappy."""
    NO_ANSWER = "no_answer"
    """No answer came within the window after the case closed."""


def recovery_outcome(
    before: Category,
    closed_at: datetime,
    *,
    window: timedelta,
    later: Response | None = None,
    now: datetime,
) -> RecoveryOutcome | None:
    """The outcome of a case opened for an answer in category ``before`` and closed
    at ``closed_at``, given the customer's ``later`` answer (their first after the
    close, if any) and the ``window`` it may come in; ``None`` while the window is
    still open with no answer. Only a case opened for a detractor can be recovered:
    for any other it is ``None``.

    >>> from datetime import timezone
    >>> from loopkit.testing import make_response
    >>> t = datetime(2026, 11, 23, tzinfo=timezone.utc)
    >>> nine = make_response(9, answered_at=t + timedelta(days=14))
    >>> recovery_outcome(Category.DETRACTOR, t, window=timedelta(days=30), later=nine,
    ...                  now=t + timedelta(days=15))
    <RecoveryOutcome.RECOVERED: 'recovered'>
    """
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ValidationError("window", 'a positive duration such as "30d"', describe(window))
    if before is not Category.DETRACTOR:
        return None
    if later is not None and closed_at <= later.answered_at <= closed_at + window:
        if later.category is Category.DETRACTOR:
            return RecoveryOutcome.NOT_RECOVERED
        return RecoveryOutcome.RECOVERED
    if now > closed_at + window:
        return RecoveryOutcome.NO_ANSWER
    return None
