"""Compensation values as the policy file writes them: money, authority, budgets,
offers and rules that propose them (pure; the ledger is a later issue)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from loopkit import ValidationError, load_playbook
from loopkit.compensation import (
    AuthorityLimits,
    Budget,
    CompensationRule,
    CompensationRules,
    Money,
    OfferKind,
)
from loopkit.testing import make_customer, make_response


def test_money_parses_exactly_and_compares_within_one_currency() -> None:
    assert Money.parse("99.50 EUR") == Money(Decimal("99.50"), "EUR")
    assert Money.parse("100 SEK") < Money.parse("100.01 SEK")
    assert Money.parse("300 SEK") > Money.parse("200 SEK")
    assert str(Money.parse("200 SEK")) == "200 SEK"
    with pytest.raises(ValidationError):
        _ = Money.parse("1 EUR") < Money.parse("1 SEK")


@pytest.mark.parametrize("text", ["200", "SEK 200", "200 sek", "two hundred SEK", "1e3 SEK", 200])
def test_money_in_another_form_is_refused_with_its_path(text: object) -> None:
    with pytest.raises(ValidationError) as info:
        Money.parse(text, "authority.agent")
    assert info.value.path == "authority.agent"
    assert '"200 SEK"' in str(info.value)


def test_authority_limits_say_when_an_approval_is_needed() -> None:
    limits = AuthorityLimits.from_dict({"agent": "200 SEK", "team-lead": "1000 SEK"})
    assert limits.allows("agent", Money.parse("200 SEK"))
    assert not limits.allows("agent", Money.parse("200.01 SEK"))
    assert limits.allows("team-lead", Money.parse("300 SEK"))
    assert not limits.allows("nobody", Money.parse("1 SEK"))
    assert not limits.allows("agent", Money.parse("10 EUR"))  # no exchange rates here


def test_budgets_and_offers_refuse_unknown_words_with_their_path() -> None:
    with pytest.raises(ValidationError) as info:
        Budget.from_dict("team", {"amount": "1 SEK", "per": "fortnight"}, "budgets.team")
    assert info.value.path == "budgets.team.per"
    base = {
        "version": 1,
        "policies": [
            {
                "name": "p",
                "when": {"field": "response.score", "le": 6},
                "channels": ["email"],
                "owner": "team:cx",
            }
        ],
    }
    bad = {
        **base,
        "compensation": [
            {
                "name": "r",
                "when": {"field": "response.scor", "le": 6},
                "offer": {"kind": "discount", "value": "100 SEK"},
                "max_per_customer": {"count": 0, "per": "90 days"},
            }
        ],
    }
    with pytest.raises(ValidationError) as info:
        load_playbook(bad)
    paths = {p.path for p in info.value.problems}
    assert {
        "compensation[0].when.field",
        "compensation[0].offer.kind",
        "compensation[0].max_per_customer.per",
    } <= paths, str(info.value)


def test_rules_propose_in_order_and_only_when_they_match() -> None:
    rules = CompensationRules(
        (
            CompensationRule.from_dict(
                {
                    "name": "switcher-welcome",
                    "when": {"field": "customer.attributes.switched_from", "exists": True},
                    "offer": {"kind": "upgrade"},
                },
                "compensation[0]",
            ),
            CompensationRule.from_dict(
                {
                    "name": "refund-on-request",
                    "when": {"field": "response.comment", "contains": "refund"},
                    "offer": {"kind": "refund", "value": "50 SEK"},
                    "max_per_customer": {"count": 2, "per": "365d"},
                },
                "compensation[1]",
            ),
        )
    )
    switcher = make_customer(attributes={"switched_from": "RivalAir"})
    wants_money = make_response(score=2, comment="I want a REFUND")
    assert [r.name for r in rules.propose(wants_money, switcher)] == [
        "switcher-welcome",
        "refund-on-request",
    ]
    assert rules.propose(make_response(score=2), make_customer()) == ()
    refund = rules.propose(wants_money, make_customer())[0]
    assert refund.offer.kind is OfferKind.REFUND
    assert refund.max_per_customer is not None
    assert refund.max_per_customer.per == timedelta(days=365)
    assert rules.rules[0].offer.value is None
