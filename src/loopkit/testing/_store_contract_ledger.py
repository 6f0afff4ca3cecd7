"""The store contract on the compensation ledger: entries kept in order and
never edited, budget totals counted as they are added, open reservations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loopkit.compensation import (
    Empowerment,
    EntryKind,
    Ledger,
    LedgerEntry,
    Money,
    Offer,
    OfferKind,
    approve,
    grant,
    period_of,
    reject,
)
from loopkit.errors import ConflictError
from loopkit.model import FollowUpCase
from loopkit.stores import Store

from ._store_samples import T0

__all__ = ["LedgerContract"]

_RULES = Empowerment.from_dict(
    {
        "staff": {
            "clerk": {"role": "clerk", "team": "stores"},
            "lead": {"role": "lead", "team": "stores"},
        },
        "authority": {"clerk": "150 SEK", "lead": "1000 SEK"},
        "approvals": {"expire_after": "3d"},
        "budgets": {"stores": {"amount": "5000 SEK", "per": "month", "team": "stores"}},
    }
)
_STORES = _RULES.budgets["stores"]


def _offer(amount: int) -> Offer:
    return Offer(kind=OfferKind.REFUND, value=Money(Decimal(amount), "SEK"))


def _case(customer: str = "c-1", id: str = "case-1") -> FollowUpCase:
    return FollowUpCase(id=id, customer_id=customer, opened_at=T0)


def _grant(ledger: Ledger, key: str, amount: int, **kw: object) -> tuple[LedgerEntry, ...]:
    case = kw.pop("case", _case())
    at = kw.pop("at", T0)
    out = grant(ledger, _RULES, key=key, case=case, by="clerk", at=at, offer=_offer(amount))  # type: ignore[arg-type]
    return out.entries


class LedgerContract:
    """What the engine relies on to grant within budget and expire requests."""

    def test_entries_are_kept_in_order_and_found_by_key_case_and_customer(
        self, store: Store
    ) -> None:
        first = _grant(Ledger(), "g-1", 75)
        second = _grant(Ledger(), "g-2", 300, case=_case("c-2", "case-2"))
        with store.transaction() as tx:
            assert list(tx.ledger_entries()) == []
            tx.add_ledger_entries(first)
            tx.add_ledger_entries(second)
        with store.transaction() as tx:
            assert list(tx.ledger_entries()) == [*first, *second]
            assert list(tx.ledger_entries(key="g-1")) == list(first)
            assert list(tx.ledger_entries(case_id="case-2")) == list(second)
            assert list(tx.ledger_entries(customer_id="c-1", key="g-2")) == []
            assert list(tx.ledger_entries(customer_id="c-2")) == list(second)

    def test_an_entry_is_never_edited_and_a_failed_transaction_adds_nothing(
        self, store: Store
    ) -> None:
        entries = _grant(Ledger(), "g-1", 75)
        with store.transaction() as tx:
            tx.add_ledger_entries(entries)
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.add_ledger_entries(_grant(Ledger(), "g-2", 50))
            tx.add_ledger_entries(entries[:1])
        start = period_of(_STORES, T0).start
        with store.transaction() as tx:
            assert list(tx.ledger_entries()) == list(entries)
            assert tx.budget_use("stores", start) == (Decimal(75), Decimal(0))

    def test_budget_totals_follow_postings_reservations_and_their_settling(
        self, store: Store
    ) -> None:
        ledger = Ledger()
        for key, amount in (("g-1", 75), ("g-2", 300), ("g-3", 400)):
            entries = _grant(ledger, key, amount)
            ledger = ledger.append(entries)
            with store.transaction() as tx:
                tx.add_ledger_entries(entries)
        period = period_of(_STORES, T0)
        in_oslo = period.start.astimezone(ZoneInfo("Europe/Oslo"))
        with store.transaction() as tx:
            assert tx.budget_use("stores", period.start) == (Decimal(75), Decimal(700))
            assert tx.budget_use("stores", in_oslo) == (Decimal(75), Decimal(700))
            assert tx.budget_use("stores", period.end) == (Decimal(0), Decimal(0))
            assert tx.budget_use("other", period.start) == (Decimal(0), Decimal(0))
        later = T0 + timedelta(hours=1)
        approved = approve(ledger, _RULES, request_id="g-2", by="lead", at=later)
        rejected = reject(ledger, _RULES, request_id="g-3", by="lead", at=later)
        with store.transaction() as tx:
            tx.add_ledger_entries(approved.entries)
            tx.add_ledger_entries(rejected.entries)
        ledger = ledger.append(approved.entries).append(rejected.entries)
        with store.transaction() as tx:
            used, reserved = tx.budget_use("stores", period.start)
        assert Money(used, "SEK") == ledger.used(_STORES, period) == Money.parse("375 SEK")
        assert Money(reserved, "SEK") == ledger.reserved(_STORES, period)
        assert reserved == 0

    def test_open_reservations_until_settled_earliest_expiry_first(self, store: Store) -> None:
        ledger = Ledger()
        for key, at in (("g-late", T0 + timedelta(days=1)), ("g-early", T0), ("g-small", T0)):
            amount = 50 if key == "g-small" else 200
            entries = _grant(ledger, key, amount, at=at)
            ledger = ledger.append(entries)
            with store.transaction() as tx:
                tx.add_ledger_entries(entries)
        with store.transaction() as tx:
            assert [e.key for e in tx.open_reservations()] == ["g-early", "g-late"]
            assert [e.key for e in tx.open_reservations(T0 + timedelta(days=3))] == ["g-early"]
            assert list(tx.open_reservations(T0 + timedelta(days=2))) == []
            assert [e.key for e in tx.open_reservations(limit=1)] == ["g-early"]
            assert all(e.kind is EntryKind.RESERVATION for e in tx.open_reservations())
        settled = approve(ledger, _RULES, request_id="g-early", by="lead", at=T0)
        with store.transaction() as tx:
            tx.add_ledger_entries(settled.entries)
        with store.transaction() as tx:
            assert [e.key for e in tx.open_reservations()] == ["g-late"]
