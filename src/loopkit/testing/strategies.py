"""Hypothesis strategies for every loopkit model value.

Use them to property-test your own code with realistic, valid loopkit values:
customers in any IANA time zone (DST-heavy ones drawn often), responses on
built-in and custom scales, follow-up cases reached only through legal
transitions, and so on. Every value they produce passes loopkit's own
validation and survives the ``to_dict``/``from_dict`` round trip.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_, which is
not a runtime dependency of loopkit: install the ``dev`` extra
(``pip install 'loopkit[dev]'``) or hypothesis itself. Nothing else in loopkit
imports it.

>>> from hypothesis import given
>>> import loopkit
>>> from loopkit.testing.strategies import responses
>>> @given(responses(scale=loopkit.NPS))
... def test_scores_are_classified(response):
...     assert response.category in set(loopkit.Category)
>>> test_scores_are_classified()
"""

from __future__ import annotations

from ._strategies_answers import (
    contact_points,
    contact_preferences,
    custom_scales,
    customers,
    daily_windows,
    responses,
    scales,
    scores,
    touchpoints,
)
from ._strategies_basics import (
    DST_HEAVY_ZONES,
    attributes,
    aware_datetimes,
    comments,
    ids,
    slugs,
    timezone_names,
    timezones,
)
from ._strategies_casework import (
    case_events,
    cases,
    messages,
    promises,
)

__all__ = [
    "DST_HEAVY_ZONES",
    "attributes",
    "aware_datetimes",
    "case_events",
    "cases",
    "comments",
    "contact_points",
    "contact_preferences",
    "custom_scales",
    "customers",
    "daily_windows",
    "ids",
    "messages",
    "promises",
    "responses",
    "scales",
    "scores",
    "slugs",
    "timezone_names",
    "timezones",
    "touchpoints",
]
