"""The Net Promoter Score with honest intervals.

Promoters answer 9–10, passives 7–8, detractors 0–6 (Reichheld, F. F. (2003), "The
one number you need to grow", *Harvard Business Review* 81(12)). With ``p`` and
``d`` the shares of promoters and detractors among ``n`` answers:

- score: ``NPS = 100 · (p − d)``, from −100 to 100;
- Wald interval: ``variance = p + d − (p − d)²``, ``SE = 100 · √(variance / n)``,
  ``NPS ± z · SE``;
- adjusted Wald interval: the same after adding 3 to ``n`` and 0.75 to the
  promoters and to the detractors (and centred on the adjusted score), which keeps
  its coverage for small samples and extreme scores: Rocks, B. (2016), "Interval
  estimation for the 'net promoter score'", *The American Statistician* 70(4),
  365–372; Sauro, J. & Lewis, J. R. (2016), *Quantifying the User Experience*, 2nd
  ed., ch. 5;
- the change between two periods: ``SE = √(SE₁² + SE₂²)`` (independent samples),
  ``z = (NPS₂ − NPS₁) / SE``, two-sided ``p``.

Both intervals are clamped to [−100, 100]. See ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from typing import Final, Literal

import attrs

from loopkit.errors import ValidationError, describe_input

from .stats import Interval, TwoSidedTest, two_sided, z_for

__all__ = ["NPS", "compare_nps", "nps"]

_CHUNK: Final = 1 << 16
"""Scores counted at a time: memory stays flat however long the stream is."""
_SCORES: Final = frozenset(range(11))


def _clamp(value: float) -> float:
    return min(100.0, max(-100.0, value))


@attrs.frozen
class NPS:
    """Counts of promoters, passives and detractors, and what follows from them.

    Results for parts add up to the result for the whole (``a + b``), so a
    score can be computed per partition (a day, a store, a worker) and combined.
    A sample with no answers has ``score`` ``None`` and no interval: no data,
    never a division by zero.

    >>> r = NPS(promoters=70, passives=10, detractors=20)
    >>> r.score, str(r.interval())
    (50.0, '[34.20, 65.80] (95%, wald)')
    """

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def __attrs_post_init__(self) -> None:
        for name in ("promoters", "passives", "detractors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"NPS.{name}", "a count of 0 or more", describe_input(value))

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """``100 · (p − d)``, or ``None`` with no answers."""
        n = self.n
        return None if n == 0 else 100 * (self.promoters - self.detractors) / n

    def standard_error(self) -> float | None:
        """The Wald standard error of the score, or ``None`` with no answers."""
        n = self.n
        if n == 0:
            return None
        return _standard_error(self.promoters / n, self.detractors / n, n)

    def interval(
        self,
        confidence: float = 0.95,
        method: Literal["wald", "adjusted_wald"] = "wald",
    ) -> Interval | None:
        """The confidence interval of the score, or ``None`` with no answers.

        >>> str(NPS(promoters=9, detractors=2).interval(method="adjusted_wald"))
        '[8.00, 92.00] (95%, adjusted_wald)'
        """
        z = z_for(confidence)
        if method == "wald":
            n, promoters, detractors = self.n, float(self.promoters), float(self.detractors)
        elif method == "adjusted_wald":
            n, promoters, detractors = self.n + 3, self.promoters + 0.75, self.detractors + 0.75
        else:
            raise ValidationError("method", "'wald' or 'adjusted_wald'", describe_input(method))
        if self.n == 0:
            return None
        p, d = promoters / n, detractors / n
        centre = 100 * (p - d)
        half = z * _standard_error(p, d, n)
        return Interval(
            low=_clamp(centre - half),
            high=_clamp(centre + half),
            confidence=confidence,
            method=method,
        )

    def __add__(self, other: object) -> NPS:
        if not isinstance(other, NPS):
            return NotImplemented
        return NPS(
            promoters=self.promoters + other.promoters,
            passives=self.passives + other.passives,
            detractors=self.detractors + other.detractors,
        )


def _standard_error(p: float, d: float, n: float) -> float:
    variance = max(0.0, p + d - (p - d) ** 2)
    return 100 * math.sqrt(variance / n)


def nps(scores: Iterable[int]) -> NPS:
    """Count an iterable of 0–10 scores (consumed once, in constant memory).

    A score that is not an integer from 0 to 10 is a
    :class:`~loopkit.ValidationError` (its value described, never shown). As
    in any count by value, ``True`` counts as 1 and ``9.0`` as 9 when the same
    value came first as an int.

    >>> r = nps([10, 9, 8, 3])
    >>> r.promoters, r.passives, r.detractors, r.score
    (2, 1, 1, 25.0)
    """
    counts: Counter[int] = Counter()
    iterator = iter(scores)
    while chunk := list(islice(iterator, _CHUNK)):
        counts.update(chunk)  # counted in C
        if len(counts) > 11 or not counts.keys() <= _SCORES:
            break
    for value in counts:
        if type(value) is not int or value not in _SCORES:
            raise ValidationError(
                "scores", "NPS scores: integers from 0 to 10", describe_input(value)
            )
    return NPS(
        promoters=counts[9] + counts[10],
        passives=counts[7] + counts[8],
        detractors=sum(counts[s] for s in range(7)),
    )


def compare_nps(first: NPS, second: NPS) -> TwoSidedTest:
    """Whether the score changed from ``first`` to ``second`` more than chance
    would: a two-sample z test on the Wald standard errors.

    >>> test = compare_nps(NPS(40, 30, 30), NPS(50, 30, 20))
    >>> round(test.difference, 2), round(test.standard_error, 2), round(test.p, 3)
    (20.0, 11.4, 0.079)
    """
    for name, sample in (("first", first), ("second", second)):
        if sample.n == 0:
            raise ValidationError(name, "a sample with at least one answer", "an empty sample")
    assert first.score is not None and second.score is not None
    se1, se2 = first.standard_error(), second.standard_error()
    assert se1 is not None and se2 is not None
    return two_sided(second.score - first.score, math.sqrt(se1 * se1 + se2 * se2))
