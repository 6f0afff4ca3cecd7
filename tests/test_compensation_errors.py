"""Every bad input to the compensation core gets a typed error naming the field."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from loopkit import (
    Cap,
    CaseState,
    ConflictError,
    FollowUpCase,
    IllegalTransition,
    LoopkitError,
    ValidationError,
    load_playbook,
)
from loopkit.compensation import (
    ApprovalError,
    BudgetExceeded,
    Empowerment,
    Ledger,
    Money,
    NotEnoughAuthority,
    Offer,
    OfferKind,
    OfferNotEligible,
    OfferSource,
    Proposal,
    RequestSettled,
    SelfApproval,
    StaffMember,
    approve,
    expire,
    grant,
    reject,
    reverse,
)

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
CASE = FollowUpCase(id="case-1", customer_id="c-1", opened_at=NOON)
EMPOWERMENT = Empowerment.from_dict(
    {
        "staff": {
            "clerk-17": {"role": "store-clerk", "team": "stores"},
            "lead-1": {"role": "team-lead", "team": "stores"},
            "lead-2": {"role": "team-lead", "team": "stores"},
        },
        "authority": {"store-clerk": "150 SEK", "team-lead": "1000 SEK"},
        "approvals": {"expire_after": "3d"},
        "budgets": {"stores": {"amount": "5000 SEK", "per": "month", "team": "stores"}},
    }
)


def _offer(text: str) -> Offer:
    return Offer(kind=OfferKind.REFUND, value=Money.parse(text))


def _pending(amount: str = "300 SEK", *, by: str = "clerk-17") -> Ledger:
    out = grant(Ledger(), EMPOWERMENT, key="req-1", case=CASE, by=by, at=NOON, offer=_offer(amount))
    return Ledger().append(out.entries)


# -- amounts -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0 SEK", "-75 SEK"])
def test_a_zero_or_negative_offer_is_refused_where_it_is_written(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        Offer.from_dict({"kind": "refund", "value": text}, "compensation[0].offer")
    assert info.value.path == "compensation[0].offer.value"
    assert "a positive amount" in str(info.value)
    with pytest.raises(ValidationError) as info:
        Offer(kind=OfferKind.REFUND, value=Money(Decimal(text.split()[0]), "SEK"))
    assert info.value.path == "Offer.value"


def test_a_zero_budget_is_refused_with_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        Empowerment.from_dict({"budgets": {"stores": {"amount": "0 SEK", "per": "month"}}})
    assert info.value.path == "budgets.stores.amount"


def test_an_amount_in_another_currency_than_the_budgets_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        grant(
            Ledger(),
            EMPOWERMENT,
            key="k",
            case=CASE,
            by="clerk-17",
            at=NOON,
            offer=_offer("10 EUR"),
        )
    assert info.value.path == "offer.value"
    assert "an amount in SEK, the currency of budget 'stores'" in str(info.value)
    assert info.value.got == "10 EUR"


def test_a_grant_above_what_is_left_says_how_much_is_left() -> None:
    small = Empowerment.from_dict(
        {
            "staff": {"clerk-17": {"role": "store-clerk", "team": "stores"}},
            "authority": {"store-clerk": "150 SEK"},
            "budgets": {"stores": {"amount": "100 SEK", "per": "week", "team": "stores"}},
        }
    )
    with pytest.raises(BudgetExceeded) as info:
        grant(Ledger(), small, key="k", case=CASE, by="clerk-17", at=NOON, offer=_offer("120 SEK"))
    assert isinstance(info.value, LoopkitError)
    assert info.value.left == Money.parse("100 SEK")
    assert info.value.budget == "stores" and info.value.field == "offer.value"
    assert "only 100 SEK left" in str(info.value)
    # A request above authority reserves, so it is refused the same way.
    with pytest.raises(BudgetExceeded):
        grant(Ledger(), small, key="k", case=CASE, by="clerk-17", at=NOON, offer=_offer("300 SEK"))


# -- roles ---------------------------------------------------------------------


def test_a_staff_role_that_authority_does_not_know_is_refused_when_the_file_loads() -> None:
    document = {
        "version": 1,
        "policies": [
            {
                "name": "p",
                "when": {"field": "response.score", "le": 6},
                "channels": ["email"],
                "owner": "team:cx",
            }
        ],
        "authority": {"store-clerk": "150 SEK"},
        "staff": {"clerk-17": {"role": "store-clerc", "team": "stores"}},
    }
    with pytest.raises(ValidationError) as info:
        load_playbook(document)
    assert info.value.path == "staff.clerk-17.role"
    assert "did you mean 'store-clerk'?" in str(info.value)


def test_a_role_from_the_hr_system_that_authority_does_not_know_is_refused() -> None:
    wizard = StaffMember(id="emp-9", role="wizard", team="stores")
    with pytest.raises(ValidationError) as info:  # before any budget is looked at
        grant(
            Ledger(), EMPOWERMENT, key="k", case=CASE, by=wizard, at=NOON, offer=_offer("9000 SEK")
        )
    assert info.value.path == "staff.emp-9.role"
    with pytest.raises(ValidationError) as info:
        grant(Ledger(), EMPOWERMENT, key="k", case=CASE, by=wizard, at=NOON, offer=_offer("10 SEK"))
    assert info.value.path == "staff.emp-9.role"


def test_an_unknown_employee_has_no_authority_of_their_own() -> None:
    out = grant(
        Ledger(), EMPOWERMENT, key="k", case=CASE, by="temp-1", at=NOON, offer=_offer("1 SEK")
    )
    assert out.request is not None and out.request.requester == "temp-1"
    with pytest.raises(NotEnoughAuthority) as info:
        approve(Ledger().append(out.entries), EMPOWERMENT, request_id="k", by="temp-2", at=NOON)
    assert info.value.limit is None and "no authority of their own" in str(info.value)


# -- approvals -----------------------------------------------------------------


def test_no_one_approves_or_rejects_their_own_request() -> None:
    ledger = _pending("1200 SEK", by="lead-1")  # above a lead's own 1000 SEK
    for decide in (approve, reject):
        with pytest.raises(SelfApproval) as info:
            decide(ledger, EMPOWERMENT, request_id="req-1", by="lead-1", at=NOON)
        assert isinstance(info.value, ApprovalError)
        assert info.value.field == "by" and info.value.employee == "lead-1"


def test_an_approver_needs_enough_authority() -> None:
    ledger = _pending("1200 SEK")
    with pytest.raises(NotEnoughAuthority) as info:
        approve(ledger, EMPOWERMENT, request_id="req-1", by="lead-2", at=NOON)
    assert info.value.amount == Money.parse("1200 SEK")
    assert info.value.limit == Money.parse("1000 SEK")


def test_an_expired_request_cannot_be_approved_before_or_after_tick() -> None:
    ledger = _pending()
    late = NOON + timedelta(days=3)
    with pytest.raises(RequestSettled) as info:
        approve(ledger, EMPOWERMENT, request_id="req-1", by="lead-1", at=late)
    assert info.value.status == "expired" and info.value.field == "request_id"
    ticked = ledger.append(expire(ledger, at=late))
    with pytest.raises(RequestSettled) as info:
        approve(ticked, EMPOWERMENT, request_id="req-1", by="lead-1", at=NOON)
    assert info.value.status == "expired"


@pytest.mark.parametrize(("first", "status"), [(approve, "granted"), (reject, "rejected")])
def test_a_settled_request_cannot_be_approved_or_rejected_again(first, status) -> None:  # type: ignore[no-untyped-def]
    ledger = _pending()
    ledger = ledger.append(
        first(ledger, EMPOWERMENT, request_id="req-1", by="lead-1", at=NOON).entries
    )
    for decide in (approve, reject):
        with pytest.raises(RequestSettled) as info:
            decide(ledger, EMPOWERMENT, request_id="req-1", by="lead-2", at=NOON)
        assert info.value.status == status


def test_an_unknown_request_is_refused_with_its_field() -> None:
    with pytest.raises(ValidationError) as info:
        approve(Ledger(), EMPOWERMENT, request_id="nope", by="lead-1", at=NOON)
    assert info.value.path == "request_id"


# -- cases, keys, caps, reversals -------------------------------------------------


def test_no_grant_on_a_closed_case() -> None:
    closed = FollowUpCase(id="case-9", customer_id="c-1", opened_at=NOON, state=CaseState.CLOSED)
    with pytest.raises(IllegalTransition) as info:
        grant(
            Ledger(),
            EMPOWERMENT,
            key="k",
            case=closed,
            by="clerk-17",
            at=NOON,
            offer=_offer("5 SEK"),
        )
    assert info.value.state == "closed"
    assert "grant compensation on a case that is closed" in str(info.value)


def test_a_key_used_again_for_another_grant_is_a_conflict_and_a_replay_is_one_grant() -> None:
    first = grant(
        Ledger(), EMPOWERMENT, key="k", case=CASE, by="clerk-17", at=NOON, offer=_offer("50 SEK")
    )
    ledger = Ledger().append(first.entries)
    again = grant(
        ledger,
        EMPOWERMENT,
        key="k",
        case=CASE,
        by="clerk-17",
        at=NOON + timedelta(minutes=1),
        offer=_offer("50 SEK"),
    )
    assert again.replayed and again.entries == first.entries
    assert ledger.append(again.entries) is ledger
    with pytest.raises(ConflictError) as info:
        grant(
            ledger, EMPOWERMENT, key="k", case=CASE, by="clerk-17", at=NOON, offer=_offer("60 SEK")
        )
    assert (info.value.key, info.value.kind) == ("k", "grant")
    assert "expected the same case, employee, offer and source" in str(info.value)


def test_a_reversal_key_used_for_something_else_is_a_conflict_naming_the_key() -> None:
    first = grant(
        Ledger(), EMPOWERMENT, key="g", case=CASE, by="clerk-17", at=NOON, offer=_offer("50 SEK")
    )
    second = grant(
        Ledger().append(first.entries),
        EMPOWERMENT,
        key="g2",
        case=CASE,
        by="clerk-17",
        at=NOON,
        offer=_offer("20 SEK"),
    )
    ledger = Ledger().append(first.entries).append(second.entries)
    back = reverse(ledger, grant_key="g", key="r", by="lead-1", at=NOON)
    ledger = ledger.append(back.entries)
    with pytest.raises(ConflictError) as info:
        reverse(ledger, grant_key="g2", key="r", by="lead-1", at=NOON)
    assert (info.value.key, info.value.kind) == ("r", "reversal")
    assert "expected a reversal of the same grant" in str(info.value)


def test_a_ledger_entry_id_twice_is_a_conflict_naming_the_entry() -> None:
    out = grant(
        Ledger(), EMPOWERMENT, key="g", case=CASE, by="clerk-17", at=NOON, offer=_offer("50 SEK")
    )
    entry = out.entries[0]
    with pytest.raises(ConflictError) as info:
        Ledger(entries=(entry, entry))
    assert (info.value.key, info.value.kind) == (entry.id, "ledger entry")
    changed = attrs.evolve(entry, at=NOON + timedelta(minutes=1))
    with pytest.raises(ConflictError) as info:
        Ledger().append([entry]).append([changed])
    assert (info.value.key, info.value.kind) == (entry.id, "ledger entry")
    assert "expected the same content for the same id" in str(info.value)


def test_offer_and_proposal_are_exclusive() -> None:
    with pytest.raises(ValidationError) as info:
        grant(Ledger(), EMPOWERMENT, key="k", case=CASE, by="clerk-17", at=NOON)
    assert info.value.path == "offer"


def test_a_plugin_offer_past_its_cap_is_not_granted() -> None:
    fitted = Proposal(
        source=OfferSource.plugin("fit-to-basket"),
        offer=_offer("40 SEK"),
        why="a tenth of the basket",
        max_per_customer=Cap(count=1, per=timedelta(days=30)),
    )
    out = grant(Ledger(), EMPOWERMENT, key="a", case=CASE, by="clerk-17", at=NOON, proposal=fitted)
    ledger = Ledger().append(out.entries)
    with pytest.raises(OfferNotEligible) as info:
        grant(ledger, EMPOWERMENT, key="b", case=CASE, by="clerk-17", at=NOON, proposal=fitted)
    assert info.value.field == "max_per_customer" and info.value.source == "plugin:fit-to-basket"


def test_a_grant_is_reversed_once_and_only_a_grant() -> None:
    out = grant(
        Ledger(), EMPOWERMENT, key="g", case=CASE, by="clerk-17", at=NOON, offer=_offer("50 SEK")
    )
    ledger = Ledger().append(out.entries)
    back = reverse(ledger, grant_key="g", key="r", by="lead-1", at=NOON)
    ledger = ledger.append(back.entries)
    with pytest.raises(ValidationError) as info:
        reverse(ledger, grant_key="g", key="r2", by="lead-1", at=NOON)
    assert info.value.path == "grant_key" and "reversed" in str(info.value)
    assert reverse(ledger, grant_key="g", key="r", by="lead-1", at=NOON).replayed
    with pytest.raises(ValidationError):
        reverse(_pending(), grant_key="req-1", key="r3", by="lead-1", at=NOON)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        expire(Ledger(), at=datetime(2026, 11, 20, 12, 0))
    assert info.value.path == "at"


@pytest.mark.parametrize(
    "err",
    [
        BudgetExceeded("stores", Money.parse("5 SEK"), Money.parse("1 SEK")),
        SelfApproval("req-1", "lead-1"),
        RequestSettled("req-1", "expired"),
        NotEnoughAuthority("req-1", "x", Money.parse("5 SEK"), None),
        OfferNotEligible("rule:r", "max_per_customer", "1 of 1"),
    ],
)
def test_errors_survive_pickling(err: LoopkitError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
