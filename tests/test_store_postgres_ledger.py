"""On PostgreSQL, workers that grant against one budget, or settle one
request, take turns: a transaction that read a budget period's totals (or one
key's ledger entries) holds a lock on them until it ends, and another
transaction's read of them waits, then sees what the first one wrote."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from loopkit.compensation import (
    Empowerment,
    EntryKind,
    Ledger,
    LedgerEntry,
    Money,
    Offer,
    OfferKind,
    approve,
    expire,
    grant,
    period_of,
)
from loopkit.model import FollowUpCase
from loopkit.stores.postgres import PostgresStore

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
RULES = Empowerment.from_dict(
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
START = period_of(RULES.budgets["stores"], T0).start


def _grant(key: str, amount: int, ledger: Ledger | None = None) -> tuple[LedgerEntry, ...]:
    offer = Offer(kind=OfferKind.REFUND, value=Money(Decimal(amount), "SEK"))
    case = FollowUpCase(id="case-1", customer_id="c-1", opened_at=T0)
    return grant(
        ledger or Ledger(), RULES, key=key, case=case, by="clerk", at=T0, offer=offer
    ).entries


def _meanwhile(read: object) -> tuple[threading.Thread, list[object]]:
    """Run ``read`` in another thread; it should be waiting after a while."""
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(read()))  # type: ignore[operator]
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the read did not wait for the lock"
    return thread, seen


def test_a_budget_read_waits_for_the_transaction_that_read_it_to_grant(
    postgres_dsn: str, postgres_schema: str
) -> None:
    first = PostgresStore(postgres_dsn, schema=postgres_schema)
    second = PostgresStore(postgres_dsn, schema=postgres_schema)

    def read() -> tuple[Decimal, Decimal]:
        with second.transaction() as tx:
            return tx.budget_use("stores", START)

    try:
        # a period with no row yet, then one with its row: both wait
        for key, amount, expected in (("g-1", 75, 75), ("g-2", 100, 175)):
            with first.transaction() as tx:
                assert tx.budget_use("stores", START) == (Decimal(expected - amount), 0)
                thread, seen = _meanwhile(read)
                tx.add_ledger_entries(_grant(key, amount))
            thread.join(10)
            assert seen == [(Decimal(expected), Decimal(0))]
    finally:
        first.close()
        second.close()


def test_one_keys_entries_are_read_by_one_transaction_at_a_time(
    postgres_dsn: str, postgres_schema: str
) -> None:
    requested = _grant("g-1", 400)  # above the clerk's authority: a reservation
    assert [e.kind for e in requested] == [EntryKind.RESERVATION]
    first = PostgresStore(postgres_dsn, schema=postgres_schema)
    second = PostgresStore(postgres_dsn, schema=postgres_schema)

    def read() -> list[LedgerEntry]:
        with second.transaction() as tx:
            return list(tx.ledger_entries(key="g-1"))

    try:
        with first.transaction() as tx:
            tx.add_ledger_entries(requested)
        with first.transaction() as tx:
            ledger = Ledger(tuple(tx.ledger_entries(key="g-1")))
            thread, seen = _meanwhile(read)  # a second approver waits
            approved = approve(ledger, RULES, request_id="g-1", by="lead", at=T0).entries
            tx.add_ledger_entries(approved)
        thread.join(10)
        assert seen == [[*requested, *approved]]  # and sees it settled
        with first.transaction() as tx:
            assert list(tx.open_reservations()) == []
            assert tx.budget_use("stores", START) == (Decimal(400), Decimal(0))
    finally:
        first.close()
        second.close()


def test_an_approval_waits_for_the_expiry_that_took_the_request(
    postgres_dsn: str, postgres_schema: str
) -> None:
    requested = _grant("g-1", 400)
    [reservation] = requested
    assert reservation.expires_at is not None
    first = PostgresStore(postgres_dsn, schema=postgres_schema)
    second = PostgresStore(postgres_dsn, schema=postgres_schema)

    def read() -> list[LedgerEntry]:  # what an approval reads first
        with second.transaction() as tx:
            return list(tx.ledger_entries(key="g-1"))

    try:
        with first.transaction() as tx:
            tx.add_ledger_entries(requested)
        with first.transaction() as tx:  # the tick's expiry: the due request first
            assert list(tx.open_reservations(reservation.expires_at, 1)) == [reservation]
            thread, seen = _meanwhile(read)
            ledger = Ledger(tuple(tx.ledger_entries(key="g-1")))
            expired = expire(ledger, at=reservation.expires_at)
            assert expired
            tx.add_ledger_entries(expired)
        thread.join(10)
        assert seen == [[*requested, *expired]]
    finally:
        first.close()
        second.close()
