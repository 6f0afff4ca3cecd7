"""The input foundation seen from the public API: every enum is read one way (a
typed error naming the field, with a suggestion), and one cap value serves both
follow-up caps and compensation's ``max_per_customer``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopkit
from loopkit import (
    NPS,
    Cap,
    CaseOrigin,
    CaseState,
    Category,
    CompensationRule,
    Condition,
    ContactRules,
    FollowUpCase,
    MemoryStore,
    MessageStatus,
    Response,
    SQLiteStore,
    SurveyKind,
    ValidationError,
    load_policies,
)
from loopkit.compensation import Offer, OfferKind, OfferSource, Proposal
from loopkit.testing import STOCKHOLM, make_response

T0 = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)

GOLD: dict[str, Any] = {"field": "customer.segment", "equals": "gold"}


def _response(**fields: Any) -> Response:
    base: dict[str, Any] = {
        "id": "r-1",
        "customer_id": "c-1",
        "scale": NPS,
        "score": 3,
        "answered_at": T0,
    }
    return Response(**{**base, **fields})


# -- one way to read an enum ----------------------------------------------------


def test_a_survey_kind_is_read_from_its_value_or_refused_with_a_suggestion() -> None:
    assert _response(survey="relationship").survey is SurveyKind.RELATIONSHIP
    with pytest.raises(ValidationError) as info:
        _response(survey="relationshp")
    assert info.value.path == "Response.survey"
    assert info.value.expected == "one of ['transactional', 'relationship']"
    assert "did you mean 'relationship'?" in str(info.value)


def test_a_case_state_and_origin_are_read_the_same_way() -> None:
    case = FollowUpCase.from_dict(
        {
            "id": "case-1",
            "customer_id": "c-1",
            "topic": "low",
            "state": "open",
            "origin": "employee",
            "opened_at": T0.isoformat(),
        },
        "case",
    )
    assert case.state is CaseState.OPEN and case.origin is CaseOrigin.EMPLOYEE
    with pytest.raises(ValidationError) as info:
        attrs.evolve(case, state="opne")
    assert info.value.path == "FollowUpCase.state"
    assert "did you mean 'open'?" in str(info.value)


def test_a_plugins_category_that_is_no_category_is_a_validation_error() -> None:
    response = make_response(score=3)
    assert response.reclassified("passive").category is Category.PASSIVE  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        response.reclassified("pasive")  # type: ignore[arg-type]
    assert info.value.path == "category" and "did you mean 'passive'?" in str(info.value)


def test_an_offer_source_of_an_unknown_kind_names_the_kinds() -> None:
    assert OfferSource.parse("rule:gift") == OfferSource.rule("gift")
    with pytest.raises(ValidationError) as info:
        OfferSource.parse("rules:gift")
    assert info.value.path == "source" and "did you mean 'rule'?" in str(info.value)


@pytest.mark.parametrize("make", [MemoryStore, SQLiteStore], ids=["memory", "sqlite"])
def test_both_stores_read_a_message_status_filter_one_way(make: Any) -> None:
    store = make()
    try:
        with store.transaction() as tx:
            assert list(tx.messages(status="pending")) == []
            assert list(tx.messages(status=MessageStatus.SENT)) == []
            with pytest.raises(ValidationError) as info:
                tx.messages(status="pendng")
        assert info.value.path == "status" and "did you mean 'pending'?" in str(info.value)
    finally:
        store.close()


# -- one cap value ----------------------------------------------------------------


def test_the_old_cap_names_are_the_one_cap() -> None:
    assert loopkit.CustomerCap is Cap and loopkit.FollowUpCap is Cap
    assert "Cap" in loopkit.__all__ and "CustomerCap" not in loopkit.__all__


def test_both_policy_file_syntaxes_load_into_the_same_class() -> None:
    playbook = load_policies(
        {
            "version": 1,
            "policies": [
                {
                    "name": "low",
                    "when": {"field": "response.score", "le": 6},
                    "channels": ["email"],
                    "owner": "team:cx",
                }
            ],
            "contact": {"follow_up_caps": [{"when": GOLD, "max": 1, "per": "60d"}]},
            "compensation": [
                {
                    "name": "gift",
                    "when": GOLD,
                    "offer": {"kind": "apology"},
                    "max_per_customer": {"count": 2, "per": "90d"},
                }
            ],
        }
    )
    follow_up = playbook.policies.contact.follow_up_caps[0]
    grant = playbook.compensation.rules[0].max_per_customer
    assert type(follow_up) is Cap and type(grant) is Cap
    assert (follow_up.count, follow_up.per, follow_up.when is not None) == (1, timedelta(60), True)
    assert grant == Cap(count=2, per=timedelta(days=90))
    assert str(grant) == "at most 2 per 90d"


@given(count=st.integers(1, 10_000), days=st.integers(1, 3_650))
def test_the_two_syntaxes_read_the_same_cap(count: int, days: int) -> None:
    per = f"{days}d"
    rules = ContactRules.from_dict({"follow_up_caps": [{"max": count, "per": per}]})
    assert rules.follow_up_caps == (Cap.from_dict({"count": count, "per": per}, "cap"),)
    assert rules.follow_up_caps[0] == Cap(count=count, per=timedelta(days=days))


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"count": 0, "per": "30d"}, "cap.count", "a count >= 1"),
        ({"count": True, "per": "30d"}, "cap.count", "an integer"),
        ({"count": 1, "per": "-1d"}, "cap.per", 'a positive duration such as "30d"'),
        ({"count": 1, "per": "0m"}, "cap.per", 'a positive duration such as "30d"'),
        ({"count": 1}, "cap.per", "a value (this field is required)"),
        ({"count": 1, "per": "30d", "when": GOLD}, "cap.when", "one of the known keys"),
    ],
)
def test_a_bad_cap_names_its_field(data: dict[str, Any], path: str, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        Cap.from_dict(data, "cap")
    assert info.value.path == path and info.value.expected.startswith(expected)


def test_a_follow_up_cap_keeps_its_max_key_in_errors() -> None:
    with pytest.raises(ValidationError) as info:
        ContactRules.from_dict({"follow_up_caps": [{"max": 0, "per": "30d"}]})
    assert info.value.path == "contact.follow_up_caps[0].max"
    with pytest.raises(ValidationError) as info:
        ContactRules.from_dict({"follow_up_caps": [{"count": 1, "per": "30d"}]})
    assert {p.path for p in info.value.problems} == {
        "contact.follow_up_caps[0].max",
        "contact.follow_up_caps[0].count",
    }


def test_a_cap_checks_itself_when_built_in_code() -> None:
    with pytest.raises(ValidationError) as info:
        Cap(count=0, per=timedelta(days=1))
    assert info.value.path == "Cap.count"
    with pytest.raises(ValidationError) as info:
        Cap(count=1, per=timedelta(0))
    assert info.value.path == "Cap.per"


def test_a_compensation_cap_says_no_when_of_its_own() -> None:
    """The rule's ``when`` says whom an offer is for: a cap with another
    ``when`` would be silently ignored, so it is refused."""
    gold = Condition.parse(GOLD)
    offer = Offer(kind=OfferKind.APOLOGY)
    capped = Cap(count=1, per=timedelta(days=30), when=gold)
    with pytest.raises(ValidationError) as info:
        CompensationRule(name="gift", when=gold, offer=offer, max_per_customer=capped)
    assert info.value.path == "CompensationRule.max_per_customer"
    with pytest.raises(ValidationError):
        Proposal(source=OfferSource.plugin("crm"), offer=offer, max_per_customer=capped)
    plain = Cap(count=1, per=timedelta(days=30))
    rule = CompensationRule(name="gift", when=gold, offer=offer, max_per_customer=plain)
    assert rule.max_per_customer is plain
