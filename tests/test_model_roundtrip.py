"""Every model survives ``Model.from_dict(m.to_dict()) == m``, through JSON too."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.testing import strategies as lks

FAST = settings(max_examples=60, deadline=None)


def _json_identity(data: Any) -> None:
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def _round_trip(value: Any, read: Callable[[Any], Any]) -> None:
    data = value.to_dict()
    _json_identity(data)
    assert read(data) == value
    assert read(json.loads(json.dumps(data))) == value


@FAST
@given(lks.customers())
def test_customer_round_trip(customer: loopkit.Customer) -> None:
    _round_trip(customer, loopkit.Customer.from_dict)


@FAST
@given(lks.contact_points())
def test_contact_point_round_trip(point: loopkit.ContactPoint) -> None:
    _round_trip(point, loopkit.ContactPoint.from_dict)


@FAST
@given(lks.contact_preferences())
def test_contact_preferences_round_trip(prefs: loopkit.ContactPreferences) -> None:
    _round_trip(prefs, loopkit.ContactPreferences.from_dict)


@FAST
@given(lks.touchpoints())
def test_touchpoint_round_trip(touchpoint: loopkit.Touchpoint) -> None:
    _round_trip(touchpoint, loopkit.Touchpoint.from_dict)


@FAST
@given(lks.responses())
def test_response_round_trip(response: loopkit.Response) -> None:
    _round_trip(response, loopkit.Response.from_dict)
    assert loopkit.Response.from_dict(response.to_dict()).category is response.category


@FAST
@given(lks.responses(scale=loopkit.CES5))
def test_response_on_a_lower_is_better_scale_round_trips(response: loopkit.Response) -> None:
    _round_trip(response, loopkit.Response.from_dict)


@FAST
@given(lks.scales())
def test_scale_round_trip(scale: loopkit.Scale) -> None:
    data = scale.to_dict()
    _json_identity(data)
    assert loopkit.Scale.from_dict(data) == scale


@FAST
@given(lks.custom_scales())
def test_custom_scale_round_trips_as_a_table(scale: loopkit.Scale) -> None:
    data = scale.to_dict()
    if not scale.is_builtin:
        assert isinstance(data, dict)
    assert loopkit.Scale.from_dict(json.loads(json.dumps(data))) == scale


@pytest.mark.parametrize("scale", [loopkit.NPS, loopkit.CSAT, loopkit.CES5, loopkit.CES7])
def test_builtin_scales_round_trip_by_name(scale: loopkit.Scale) -> None:
    assert scale.to_dict() == scale.name
    assert loopkit.Scale.from_dict(scale.name) is scale


@FAST
@given(lks.case_events())
def test_case_event_round_trip(event: loopkit.CaseEvent) -> None:
    _round_trip(event, loopkit.CaseEvent.from_dict)


@FAST
@given(lks.cases())
def test_case_round_trip(case: loopkit.FollowUpCase) -> None:
    _round_trip(case, loopkit.FollowUpCase.from_dict)


@FAST
@given(lks.daily_windows())
def test_daily_window_round_trips_through_its_text(window: loopkit.DailyWindow) -> None:
    assert loopkit.DailyWindow.parse(str(window)) == window


# -- instants that Python's own datetime equality gets wrong --------------------

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM),  # fall-back fold, first pass
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=STOCKHOLM),  # ... second pass
        datetime(2026, 3, 29, 2, 30, tzinfo=STOCKHOLM),  # spring-forward gap
        datetime(1850, 6, 1, 12, 0, tzinfo=STOCKHOLM),  # local mean time, +00:53:28
        datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
    ],
    ids=["fold-0", "fold-1", "gap", "lmt", "min", "max"],
)
def test_touchpoint_round_trips_at_awkward_instants(at: datetime) -> None:
    touchpoint = loopkit.Touchpoint(id="t-1", kind="delivery", channel="web", occurred_at=at)
    _round_trip(touchpoint, loopkit.Touchpoint.from_dict)


@settings(max_examples=40, deadline=None)
@given(
    lks.aware_datetimes(
        datetime(1, 1, 2),
        datetime(9999, 12, 30),
        zones=st.sampled_from(lks.DST_HEAVY_ZONES[:4]).map(ZoneInfo),
    )
)
def test_any_aware_instant_round_trips(at: datetime) -> None:
    event = loopkit.CaseEvent(at=at, actor="emp-1", kind="note")
    _round_trip(event, loopkit.CaseEvent.from_dict)


def test_equal_instants_in_different_zones_are_equal_values() -> None:
    utc = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    local = utc.astimezone(STOCKHOLM)
    assert local.fold == 0
    a = loopkit.CaseEvent(at=utc, actor="emp-1", kind="note")
    b = loopkit.CaseEvent(at=local, actor="emp-1", kind="note")
    assert a == b
    assert hash(a) == hash(b)
