"""Seed 000 end to end through the public API: the pharmacy clerk compensates
at the counter on his own authority, asks a team lead for more, and the
campaign gift is offered only where it runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loopkit import (
    BudgetExceeded,
    ConflictError,
    GrantStatus,
    IllegalTransition,
    Loop,
    Money,
    Offer,
    OfferKind,
    OfferNotEligible,
    OfferSource,
    PluginError,
    RequestSettled,
    SelfApproval,
    ValidationError,
    load_playbook,
)
from loopkit.compensation import EntryKind, NotEnoughAuthority, StaffMember
from loopkit.hooks import hookimpl
from loopkit.testing import FakeClock, make_customer

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOON = datetime(2026, 11, 20, 12, 5, tzinfo=STOCKHOLM)

PHARMACY = Path(__file__).resolve().parent / "data" / "pharmacy.toml"

LOTION = Offer(kind=OfferKind.FREE_PRODUCT, value=Money.parse("75 SEK"), what="body lotion")
REFUND = Offer(kind=OfferKind.REFUND, value=Money.parse("300 SEK"))


@pytest.fixture
def loop() -> Loop:
    return Loop(load_playbook(PHARMACY), clock=FakeClock(NOON), check_channels=False)


def _counter_case(loop: Loop, region: str = "stockholm", customer_id: str = "c-1") -> str:
    customer = make_customer(customer_id, region=region)
    case = loop.open_case(
        customer_id, by="clerk-17", policy="complaint-in-person", customer=customer
    )
    return case.id


def test_clerk_compensates_at_the_counter_without_approval(loop: Loop) -> None:
    case_id = _counter_case(loop)
    outcome = loop.compensation.grant(case_id, LOTION, by="clerk-17", key="counter-1")
    assert outcome.status is GrantStatus.GRANTED and outcome.request is None
    # in the ledger ...
    ledger = loop.compensation.ledger(case_id=case_id)
    assert [e.kind for e in ledger] == [EntryKind.GRANT, EntryKind.POSTING]
    assert {(e.employee, e.source) for e in ledger} == {("clerk-17", OfferSource.goodwill())}
    # ... on the case ...
    event = loop.case(case_id).events[-1]
    assert (event.kind, event.actor) == ("compensation_granted", "clerk-17")
    assert dict(event.details) == {
        "key": "counter-1",
        "source": "goodwill",
        "offer": "free_product",
        "amount": "75 SEK",
        "budget": "stores",
    }
    # ... and drawn from the store's budget
    use = loop.compensation.budget("stores")
    assert (str(use.used), str(use.reserved), str(use.left)) == ("75 SEK", "0 SEK", "4925 SEK")
    # the same grant again is one grant
    again = loop.compensation.grant(case_id, LOTION, by="clerk-17", key="counter-1")
    assert again.replayed and again.status is GrantStatus.GRANTED
    assert len(loop.compensation.ledger()) == 2
    assert str(loop.compensation.budget("stores").used) == "75 SEK"
    with pytest.raises(ConflictError):
        loop.compensation.grant(case_id, REFUND, by="clerk-17", key="counter-1")


def test_300_sek_needs_a_team_leads_approval_reserved_until_then(loop: Loop) -> None:
    case_id = _counter_case(loop)
    asked = loop.compensation.grant(case_id, REFUND, by="clerk-17", key="counter-2")
    assert asked.status is GrantStatus.PENDING and asked.request is not None
    assert loop.case(case_id).events[-1].kind == "compensation_requested"
    assert [r.id for r in loop.compensation.requests()] == ["counter-2"]
    use = loop.compensation.budget("stores")
    assert (str(use.used), str(use.reserved), str(use.left)) == ("0 SEK", "300 SEK", "4700 SEK")

    with pytest.raises(SelfApproval):
        loop.compensation.approve("counter-2", by="clerk-17")
    with pytest.raises(NotEnoughAuthority):
        loop.compensation.approve("counter-2", by="clerk-18")
    approved = loop.compensation.approve("counter-2", by="lead-2", at=NOON + timedelta(hours=1))
    assert approved.status is GrantStatus.GRANTED
    event = loop.case(case_id).events[-1]
    assert (event.kind, event.actor) == ("compensation_granted", "lead-2")
    use = loop.compensation.budget("stores")
    assert (str(use.used), str(use.reserved), str(use.left)) == ("300 SEK", "0 SEK", "4700 SEK")
    assert loop.compensation.requests() == ()
    with pytest.raises(RequestSettled):
        loop.compensation.reject("counter-2", by="lead-2")


def test_a_rejected_request_releases_its_reservation(loop: Loop) -> None:
    case_id = _counter_case(loop)
    loop.compensation.grant(case_id, REFUND, by="clerk-17", key="counter-3")
    rejected = loop.compensation.reject("counter-3", by="lead-2")
    assert rejected.status is GrantStatus.REJECTED
    assert loop.case(case_id).events[-1].kind == "compensation_rejected"
    use = loop.compensation.budget("stores")
    assert (str(use.used), str(use.reserved)) == ("0 SEK", "0 SEK")


def test_an_unanswered_request_expires_on_tick(loop: Loop) -> None:
    case_id = _counter_case(loop)
    loop.compensation.grant(case_id, REFUND, by="clerk-17", key="counter-4")
    assert loop.tick(NOON + timedelta(days=3) - timedelta(seconds=1)).expired_requests == 0
    report = loop.tick(NOON + timedelta(days=3))
    assert report.expired_requests == 1
    assert loop.tick(NOON + timedelta(days=4)).expired_requests == 0
    assert loop.case(case_id).events[-1].kind == "compensation_expired"
    assert loop.compensation.ledger().status("counter-4") is GrantStatus.EXPIRED
    assert str(loop.compensation.budget("stores", at=NOON).reserved) == "0 SEK"
    with pytest.raises(RequestSettled):
        loop.compensation.approve("counter-4", by="lead-2", at=NOON + timedelta(days=4))


def test_the_campaign_gift_is_offered_only_in_its_regions_own_goodwill_always(
    loop: Loop,
) -> None:
    in_stockholm = _counter_case(loop, "stockholm", "c-1")
    offers = loop.compensation.offers(in_stockholm)
    assert offers.sources == ()
    # (the return label is for cancellations only)
    assert sorted(str(d.source) for d in offers.dropped) == [
        "rule:campaign-gift",
        "rule:return-label",
    ]
    own = loop.compensation.grant(in_stockholm, LOTION, by="clerk-17", key="own-1")
    assert own.status is GrantStatus.GRANTED

    in_dalarna = _counter_case(loop, "dalarna", "c-2")
    offers = loop.compensation.offers(in_dalarna)
    assert offers.sources == ("rule:campaign-gift",)
    shown = loop.case(in_dalarna).events[-1]
    assert shown.kind == "offers_proposed"
    assert list(shown.details["offers"]) == ["rule:campaign-gift free_product 75 SEK (body lotion)"]
    loop.compensation.offers(in_dalarna)  # the same offers again: not shown twice
    assert [e.kind for e in loop.case(in_dalarna).events].count("offers_proposed") == 1
    gift = loop.compensation.grant(in_dalarna, offers[0], by="clerk-17", key="gift-1")
    assert gift.entries[0].source == OfferSource.rule("campaign-gift")
    # once a year per customer: granted, so no longer offered, and refused if pressed
    again = loop.compensation.offers(in_dalarna)
    why = {str(d.source): d.why for d in again.dropped}
    assert again.sources == () and "max_per_customer" in why["rule:campaign-gift"]
    assert list(loop.case(in_dalarna).events[-1].details["offers"]) == []
    with pytest.raises(OfferNotEligible):
        loop.compensation.grant(in_dalarna, offers[0], by="clerk-17", key="gift-2")


def test_bad_input_gets_typed_errors_naming_the_field(loop: Loop) -> None:
    case_id = _counter_case(loop)
    euros = Offer(kind=OfferKind.REFUND, value=Money.parse("5 EUR"))
    with pytest.raises(ValidationError) as err:
        loop.compensation.grant(case_id, euros, by="clerk-17", key="k-1")
    assert err.value.problems[0].path == "offer.value"
    with pytest.raises(ValidationError) as err:
        Offer.from_dict({"kind": "refund", "value": "-5 SEK"})
    assert err.value.problems[0].path == "offer.value"
    with pytest.raises(ValidationError) as err:
        loop.compensation.grant(case_id, "75 SEK", by="clerk-17", key="k-2")  # type: ignore[arg-type]
    assert err.value.problems[0].path == "offer"
    with pytest.raises(ValidationError) as err:
        loop.compensation.approve("no-such-request", by="lead-2")
    assert err.value.problems[0].path == "request_id"
    with pytest.raises(ValidationError) as err:
        loop.compensation.budget("shops")
    assert err.value.problems[0].path == "budget"
    thousand = Offer(kind=OfferKind.REFUND, value=Money.parse("1000 SEK"))
    for i in range(4):
        loop.compensation.grant(case_id, thousand, by="lead-2", key=f"big-{i}")
    loop.compensation.grant(case_id, REFUND, by="clerk-17", key="held")  # reserved
    with pytest.raises(BudgetExceeded) as exceeded:
        loop.compensation.grant(case_id, thousand, by="lead-2", key="big-5")
    assert exceeded.value.left == Money.parse("700 SEK")
    assert "700 SEK left" in str(exceeded.value)
    assert loop.compensation.ledger().status("big-5") is None  # nothing written
    loop.close(case_id, resolved=False, by="clerk-17")
    with pytest.raises(IllegalTransition):
        loop.compensation.grant(case_id, LOTION, by="clerk-17", key="k-late")


def test_the_hosts_hr_system_answers_first_and_an_unknown_employee_has_no_authority(
    loop: Loop,
) -> None:
    class HR:
        @hookimpl
        def loopkit_load_staff(self, employee_id: str) -> StaffMember | None:
            if employee_id == "manager-1":
                return StaffMember(id=employee_id, role="team-lead", team="stores")
            if employee_id == "cashier-1":
                return StaffMember(id=employee_id, role="cashier", team="stores")
            return None

    hosted = Loop(load_playbook(PHARMACY), plugins=[HR()], clock=FakeClock(NOON))
    case_id = _counter_case(hosted)
    assert hosted.compensation.grant(case_id, REFUND, by="manager-1", key="m-1").status is (
        GrantStatus.GRANTED
    )
    stranger = hosted.compensation.grant(case_id, LOTION, by="temp-9", key="t-1")
    assert stranger.status is GrantStatus.PENDING  # no authority of their own
    label = Offer(kind=OfferKind.RETURN_LABEL)
    free = hosted.compensation.grant(case_id, label, by="temp-9", key="t-2")
    assert free.status is GrantStatus.GRANTED  # no price: no authority needed, still recorded
    assert hosted.compensation.ledger().status("t-2") is GrantStatus.GRANTED
    assert hosted.compensation.approve("t-1", by="manager-1").status is GrantStatus.GRANTED
    with pytest.raises(ValidationError) as err:  # a role [authority] does not know
        hosted.compensation.grant(case_id, LOTION, by="cashier-1", key="c-1")
    assert err.value.problems[0].path == "staff.cashier-1.role"


def test_a_plugin_that_breaks_the_offer_or_staff_contract_is_named() -> None:
    class Careless:
        @hookimpl
        def loopkit_propose_offers(self, case, response, customer):  # type: ignore[no-untyped-def]
            return [LOTION]  # an Offer, not a Proposal

        @hookimpl
        def loopkit_load_staff(self, employee_id: str) -> StaffMember:
            return StaffMember(id="someone-else", role="team-lead")

    loop = Loop(load_playbook(PHARMACY), plugins=[Careless()], clock=FakeClock(NOON))
    case_id = _counter_case(loop)
    with pytest.raises(PluginError, match="loopkit_propose_offers") as err:
        loop.compensation.offers(case_id)
    assert err.value.hook == "loopkit_propose_offers"
    with pytest.raises(PluginError, match="loopkit_load_staff"):
        loop.compensation.grant(case_id, LOTION, by="clerk-17", key="k-1")
    assert len(loop.compensation.ledger()) == 0  # nothing recorded
    assert loop.case(case_id).events[-1].kind == "opened"


def test_a_reversed_grant_replayed_says_it_was_reversed(loop: Loop) -> None:
    case_id = _counter_case(loop)
    loop.compensation.grant(case_id, LOTION, by="clerk-17", key="counter-1")
    undone = loop.compensation.reverse("counter-1", key="undo-1", by="lead-2")
    assert undone.status is GrantStatus.REVERSED
    assert loop.case(case_id).events[-1].kind == "compensation_reversed"
    assert str(loop.compensation.budget("stores").used) == "0 SEK"
    again = loop.compensation.grant(case_id, LOTION, by="clerk-17", key="counter-1")
    assert again.replayed and again.status is GrantStatus.REVERSED
    assert loop.compensation.reverse("counter-1", key="undo-1", by="lead-2").replayed
    assert len(loop.compensation.ledger()) == 3  # grant, posting, reversal
