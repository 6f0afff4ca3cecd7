"""What the loop cost, and who was trusted to spend it: compensation cost from
ledger entries (posted amounts less reversals, per currency), per recovered
customer, and the empowerment share (grants made without an approval).

Counted from :class:`loopkit.compensation.LedgerEntry` values in one pass;
results for parts add up to the result for the whole (``a + b``), even when a
grant's posting and its reversal fall in different parts. See
``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Final

import attrs

from loopkit.compensation import EntryKind, LedgerEntry, Money
from loopkit.errors import ValidationError, describe

from .cases import _share
from .satisfaction import Estimate

__all__ = ["CompensationCost", "compensation_cost"]

_CENT: Final = Decimal("0.01")


def _read_only(amounts: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(sorted(amounts.items())))


def _add(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    out = dict(a)
    for currency, amount in b.items():
        out[currency] = out.get(currency, Decimal(0)) + amount
    return out


@attrs.frozen
class CompensationCost:
    """Compensation granted, and what it cost.

    ``grants`` counts the grants made (a ``grant`` entry: within authority or
    approved), ``without_approval`` those made on the employee's own authority,
    ``reversals`` the grants taken back; ``posted`` and ``reversed`` are the
    amounts per currency (unpriced offers, such as an apology gift with no
    value, count as grants but cost nothing here).

    >>> cost = CompensationCost(grants=4, without_approval=3,
    ...                         posted={"SEK": Decimal("600")}, reversed={"SEK": Decimal("100")})
    >>> [str(m) for m in cost.spent()], cost.empowerment_share().value
    (['500 SEK'], 75.0)
    >>> [str(m) for m in cost.per_recovered(4)]
    ['125.00 SEK']
    """

    grants: int = 0
    without_approval: int = 0
    reversals: int = 0
    posted: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_read_only)
    reversed: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_read_only)

    def spent(self) -> tuple[Money, ...]:
        """Posted less reversed, one amount per currency (sorted by currency)."""
        currencies = sorted({*self.posted, *self.reversed})
        zero = Decimal(0)
        return tuple(
            Money(self.posted.get(c, zero) - self.reversed.get(c, zero), c) for c in currencies
        )

    def per_recovered(self, recovered: int) -> tuple[Money, ...] | None:
        """What was spent per recovered customer (to the cent), or ``None`` when
        nobody was recovered: ``recovered`` is
        :attr:`RecoveryRate.recovered <loopkit.metrics.RecoveryRate.recovered>`
        over the same cases."""
        if isinstance(recovered, bool) or not isinstance(recovered, int) or recovered < 0:
            raise ValidationError("recovered", "a count of 0 or more", describe(recovered))
        if recovered == 0:
            return None
        return tuple(
            Money((m.amount / recovered).quantize(_CENT, ROUND_HALF_EVEN), m.currency)
            for m in self.spent()
        )

    def empowerment_share(self, confidence: float = 0.95) -> Estimate | None:
        """Grants made without an approval, among all grants, in percent with
        Wilson's interval; ``None`` with no grants."""
        return _share(self.without_approval, self.grants, confidence)

    def __add__(self, other: object) -> CompensationCost:
        if not isinstance(other, CompensationCost):
            return NotImplemented
        return CompensationCost(
            grants=self.grants + other.grants,
            without_approval=self.without_approval + other.without_approval,
            reversals=self.reversals + other.reversals,
            posted=_add(self.posted, other.posted),
            reversed=_add(self.reversed, other.reversed),
        )


def compensation_cost(entries: Iterable[LedgerEntry]) -> CompensationCost:
    """Count ledger entries (consumed once): every ``grant`` entry is a grant
    (without approval when it carries no approval request), every ``posting``
    adds its amount, every ``reversal`` takes its amount back. Reservations,
    releases and expiries move no money.

    >>> cost = compensation_cost([])
    >>> cost.spent(), cost.empowerment_share()
    ((), None)
    """
    grants = without = reversals = 0
    posted: dict[str, Decimal] = {}
    taken_back: dict[str, Decimal] = {}
    for entry in entries:
        if not isinstance(entry, LedgerEntry):
            raise ValidationError("entries", "LedgerEntry values", describe(entry))
        kind = entry.kind
        if kind is EntryKind.GRANT:
            grants += 1
            without += entry.approval is None
        elif kind is EntryKind.REVERSAL:
            reversals += 1
        amount = entry.amount
        if amount is None:
            continue
        if kind is EntryKind.POSTING:
            posted[amount.currency] = posted.get(amount.currency, Decimal(0)) + amount.amount
        elif kind is EntryKind.REVERSAL:
            taken_back[amount.currency] = (
                taken_back.get(amount.currency, Decimal(0)) + amount.amount
            )
    return CompensationCost(
        grants=grants,
        without_approval=without,
        reversals=reversals,
        posted=posted,
        reversed=taken_back,
    )
