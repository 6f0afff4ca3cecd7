"""Seed 000, the pharmacy clerk, at the level of the pure compensation core: the
clerk's own authority, the team lead's approval, and the campaign gift that only
some regions honour."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loopkit import FollowUpCase, load_playbook
from loopkit.compensation import (
    BudgetExceeded,
    EntryKind,
    GrantStatus,
    Ledger,
    Money,
    Offer,
    OfferKind,
    OfferNotEligible,
    OfferSource,
    Proposal,
    approve,
    expire,
    grant,
    period_of,
    reject,
)
from loopkit.testing import make_customer, make_response, make_touchpoint

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOON = datetime(2026, 11, 20, 12, 5, tzinfo=STOCKHOLM)

PHARMACY = Path(__file__).resolve().parent / "data" / "pharmacy.toml"

LOTION = Offer(kind=OfferKind.FREE_PRODUCT, value=Money.parse("75 SEK"), what="body lotion")


@pytest.fixture
def playbook():  # type: ignore[no-untyped-def]
    return load_playbook(PHARMACY)


@pytest.fixture
def counter_case() -> FollowUpCase:
    return FollowUpCase(id="case-1", customer_id="c-1", opened_at=NOON)


def _stores(playbook):  # type: ignore[no-untyped-def]
    budget = playbook.budgets["stores"]
    return budget, period_of(budget, NOON)


def test_clerk_gives_a_75_sek_lotion_at_once_on_his_own_authority(playbook, counter_case) -> None:  # type: ignore[no-untyped-def]
    outcome = grant(
        Ledger(),
        playbook.empowerment,
        key="counter-1",
        case=counter_case,
        by="clerk-17",
        at=NOON,
        offer=LOTION,
    )
    assert outcome.status is GrantStatus.GRANTED
    assert outcome.request is None  # no manager asked
    assert [e.kind for e in outcome.entries] == [EntryKind.GRANT, EntryKind.POSTING]
    entry = outcome.entries[0]
    assert (entry.employee, entry.case_id, entry.customer_id) == ("clerk-17", "case-1", "c-1")
    assert entry.source == OfferSource.goodwill()  # his own goodwill, not the campaign's
    assert entry.offer.what == "body lotion" and entry.team == "stores"
    ledger = Ledger().append(outcome.entries)
    budget, period = _stores(playbook)
    assert ledger.used(budget, period) == Money.parse("75 SEK")
    assert ledger.left(budget, period) == Money.parse("4925 SEK")
    assert ledger.reserved(budget, period) == Money.parse("0 SEK")


def test_300_sek_needs_a_team_leads_approval_and_is_reserved_until_then(
    playbook,  # type: ignore[no-untyped-def]
    counter_case,  # type: ignore[no-untyped-def]
) -> None:
    big = Offer(kind=OfferKind.REFUND, value=Money.parse("300 SEK"))
    asked = grant(
        Ledger(),
        playbook.empowerment,
        key="counter-2",
        case=counter_case,
        by="clerk-17",
        at=NOON,
        offer=big,
    )
    assert asked.status is GrantStatus.PENDING
    assert [e.kind for e in asked.entries] == [EntryKind.RESERVATION]
    assert asked.request is not None and asked.request.requester == "clerk-17"
    assert asked.request.expires_at == NOON + timedelta(days=3)
    ledger = Ledger().append(asked.entries)
    budget, period = _stores(playbook)
    assert ledger.reserved(budget, period) == Money.parse("300 SEK")
    assert ledger.used(budget, period) == Money.parse("0 SEK")
    assert ledger.left(budget, period) == Money.parse("4700 SEK")
    assert [r.id for r in ledger.pending()] == ["counter-2"]

    approved = approve(
        ledger,
        playbook.empowerment,
        request_id="counter-2",
        by="lead-2",
        at=NOON + timedelta(hours=1),
    )
    after = ledger.append(approved.entries)
    assert approved.status is GrantStatus.GRANTED
    assert after.used(budget, period) == Money.parse("300 SEK")
    assert after.reserved(budget, period) == Money.parse("0 SEK")
    assert after.pending() == ()
    request = after.request("counter-2")
    assert request is not None and request.status is GrantStatus.GRANTED
    assert request.settled_by == "lead-2"
    granted = next(e for e in approved.entries if e.kind is EntryKind.GRANT)
    assert (granted.employee, granted.by, granted.approval) == ("clerk-17", "lead-2", "counter-2")

    rejected = reject(
        ledger,
        playbook.empowerment,
        request_id="counter-2",
        by="lead-2",
        at=NOON + timedelta(hours=1),
    )
    after_rejection = ledger.append(rejected.entries)
    assert rejected.status is GrantStatus.REJECTED
    assert after_rejection.reserved(budget, period) == Money.parse("0 SEK")
    assert after_rejection.used(budget, period) == Money.parse("0 SEK")
    assert after_rejection.left(budget, period) == budget.amount


def test_an_unanswered_request_expires_on_tick_and_its_reservation_is_released(
    playbook,  # type: ignore[no-untyped-def]
    counter_case,  # type: ignore[no-untyped-def]
) -> None:
    big = Offer(kind=OfferKind.REFUND, value=Money.parse("300 SEK"))
    asked = grant(
        Ledger(),
        playbook.empowerment,
        key="k",
        case=counter_case,
        by="clerk-17",
        at=NOON,
        offer=big,
    )
    ledger = Ledger().append(asked.entries)
    assert expire(ledger, at=NOON + timedelta(days=3) - timedelta(seconds=1)) == ()
    lapsed = expire(ledger, at=NOON + timedelta(days=3))
    assert [e.kind for e in lapsed] == [EntryKind.EXPIRY]
    ledger = ledger.append(lapsed)
    budget, period = _stores(playbook)
    assert ledger.reserved(budget, period) == Money.parse("0 SEK")
    assert ledger.status("k") is GrantStatus.EXPIRED
    assert expire(ledger, at=NOON + timedelta(days=9)) == ()  # once


def test_the_campaign_gift_is_not_proposed_outside_its_regions_but_own_goodwill_is_possible(
    playbook,  # type: ignore[no-untyped-def]
    counter_case,  # type: ignore[no-untyped-def]
) -> None:
    answer = make_response(
        2, touchpoint=make_touchpoint("store_visit", channel="in_person", employee_id="clerk-17")
    )
    stockholm = make_customer("c-1", region="stockholm")
    dalarna = make_customer("c-2", region="dalarna")

    in_stockholm = playbook.compensation.proposals(answer, stockholm)
    assert in_stockholm.sources == ()
    assert [str(d.source) for d in in_stockholm.dropped] == [
        "rule:campaign-gift",
        "rule:return-label",
    ]
    assert "customer.region = 'stockholm'" in in_stockholm.dropped[0].why

    in_dalarna = playbook.compensation.proposals(answer, dalarna)
    assert in_dalarna.sources == ("rule:campaign-gift",)
    assert in_dalarna[0].offer == LOTION

    # In Stockholm, the clerk gives the same lotion as his own goodwill: recorded as such.
    outcome = grant(
        Ledger(),
        playbook.empowerment,
        key="g",
        case=counter_case,
        by="clerk-17",
        at=NOON,
        offer=LOTION,
    )
    assert outcome.status is GrantStatus.GRANTED
    assert all(e.source == OfferSource.goodwill() for e in outcome.entries)


def test_the_campaign_gift_once_granted_is_not_proposed_again_within_a_year(playbook) -> None:  # type: ignore[no-untyped-def]
    dalarna = make_customer("c-2", region="dalarna")
    case = FollowUpCase(id="case-2", customer_id="c-2", opened_at=NOON)
    answer = make_response(2, customer_id="c-2", answered_at=NOON)
    gift = playbook.compensation.proposals(answer, dalarna)[0]
    outcome = grant(
        Ledger(), playbook.empowerment, key="g-1", case=case, by="clerk-17", at=NOON, proposal=gift
    )
    assert outcome.entries[0].source == OfferSource.rule("campaign-gift")
    ledger = Ledger().append(outcome.entries)
    later = playbook.compensation.proposals(
        answer, dalarna, ledger=ledger, at=NOON + timedelta(days=30)
    )
    assert later.sources == ()
    why = {str(d.source): d.why for d in later.dropped}
    assert why["rule:campaign-gift"].startswith("max_per_customer: 1 of 1")
    next_year = playbook.compensation.proposals(
        answer, dalarna, ledger=ledger, at=NOON + timedelta(days=366)
    )
    assert next_year.sources == ("rule:campaign-gift",)


def test_a_return_label_needs_no_authority_and_is_still_in_the_ledger(playbook) -> None:  # type: ignore[no-untyped-def]
    leaving = make_response(2, kind="cancellation")
    label = playbook.compensation.proposals(leaving, make_customer(region="stockholm"))[0]
    assert label.offer.value is None
    case = FollowUpCase(id="case-3", customer_id="c-1", opened_at=NOON)
    outcome = grant(
        Ledger(),
        playbook.empowerment,
        key="label-1",
        case=case,
        by="stranger",
        at=NOON,
        proposal=label,
    )
    assert outcome.status is GrantStatus.GRANTED
    assert [(e.kind, e.amount, e.employee) for e in outcome.entries] == [
        (EntryKind.GRANT, None, "stranger")
    ]


def test_a_grant_that_would_overspend_the_month_is_refused_with_what_is_left(playbook) -> None:  # type: ignore[no-untyped-def]
    case = FollowUpCase(id="case-4", customer_id="c-1", opened_at=NOON)
    ledger = Ledger()
    for i in range(33):  # 33 x 150 = 4950 SEK of 5000
        out = grant(
            ledger,
            playbook.empowerment,
            key=f"k-{i}",
            case=case,
            by="clerk-17",
            at=NOON,
            offer=Offer(kind=OfferKind.REFUND, value=Money.parse("150 SEK")),
        )
        ledger = ledger.append(out.entries)
    with pytest.raises(BudgetExceeded) as info:
        grant(
            ledger, playbook.empowerment, key="k-x", case=case, by="clerk-17", at=NOON, offer=LOTION
        )
    assert info.value.left == Money.parse("50 SEK")
    assert info.value.requested == Money.parse("75 SEK")
    # A new month in Stockholm starts a new budget period.
    december = datetime(2026, 12, 1, 0, 0, tzinfo=STOCKHOLM)
    assert (
        grant(
            ledger,
            playbook.empowerment,
            key="k-x",
            case=case,
            by="clerk-17",
            at=december,
            offer=LOTION,
        ).status
        is GrantStatus.GRANTED
    )


def test_the_playbooks_cap_holds_at_the_counter_even_for_a_stale_proposal(playbook) -> None:  # type: ignore[no-untyped-def]
    case = FollowUpCase(id="case-5", customer_id="c-2", opened_at=NOON)
    stale = Proposal(source=OfferSource.rule("campaign-gift"), offer=LOTION)  # no cap on it
    first = grant(
        Ledger(), playbook.empowerment, key="a", case=case, by="clerk-17", at=NOON, proposal=stale
    )
    ledger = Ledger().append(first.entries)
    with pytest.raises(OfferNotEligible) as info:
        grant(
            ledger, playbook.empowerment, key="b", case=case, by="clerk-18", at=NOON, proposal=stale
        )
    assert info.value.source == "rule:campaign-gift" and info.value.field == "max_per_customer"
    # the clerk's own goodwill is not the campaign's offer: it is not capped by it
    own = grant(
        ledger, playbook.empowerment, key="c", case=case, by="clerk-18", at=NOON, offer=LOTION
    )
    assert own.status is GrantStatus.GRANTED
