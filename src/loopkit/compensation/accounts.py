"""How each ledger entry moves its budget period's money, and a ledger made of
a few entries and a store's running totals (pure).

A store keeps per budget and period what was ``used`` (posted, less
reversals) and what is ``reserved`` (held by pending approval requests),
updated with :func:`budget_effect` as entries are added; the engine decides a
grant on :func:`ledger_excerpt`: the entries the decision reads (the grant's
own chain, the customer's earlier grants) and the totals of the one budget
period it draws on, never the whole ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ledger import Ledger, LedgerEntry

__all__ = ["budget_effect", "ledger_excerpt"]

_0 = Decimal(0)


def budget_effect(entry: LedgerEntry) -> tuple[Decimal, Decimal] | None:
    """How ``entry`` changes ``(used, reserved)`` of its budget period, or
    ``None`` when it counts in no budget (no price, no budget, no period).

    A posting adds to ``used`` (and, when it settles an approval, takes its
    reservation back); a reversal takes from ``used``; a reservation adds to
    ``reserved``; a release or an expiry takes from it; a grant moves nothing
    (its posting does)."""
    if entry.amount is None or entry.budget is None or entry.period_start is None:
        return None
    amount = entry.amount.amount
    kind = entry.kind.value
    if kind == "posting":
        return (amount, -amount if entry.approval is not None else _0)
    if kind == "reversal":
        return (-amount, _0)
    if kind == "reservation":
        return (_0, amount)
    if kind in ("release", "expiry"):
        return (_0, -amount)
    return (_0, _0)


def ledger_excerpt(
    entries: Iterable[LedgerEntry],
    totals: Mapping[tuple[str, datetime], tuple[Decimal, Decimal]] = {},
) -> Ledger:
    """A :class:`~loopkit.compensation.Ledger` of ``entries`` (each id once,
    first seen kept) whose accounting for the budget periods in ``totals``
    (``(budget name, period start): (used, reserved)``) is the given totals:
    what a store counted over all its entries, not only these.

    >>> from loopkit.compensation import Budget, Money, period_of
    >>> stores = Budget(name="stores", amount=Money.parse("5000 SEK"), per="month")
    >>> period = period_of(stores, datetime(2026, 11, 20, tzinfo=UTC))
    >>> excerpt = ledger_excerpt((), {("stores", period.start): (Decimal(4800), Decimal(150))})
    >>> str(excerpt.left(stores, period))
    '50 SEK'
    """
    from .ledger import Ledger

    unique: dict[str, LedgerEntry] = {}
    for entry in entries:
        unique.setdefault(entry.id, entry)
    ledger = Ledger(tuple(unique.values()))
    for (name, start), (used, reserved) in (totals or {}).items():
        ledger._totals[(name, start.astimezone(UTC))] = [used, reserved]
    return ledger
