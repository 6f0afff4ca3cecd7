"""The statistics the metrics share: normal quantiles, intervals, Wilson's
interval for a proportion, a two-sided test. Pure functions, no I/O.

Sources:

- Wald and Wilson intervals for a proportion: Agresti, A. & Coull, B. A. (1998),
  "Approximate is better than 'exact' for interval estimation of binomial
  proportions", *The American Statistician* 52(2), 119–126.
- Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical
  inference", *Journal of the American Statistical Association* 22(158), 209–212.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Final

import attrs

from loopkit.errors import ValidationError, describe

__all__ = ["Interval", "TwoSidedTest", "wilson", "z_for"]

_STANDARD: Final = NormalDist()


def z_for(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (1.959964… for 0.95).

    >>> round(z_for(0.95), 6)
    1.959964
    """
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        raise ValidationError(
            "confidence", "a level between 0 and 1, such as 0.95", describe(confidence)
        )
    return _STANDARD.inv_cdf(0.5 + confidence / 2)


@attrs.frozen
class Interval:
    """A confidence interval: ``low`` to ``high`` at ``confidence``, by ``method``."""

    low: float
    high: float
    confidence: float
    method: str

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"[{self.low:.2f}, {self.high:.2f}] ({self.confidence:.0%}, {self.method})"


@attrs.frozen
class TwoSidedTest:
    """A two-sample z test of a difference: ``difference`` (second minus
    first), its ``standard_error``, ``z`` and the two-sided ``p`` value."""

    difference: float
    standard_error: float
    z: float
    p: float

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the difference is significant at level ``alpha``."""
        return self.p < alpha


def two_sided(difference: float, standard_error: float) -> TwoSidedTest:
    """The z test of ``difference`` with ``standard_error`` (p = 1 when both are 0)."""
    if standard_error == 0:
        z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
    else:
        z = difference / standard_error
    p = 2 * (1 - _STANDARD.cdf(abs(z))) if math.isfinite(z) else 0.0
    return TwoSidedTest(difference=difference, standard_error=standard_error, z=z, p=p)


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson's score interval for the proportion ``successes / n``, as a share
    between 0 and 1. Unlike the Wald interval it stays inside [0, 1] and keeps its
    coverage for small ``n`` and proportions near 0 or 1 (Agresti & Coull 1998).

    >>> str(wilson(8, 10))
    '[0.49, 0.94] (95%, wilson)'
    """
    if n <= 0:
        raise ValidationError("n", "at least one observation", describe(n))
    if not 0 <= successes <= n:
        raise ValidationError("successes", f"a count from 0 to {n}", describe(successes))
    z = z_for(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    # At 0 or n successes the bound is exactly 0 or 1; computed, it may miss by 1e-15
    # and leave the estimate outside its own interval.
    return Interval(
        low=0.0 if successes == 0 else max(0.0, centre - half),
        high=1.0 if successes == n else min(1.0, centre + half),
        confidence=confidence,
        method="wilson",
    )
