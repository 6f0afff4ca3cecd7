"""Did following up work? The recovery rate: among the detractors whose case was
closed and who answered the survey again, the share who answered as a passive or
a promoter, with Wilson's interval.

Counted from the outcomes :func:`loopkit.outcomes.recovery_outcome` gives (one
per case opened for a detractor; ``None`` while its window is still open).
Results for parts add up to the result for the whole (``a + b``). See
``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from loopkit.errors import ValidationError, describe
from loopkit.outcomes import RecoveryOutcome

from .cases import _share
from .satisfaction import Estimate

__all__ = ["RecoveryRate", "recovery_rate"]


@attrs.frozen
class RecoveryRate:
    """How the detractors whose case closed answered again.

    ``recovered`` answered as a passive or promoter, ``not_recovered`` still as
    a detractor, ``no_answer`` did not answer within the window, and
    ``pending`` are still inside it.

    >>> r = RecoveryRate(recovered=6, not_recovered=2, no_answer=4)
    >>> r.resurveyed, r.rate().value, str(r.rate().interval)
    (8, 75.0, '[40.93, 92.85] (95%, wilson)')
    """

    recovered: int = 0
    not_recovered: int = 0
    no_answer: int = 0
    pending: int = 0

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(RecoveryRate):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    f"RecoveryRate.{field.name}", "a count of 0 or more", describe(value)
                )

    @property
    def resurveyed(self) -> int:
        """The detractors who answered again (recovered or not)."""
        return self.recovered + self.not_recovered

    def rate(self, confidence: float = 0.95) -> Estimate | None:
        """Recovered among the re-surveyed, in percent, with Wilson's interval;
        ``None`` when nobody answered again."""
        return _share(self.recovered, self.resurveyed, confidence)

    def answer_rate(self, confidence: float = 0.95) -> Estimate | None:
        """The re-surveyed among those whose window has ended, in percent: a low
        answer rate means the recovery rate speaks for few."""
        return _share(self.resurveyed, self.resurveyed + self.no_answer, confidence)

    def __add__(self, other: object) -> RecoveryRate:
        if not isinstance(other, RecoveryRate):
            return NotImplemented
        return RecoveryRate(
            recovered=self.recovered + other.recovered,
            not_recovered=self.not_recovered + other.not_recovered,
            no_answer=self.no_answer + other.no_answer,
            pending=self.pending + other.pending,
        )


def recovery_rate(outcomes: Iterable[RecoveryOutcome | None]) -> RecoveryRate:
    """Count recovery outcomes (consumed once; ``None``, a window still open, is
    counted as pending).

    >>> R = RecoveryOutcome
    >>> recovery_rate([R.RECOVERED, R.NOT_RECOVERED, R.NO_ANSWER, None, R.RECOVERED])
    RecoveryRate(recovered=2, not_recovered=1, no_answer=1, pending=1)
    """
    counts = dict.fromkeys(RecoveryOutcome, 0)
    pending = 0
    for outcome in outcomes:
        if outcome is None:
            pending += 1
        elif isinstance(outcome, RecoveryOutcome):
            counts[outcome] += 1
        else:
            raise ValidationError(
                "outcomes", "RecoveryOutcome values (or None while pending)", describe(outcome)
            )
    return RecoveryRate(
        recovered=counts[RecoveryOutcome.RECOVERED],
        not_recovered=counts[RecoveryOutcome.NOT_RECOVERED],
        no_answer=counts[RecoveryOutcome.NO_ANSWER],
        pending=pending,
    )
