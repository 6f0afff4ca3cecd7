"""CSAT and CES: satisfaction and effort scores, each with a named convention.

- **Top box** (the default for CSAT: top-2-box on 1–5, answers 4 and 5): the share of
  answers in the scale's happy band (CSAT 4–5, CES 1–5 answers 1–2 since lower is
  better there, CES 1–7 answers 5–7), as a percentage with Wilson's interval.
- **Mean**: the average score with a normal interval, ``mean ± z · s / √n`` (``s``
  the sample standard deviation). With fewer than about 30 answers the normal
  quantile understates the uncertainty (Student's t would be wider); the docs say so.

Counts per score add up across partitions (``a + b``). See ``docs/metrics.md``.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from typing import Final

import attrs

from loopkit.errors import ValidationError, describe_input
from loopkit.model import CES5, CES7, CSAT, Category, Scale

from .stats import Interval, wilson, z_for

__all__ = ["Convention", "Estimate", "ScoreCounts", "ces", "csat", "score_counts"]

_CHUNK: Final = 1 << 16


class Convention(enum.StrEnum):
    """How a satisfaction or effort score is summarised."""

    TOP_BOX = "top_box"
    """The share of answers in the scale's happy band, in percent (CSAT: top-2-box)."""
    MEAN = "mean"
    """The mean score."""


@attrs.frozen
class Estimate:
    """A metric's ``value`` with its ``interval``, over ``n`` answers, by ``convention``."""

    value: float
    interval: Interval
    n: int
    convention: Convention


@attrs.frozen
class ScoreCounts:
    """How many answers gave each score of ``scale`` (``counts[i]`` for score
    ``scale.minimum + i``)."""

    scale: Scale
    counts: tuple[int, ...]

    def __attrs_post_init__(self) -> None:
        if len(self.counts) != self.scale.maximum - self.scale.minimum + 1:
            raise ValidationError(
                "ScoreCounts.counts", "one count per score of the scale", f"{len(self.counts)}"
            )

    @property
    def n(self) -> int:
        return sum(self.counts)

    def estimate(
        self, convention: Convention | str = Convention.TOP_BOX, confidence: float = 0.95
    ) -> Estimate | None:
        """The summary by ``convention``, or ``None`` with no answers."""
        try:
            convention = Convention(convention)
        except ValueError:
            raise ValidationError(
                "convention", "'top_box' or 'mean'", describe_input(convention)
            ) from None
        n = self.n
        if n == 0:
            return None
        if convention is Convention.TOP_BOX:
            happy = sum(
                count
                for score, count in enumerate(self.counts, self.scale.minimum)
                if self.scale.classify(score) is Category.PROMOTER
            )
            share = wilson(happy, n, confidence)
            interval = attrs.evolve(share, low=100 * share.low, high=100 * share.high)
            return Estimate(value=100 * happy / n, interval=interval, n=n, convention=convention)
        scores = range(self.scale.minimum, self.scale.maximum + 1)
        mean = sum(s * c for s, c in zip(scores, self.counts, strict=True)) / n
        spread = sum(c * (s - mean) ** 2 for s, c in zip(scores, self.counts, strict=True))
        sd = math.sqrt(spread / (n - 1)) if n > 1 else 0.0
        half = z_for(confidence) * sd / math.sqrt(n)
        interval = Interval(
            low=mean - half, high=mean + half, confidence=confidence, method="normal"
        )
        return Estimate(value=mean, interval=interval, n=n, convention=convention)

    def __add__(self, other: object) -> ScoreCounts:
        if not isinstance(other, ScoreCounts):
            return NotImplemented
        if other.scale != self.scale:
            raise ValidationError("scale", f"counts on {self.scale.name}", other.scale.name)
        return ScoreCounts(
            scale=self.scale,
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
        )


def score_counts(scale: Scale, scores: Iterable[int]) -> ScoreCounts:
    """Count an iterable of scores on ``scale`` (consumed once, constant memory).

    >>> score_counts(CSAT, [5, 4, 4, 1]).counts
    (1, 0, 0, 2, 1)
    """
    counts: Counter[int] = Counter()
    valid = frozenset(range(scale.minimum, scale.maximum + 1))
    iterator = iter(scores)
    while chunk := list(islice(iterator, _CHUNK)):
        counts.update(chunk)
        if not counts.keys() <= valid:
            break
    for value in counts:
        if type(value) is not int or value not in valid:
            raise ValidationError(
                "scores",
                f"{scale.name} scores: integers from {scale.minimum} to {scale.maximum}",
                describe_input(value),
            )
    return ScoreCounts(scale=scale, counts=tuple(counts[s] for s in sorted(valid)))


def csat(
    scores: Iterable[int],
    *,
    convention: Convention | str = Convention.TOP_BOX,
    confidence: float = 0.95,
) -> Estimate | None:
    """CSAT on 1–5: top-2-box (the share of 4s and 5s, in percent) by default,
    or the mean; ``None`` with no answers.

    >>> round(csat([5, 5, 4, 3, 1]).value, 1)
    60.0
    """
    return score_counts(CSAT, scores).estimate(convention, confidence)


def ces(
    scores: Iterable[int],
    *,
    scale: Scale = CES5,
    convention: Convention | str = Convention.TOP_BOX,
    confidence: float = 0.95,
) -> Estimate | None:
    """CES on 1–5 (``CES5``, lower is better: the happy band is 1–2) or 1–7
    (``CES7``, higher is better: 5–7): the share of low-effort answers in
    percent by default, or the mean; ``None`` with no answers.

    >>> round(ces([1, 2, 5, 4], scale=CES5).value, 1)
    50.0
    """
    if scale not in (CES5, CES7):
        raise ValidationError(
            "scale", "CES5 or CES7", describe_input(getattr(scale, "name", scale))
        )
    return score_counts(scale, scores).estimate(convention, confidence)
