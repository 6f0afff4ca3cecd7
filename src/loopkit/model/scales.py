"""Answer scales (NPS, CSAT, CES, custom) and their classification into categories."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from loopkit._input.checks import check_int, check_slug
from loopkit.errors import ValidationError, describe_input

__all__ = ["CES5", "CES7", "CSAT", "NPS", "Category", "Scale"]


class Category(enum.StrEnum):
    """Where an answer falls on the ladder: detractor → passive → promoter.

    For NPS the words are the usual ones. For CSAT and CES the same three words
    mean unhappy / neutral / happy, so every policy can speak one language.
    """

    DETRACTOR = "detractor"
    PASSIVE = "passive"
    PROMOTER = "promoter"


def _check_band(value: object, path: str) -> tuple[int, int]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValidationError(path, "a pair [lowest, highest] of integers", describe_input(value))
    low, high = check_int(value[0], f"{path}[0]"), check_int(value[1], f"{path}[1]")
    if low > high:
        raise ValidationError(path, "lowest <= highest", describe_input(value))
    return (low, high)


@attrs.frozen(kw_only=True)
class Scale:
    """An answer scale: integer scores from ``minimum`` to ``maximum`` with three
    contiguous bands, in the order given by ``higher_is_better``.

    The built-in scales and their bands:

    ======  =====  =================  =========  ========
    scale   range  detractor/unhappy  passive    promoter/happy
    ======  =====  =================  =========  ========
    NPS     0–10   0–6                7–8        9–10
    CSAT    1–5    1–2                3          4–5
    CES5    1–5    4–5                3          1–2     (lower is better: "how much effort")
    CES7    1–7    1–3                4          5–7     (higher is better: "it was easy")
    ======  =====  =================  =========  ========

    A custom scale names its own bands:

    >>> stars = Scale(name="stars", minimum=1, maximum=3,
    ...               detractor=(1, 1), passive=(2, 2), promoter=(3, 3))
    >>> stars.classify(3)
    <Category.PROMOTER: 'promoter'>
    """

    BUILTIN: ClassVar[Mapping[str, Scale]]

    name: str
    minimum: int
    maximum: int
    detractor: tuple[int, int]
    passive: tuple[int, int]
    promoter: tuple[int, int]
    higher_is_better: bool = True

    def __attrs_post_init__(self) -> None:
        check_slug(self.name, "Scale.name", "a scale name")
        low = check_int(self.minimum, "Scale.minimum")
        high = check_int(self.maximum, "Scale.maximum")
        if low >= high:
            raise ValidationError("Scale.maximum", f"more than minimum {low}", describe_input(high))
        bands = [_check_band(getattr(self, cat.value), f"Scale.{cat.value}") for cat in Category]
        if not isinstance(self.higher_is_better, bool):
            raise ValidationError(
                "Scale.higher_is_better", "true or false", describe_input(self.higher_is_better)
            )
        ordered = bands if self.higher_is_better else bands[::-1]
        expect = low
        for band in ordered:
            if band[0] != expect:
                raise ValidationError(
                    "Scale",
                    f"bands that cover {low}..{high} without gaps or overlaps, "
                    f"{'detractor lowest' if self.higher_is_better else 'detractor highest'}",
                    describe_input([list(b) for b in bands]),
                )
            expect = band[1] + 1
        if expect != high + 1:
            raise ValidationError(
                "Scale",
                f"bands that end at the maximum {high}",
                describe_input([list(b) for b in bands]),
            )

    def check_score(self, score: object, path: str = "score") -> int:
        """The score, if it is an integer on this scale; else a ValidationError."""
        if isinstance(score, bool) or not isinstance(score, int):
            raise ValidationError(
                path, f"an integer from {self.minimum} to {self.maximum}", describe_input(score)
            )
        if not self.minimum <= score <= self.maximum:
            raise ValidationError(
                path,
                f"an integer from {self.minimum} to {self.maximum} ({self.name} scale)",
                describe_input(score),
            )
        return score

    def classify(self, score: int) -> Category:
        """The category of a score already checked to be on this scale."""
        if self.detractor[0] <= score <= self.detractor[1]:
            return Category.DETRACTOR
        if self.passive[0] <= score <= self.passive[1]:
            return Category.PASSIVE
        return Category.PROMOTER

    @property
    def is_builtin(self) -> bool:
        builtin = Scale.BUILTIN.get(self.name)
        return builtin is self or builtin == self

    def to_dict(self) -> str | dict[str, Any]:
        """The name for a built-in scale, else every field."""
        if self.is_builtin:
            return self.name
        return {
            "name": self.name,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "detractor": list(self.detractor),
            "passive": list(self.passive),
            "promoter": list(self.promoter),
            "higher_is_better": self.higher_is_better,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "scale") -> Scale:
        """A built-in scale by name (``"nps"``, ``"csat"``, ``"ces5"``, ``"ces7"``)
        or a custom scale given as a mapping of its fields."""
        if isinstance(data, str):
            try:
                return cls.BUILTIN[data.lower()]
            except KeyError:
                raise ValidationError(
                    path,
                    f"one of {sorted(cls.BUILTIN)} or a custom scale table",
                    describe_input(data),
                ) from None
        from loopkit._input.reader import Reader

        r = Reader(data, path)
        kwargs = {
            "name": r.get("name", str),
            "minimum": r.get("minimum", int),
            "maximum": r.get("maximum", int),
            "detractor": r.get("detractor", list),
            "passive": r.get("passive", list),
            "promoter": r.get("promoter", list),
            "higher_is_better": r.get("higher_is_better", bool, default=True),
        }
        r.finish()
        for key in ("detractor", "passive", "promoter"):
            if kwargs[key] is not None:
                try:
                    kwargs[key] = _check_band(kwargs[key], r.at(key))
                except ValidationError as err:
                    r.note(err)
        return r.build(cls, kwargs)


NPS = Scale(name="nps", minimum=0, maximum=10, detractor=(0, 6), passive=(7, 8), promoter=(9, 10))
"""Net Promoter Score, 0–10: 0–6 detractor, 7–8 passive, 9–10 promoter."""
CSAT = Scale(name="csat", minimum=1, maximum=5, detractor=(1, 2), passive=(3, 3), promoter=(4, 5))
"""Customer satisfaction, 1–5: 1–2 unhappy, 3 neutral, 4–5 happy (top-2-box)."""
CES5 = Scale(
    name="ces5",
    minimum=1,
    maximum=5,
    detractor=(4, 5),
    passive=(3, 3),
    promoter=(1, 2),
    higher_is_better=False,
)
"""Customer effort, 1–5, lower is better: 1–2 happy (little effort), 3 neutral, 4–5 unhappy."""
CES7 = Scale(name="ces7", minimum=1, maximum=7, detractor=(1, 3), passive=(4, 4), promoter=(5, 7))
"""Customer effort, 1–7 agreement that it was easy, higher is better: 1–3 unhappy, 4, 5–7 happy."""

Scale.BUILTIN = {s.name: s for s in (NPS, CSAT, CES5, CES7)}
