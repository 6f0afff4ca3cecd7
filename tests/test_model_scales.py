"""Scales classify every score into the bands documented in ``scales.py``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

import loopkit
from loopkit import CES5, CES7, CSAT, NPS, Category, Scale, ValidationError
from loopkit.testing import strategies as lks

D, P, H = Category.DETRACTOR, Category.PASSIVE, Category.PROMOTER

BANDS = {
    "nps": {0: D, 1: D, 2: D, 3: D, 4: D, 5: D, 6: D, 7: P, 8: P, 9: H, 10: H},
    "csat": {1: D, 2: D, 3: P, 4: H, 5: H},
    "ces5": {1: H, 2: H, 3: P, 4: D, 5: D},  # lower is better
    "ces7": {1: D, 2: D, 3: D, 4: P, 5: H, 6: H, 7: H},  # higher is better
}


@pytest.mark.parametrize("scale", [NPS, CSAT, CES5, CES7], ids=lambda s: s.name)
def test_builtin_band_table(scale: Scale) -> None:
    table = BANDS[scale.name]
    assert (scale.minimum, scale.maximum) == (min(table), max(table))
    assert {score: scale.classify(score) for score in table} == table
    assert scale.higher_is_better is (scale is not CES5)
    assert scale.is_builtin
    for score, category in table.items():
        at = "2026-11-20T15:30:00+01:00"
        data = {"id": "r", "customer_id": "c", "scale": scale.name, "score": score}
        assert loopkit.Response.from_dict({**data, "answered_at": at}).category is category


def test_categories_are_the_ladders_three_words() -> None:
    assert [c.value for c in Category] == ["detractor", "passive", "promoter"]


def test_builtin_scales_by_name_ignore_case() -> None:
    assert Scale.from_dict("NPS") is NPS
    with pytest.raises(ValidationError) as info:
        Scale.from_dict("nps10", "survey.scale")
    assert info.value.path == "survey.scale"
    assert "['ces5', 'ces7', 'csat', 'nps']" in info.value.expected


@settings(max_examples=60, deadline=None)
@given(lks.custom_scales())
def test_custom_scales_classify_every_score_monotonically(scale: Scale) -> None:
    order = [D, P, H] if scale.higher_is_better else [H, P, D]
    ranks = [order.index(scale.classify(s)) for s in range(scale.minimum, scale.maximum + 1)]
    assert ranks == sorted(ranks)
    assert set(ranks) == {0, 1, 2}


def stars(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "stars",
        "minimum": 1,
        "maximum": 5,
        "detractor": [1, 2],
        "passive": [3, 3],
        "promoter": [4, 5],
    }
    data.update(changes)
    return data


def test_a_custom_scale_from_a_table() -> None:
    scale = Scale.from_dict(stars())
    assert scale.classify(2) is D
    assert not scale.is_builtin
    assert Scale.from_dict(stars(higher_is_better=False, detractor=[4, 5], promoter=[1, 2]))


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [
        ({"passive": [4, 4]}, "scale", "without gaps or overlaps"),  # gap at 3
        ({"passive": [2, 3]}, "scale", "without gaps or overlaps"),  # overlaps detractor
        ({"promoter": [4, 4]}, "scale", "bands that end at the maximum 5"),
        ({"promoter": [4, 6]}, "scale", "bands that end at the maximum 5"),
        ({"detractor": [0, 2]}, "scale", "without gaps or overlaps"),
        ({"detractor": [4, 5], "promoter": [1, 2]}, "scale", "detractor lowest"),  # wrong way
        ({"higher_is_better": False}, "scale", "detractor highest"),  # wrong way
        ({"passive": [3, 2]}, "scale.passive", "lowest <= highest"),
        ({"passive": [3]}, "scale.passive", "a pair [lowest, highest]"),
        ({"passive": [3.0, 3]}, "scale.passive[0]", "an integer"),
        ({"passive": [3, True]}, "scale.passive[1]", "an integer"),
        ({"minimum": 5}, "scale.maximum", "more than minimum 5"),
        ({"minimum": 1.0}, "scale.minimum", "an integer"),
        ({"name": "Five Stars"}, "scale.name", "a scale name"),
        ({"higher_is_better": "yes"}, "scale.higher_is_better", "true or false"),
    ],
)
def test_bad_custom_scales_are_refused_with_a_path(
    changes: dict[str, Any], path: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Scale.from_dict(stars(**changes))
    assert [p.path for p in info.value.problems] == [path], str(info.value)
    assert expected in info.value.expected


def test_a_bad_scale_inside_a_response_is_placed_under_it() -> None:
    data = {
        "id": "r",
        "customer_id": "c",
        "scale": stars(passive=[4, 4]),
        "score": 3,
        "answered_at": "2026-11-20T15:30:00Z",
    }
    with pytest.raises(ValidationError) as info:
        loopkit.Response.from_dict(data)
    assert info.value.path == "response.scale"


def test_every_band_problem_is_reported_at_once() -> None:
    data = stars(passive=[3.5, 3], extra=1)
    del data["promoter"]
    with pytest.raises(ValidationError) as info:
        Scale.from_dict(data)
    assert [p.path for p in info.value.problems] == [
        "scale.promoter",
        "scale.extra",
        "scale.passive[0]",
    ]


def test_constructor_names_the_class() -> None:
    with pytest.raises(ValidationError) as info:
        Scale(name="x", minimum=1, maximum=3, detractor=(1, 1), passive=(3, 3), promoter=(2, 2))
    assert info.value.path == "Scale"
    with pytest.raises(ValidationError) as info:
        Scale(name="x", minimum=1, maximum=3, detractor=(1, 1), passive=(2, 2), promoter=(3, 3.0))  # type: ignore[arg-type]
    assert info.value.path == "Scale.promoter[1]"
