"""Touchpoint signals in the pure policy layer: with no response, every response
field is missing (the same rule as a missing touchpoint), and a policy set
matches, decides and explains a touchpoint on its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit.testing.strategies as lks
from loopkit import load_playbook
from loopkit.conditions import Condition, compile_first_match
from loopkit.policies import ContactHistory, PolicySet
from loopkit.testing import STOCKHOLM, make_customer, make_response, make_touchpoint

FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)

PLAYBOOK = {
    "version": 1,
    "calendars": {
        "support": {
            "timezone": "Europe/Stockholm",
            "hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-17:00"),
        }
    },
    "contact": {"quiet_hours": "20:00-08:00"},
    "policies": [
        {
            "name": "detractor-call",
            "when": {"field": "response.category", "equals": "detractor"},
            "channels": ["phone"],
            "owner": "touchpoint.employee_id",
        },
        {
            "name": "last-impression",
            "when": {
                "all": [
                    {"field": "touchpoint.kind", "equals": "cancellation"},
                    {"not": {"field": "response.category", "equals": "promoter"}},
                ]
            },
            "channels": ["phone", "email"],
            "owner": "team:retention",
            "deadline": {"within": "8h", "calendar": "support"},
            "escalate": [{"after": "4h", "to": "team:retention-leads"}],
        },
    ],
}


def policies() -> PolicySet:
    return load_playbook(PLAYBOOK).policies


# -- the missing-value rule ----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"field": "response.score", "le": 6}, False),
        ({"field": "response.score", "ge": 0}, False),
        ({"field": "response.category", "equals": "detractor"}, False),
        ({"field": "response.category", "in": ["detractor", "passive"]}, False),
        ({"field": "response.comment", "exists": True}, False),
        ({"field": "response.comment", "contains": "late"}, False),
        ({"field": "response.answered_at", "within": "2h"}, False),
        (
            {"field": "response.answered_at", "within": "2h", "since": "touchpoint.occurred_at"},
            False,
        ),
        (
            {"field": "touchpoint.occurred_at", "within": "2h", "since": "response.answered_at"},
            False,
        ),
        ({"field": "response.category", "not_equals": "promoter"}, True),
        ({"field": "response.category", "not_in": ["promoter"]}, True),
        ({"field": "response.comment", "exists": False}, True),
        ({"not": {"field": "response.score", "ge": 9}}, True),
    ],
)
def test_without_a_response_positive_tests_fail_and_negated_tests_hold(
    spec: dict[str, Any], expected: bool
) -> None:
    cond = Condition.parse(spec)
    tp, customer = make_touchpoint("cancellation"), make_customer()
    assert cond.matches(None, customer, touchpoint=tp) is expected
    assert cond.explain(None, customer, touchpoint=tp).matched is expected
    # The same rule as a missing touchpoint: a response without one.
    bare = make_response()
    object.__setattr__(bare, "touchpoint", None)
    tp_spec = {"field": "touchpoint.kind", "equals": "cancellation"}
    assert Condition.parse(tp_spec).matches(bare, customer) is False
    assert Condition.parse({"not": tp_spec}).matches(bare, customer) is True


def test_a_failed_response_test_explains_that_there_was_no_response() -> None:
    cond = Condition.parse({"field": "response.comment", "contains": "Nobody"})
    trace = cond.explain(None, make_customer(), touchpoint=make_touchpoint("cancellation"))
    assert not trace.matched
    assert trace.saw == "no response"
    assert trace.failed == "response.comment contains 'Nobody'"


def test_within_before_now_defaults_to_the_touchpoint_time_without_a_response() -> None:
    cond = Condition.parse({"field": "touchpoint.occurred_at", "within": "1h"})
    tp = make_touchpoint("cancellation", occurred_at=FRIDAY)
    customer = make_customer()
    assert cond.matches(None, customer, touchpoint=tp)  # now = when it happened
    assert not cond.matches(None, customer, touchpoint=tp, now=FRIDAY + timedelta(hours=2))


def test_the_response_hot_path_is_compiled_without_the_response_guard() -> None:
    conds = [Condition.parse({"field": "response.score", "le": 6})]
    plain = compile_first_match(conds)
    guarded = compile_first_match(conds, optional_response=True)
    r, c = make_response(score=3), make_customer()
    assert plain(r, r.touchpoint, c, FRIDAY) == guarded(r, r.touchpoint, c, FRIDAY) == 0
    assert guarded(None, r.touchpoint, c, FRIDAY) == -1
    with pytest.raises(AttributeError):  # the hot path never checks for a response
        plain(None, r.touchpoint, c, FRIDAY)


# -- property: the signal matcher against an independent evaluation -------------------

LEAVES = st.sampled_from(
    [
        {"field": "response.score", "le": 6},
        {"field": "response.category", "in": ["passive", "promoter"]},
        {"field": "response.category", "not_equals": "detractor"},
        {"field": "response.comment", "exists": False},
        {"field": "response.comment", "contains": "a"},
        {"field": "response.answered_at", "within": "2h", "since": "touchpoint.occurred_at"},
        {"field": "touchpoint.kind", "in": ["purchase", "cancellation"]},
        {"field": "touchpoint.employee_id", "exists": False},
        {"field": "touchpoint.attributes.switched_from", "exists": True},
        {"field": "customer.segment", "not_equals": "gold"},
        {"field": "customer.value", "ge": 100},
        {"field": "touchpoint.occurred_at", "within": "30d"},
    ]
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


def _expected(spec: dict[str, Any], tp: Any, customer: Any, now: datetime) -> bool:
    """The missing-value rule written out by hand: a leaf that reads a response
    field holds only if it is a negation; any other leaf is evaluated as usual
    (with some response: it does not read it)."""
    if "all" in spec:
        return all(_expected(s, tp, customer, now) for s in spec["all"])
    if "any" in spec:
        return any(_expected(s, tp, customer, now) for s in spec["any"])
    if "not" in spec:
        return not _expected(spec["not"], tp, customer, now)
    if spec["field"].startswith("response.") or spec.get("since", "").startswith("response."):
        return "not_equals" in spec or "not_in" in spec or spec.get("exists") is False
    return Condition.parse(spec).matches(make_response(), customer, touchpoint=tp, now=now)


@settings(max_examples=300, deadline=None)
@given(spec=TREES, tp=lks.touchpoints(), customer=lks.customers(), hours=st.integers(0, 2000))
def test_signal_matching_follows_the_missing_value_rule(
    spec: dict[str, Any], tp: Any, customer: Any, hours: int
) -> None:
    cond = Condition.parse(spec)
    now = tp.occurred_at + timedelta(hours=hours)
    expected = _expected(spec, tp, customer, now)
    assert cond.matches(None, customer, touchpoint=tp, now=now) is expected
    trace = cond.explain(None, customer, touchpoint=tp, now=now)
    assert trace.matched is expected
    first = compile_first_match([cond, Condition.parse({"not": spec})], optional_response=True)
    assert first(None, tp, customer, now) == (0 if expected else 1)


# -- the policy set ------------------------------------------------------------------


def test_a_cancellation_signal_matches_the_policy_that_does_not_need_an_answer() -> None:
    tp = make_touchpoint("cancellation", occurred_at=FRIDAY)
    customer = make_customer()
    policy = policies().match_touchpoint(tp, customer, FRIDAY)
    assert policy is not None and policy.name == "last-impression"
    explanation = policies().explain_touchpoint(tp, customer, FRIDAY)
    assert explanation.decided_by == "last-impression"
    assert explanation.trace("detractor-call").saw == "no response"


def test_a_signal_decision_counts_its_deadline_from_the_touchpoint() -> None:
    # Cancelled Friday 15:30; the support calendar closes at 17:00, so 8 business
    # hours run 1h30 on Friday and 6h30 on Monday (from 08:00), whenever decided.
    tp = make_touchpoint("cancellation", occurred_at=FRIDAY)
    decided_later = FRIDAY + timedelta(minutes=20)
    d = policies().decide_touchpoint(tp, make_customer(), decided_later)
    assert d.follow_up and d.policy is not None and d.policy.name == "last-impression"
    assert (d.response_id, d.touchpoint_id, d.customer_id) == (None, "t-1", "c-1")
    assert (d.owner, d.channel) == ("team:retention", "phone")
    assert d.due_at == datetime(2026, 11, 23, 14, 30, tzinfo=STOCKHOLM)
    assert [(e.to, e.at) for e in d.escalations] == [
        ("team:retention-leads", datetime(2026, 11, 24, 9, 30, tzinfo=STOCKHOLM))
    ]
    assert d.first_contact_at == decided_later
    assert d.explanation.decided_by == "last-impression"


def test_a_signal_no_policy_matches_says_so() -> None:
    tp = make_touchpoint("purchase", occurred_at=FRIDAY)
    d = policies().decide_touchpoint(tp, make_customer(), FRIDAY)
    assert not d.follow_up and d.policy is None
    assert d.reason == (
        "no follow-up: none of the 2 policies matched this purchase signal "
        "(a touchpoint with no response)"
    )
    assert d.explanation.decided_by is None


def test_a_signal_owner_read_from_a_response_field_falls_back_like_an_empty_one() -> None:
    book = dict(PLAYBOOK)
    book["policies"] = [
        {
            "name": "leaving",
            "when": {"field": "touchpoint.kind", "equals": "cancellation"},
            "channels": ["phone"],
            "owner": "response.customer_id",
            "deadline": {"within": "8h", "calendar": "support"},
            "escalate": [{"after": "4h", "to": "team:retention"}],
        }
    ]
    tp = make_touchpoint("cancellation", occurred_at=FRIDAY)
    d = load_playbook(book).policies.decide_touchpoint(tp, make_customer(), FRIDAY)
    assert d.owner == "team:retention"
    assert d.warnings == (
        "response.customer_id is empty or not an id: the case goes to team:retention",
    )


def test_frequency_caps_apply_to_signals_too() -> None:
    book = {
        **PLAYBOOK,
        "contact": {
            "follow_up_caps": [
                {
                    "when": {"field": "touchpoint.kind", "equals": "cancellation"},
                    "max": 1,
                    "per": "30d",
                }
            ]
        },
    }
    tp = make_touchpoint("cancellation", occurred_at=FRIDAY)
    history = ContactHistory(follow_ups=[FRIDAY - timedelta(days=3)])
    d = load_playbook(book).policies.decide_touchpoint(tp, make_customer(), FRIDAY, history=history)
    assert not d.follow_up
    assert d.suppressed == "frequency cap: at most 1 follow-up(s) per 30d, and 1 already"
    assert d.response_id is None and d.touchpoint_id == "t-1"


def test_a_response_decision_names_its_touchpoint_too() -> None:
    r = make_response(score=2)
    d = policies().decide(r, make_customer(), r.answered_at)
    assert (d.response_id, d.touchpoint_id, d.follow_up) == ("r-1", "t-1", True)
    promoter = make_response(score=10, touchpoint=make_touchpoint(id="t-2"))
    d = policies().decide(promoter, make_customer(), promoter.answered_at)
    assert (d.response_id, d.touchpoint_id, d.follow_up) == ("r-1", "t-2", False)
