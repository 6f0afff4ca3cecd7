"""Offer proposals: what the person who calls a customer sees on the case —
the playbook rules' offers and plugins' offers that fit this customer, ranked,
with the ineligible ones dropped and the reason kept (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from loopkit._input.checks import optional
from loopkit._input.instants import check_aware
from loopkit.businesstime import format_duration
from loopkit.errors import PluginError, ValidationError, describe
from loopkit.model import Cap, Customer, Response, Touchpoint

from .ledger import Ledger, OfferSource, SourceKind
from .values import CompensationRules, Offer, check_customer_cap

__all__ = ["Dropped", "Proposal", "Proposals", "propose_offers"]


@attrs.frozen(kw_only=True)
class Proposal:
    """An offer proposed for a case: by whom (a rule or a plugin), what, and
    why (a short explanation without personal data). ``rank`` orders
    proposals (lower first); ``max_per_customer`` caps how often the customer
    may be granted offers from this source.

    A plugin's ``loopkit_propose_offers`` returns these, e.g.
    ``Proposal(source=OfferSource.plugin("fit-to-basket"), offer=..., why="...")``.
    """

    source: OfferSource
    offer: Offer
    why: str = ""
    rank: int = 0
    max_per_customer: Cap | None = attrs.field(default=None, validator=optional(check_customer_cap))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, to travel with the case."""
        out: dict[str, Any] = {
            "source": str(self.source),
            "offer": self.offer.to_dict(),
            "why": self.why,
            "rank": self.rank,
        }
        if self.max_per_customer is not None:
            out["max_per_customer"] = {
                "count": self.max_per_customer.count,
                "per": format_duration(self.max_per_customer.per),
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        """Read what :meth:`to_dict` wrote."""
        cap = data.get("max_per_customer")
        return cls(
            source=OfferSource.parse(data["source"]),
            offer=Offer.from_dict(data["offer"]),
            why=data.get("why", ""),
            rank=data.get("rank", 0),
            max_per_customer=None if cap is None else Cap.from_dict(cap, "cap"),
        )


@attrs.frozen(kw_only=True)
class Dropped:
    """A proposal left out, and why (for explanations)."""

    source: OfferSource
    offer: Offer
    why: str


@attrs.frozen(kw_only=True)
class Proposals:
    """The offers to show, best first, and those dropped as ineligible."""

    offers: tuple[Proposal, ...] = ()
    dropped: tuple[Dropped, ...] = ()

    def __iter__(self) -> Iterator[Proposal]:
        return iter(self.offers)

    def __len__(self) -> int:
        return len(self.offers)

    def __getitem__(self, index: int) -> Proposal:
        return self.offers[index]

    @property
    def sources(self) -> tuple[str, ...]:
        """The offers' sources as text (``"rule:campaign-gift"``), in order."""
        return tuple(str(p.source) for p in self.offers)


def propose_offers(
    rules: CompensationRules,
    response: Response | None,
    customer: Customer,
    *,
    ledger: Ledger | None = None,
    at: datetime | None = None,
    touchpoint: Touchpoint | None = None,
    plugin_proposals: Iterable[Proposal] = (),
) -> Proposals:
    """The offers fit for this customer now, ranked (pure).

    A rule is proposed when its ``when`` matches (the policy condition
    language: region, segment, value, what was bought…); a plugin's proposal
    (from ``loopkit_propose_offers``) as given. Any proposal is dropped when
    its ``max_per_customer`` is reached: offers from the same source granted
    to this customer (not reversed), or pending approval, within ``per``
    before ``at`` (default: the response's answer time). The rest are ranked
    by ``rank`` (lower first), then priced offers by value (highest first),
    then offers with no price, then in the order given (rules first).

    >>> from loopkit.compensation import CompensationRule
    >>> from loopkit.testing import make_customer, make_response
    >>> gift = CompensationRule.from_dict({"name": "campaign-gift",
    ...     "when": {"field": "customer.region", "in": ["dalarna", "markaryd"]},
    ...     "offer": {"kind": "free_product", "value": "75 SEK"}}, "compensation[0]")
    >>> rules = CompensationRules((gift,))
    >>> propose_offers(rules, make_response(2), make_customer(region="dalarna")).sources
    ('rule:campaign-gift',)
    >>> found = propose_offers(rules, make_response(2), make_customer(region="stockholm"))
    >>> found.sources, found.dropped[0].why
    ((), "when: customer.region = 'stockholm'")
    """
    ledger = ledger if ledger is not None else Ledger()
    if at is None:
        if response is None:
            raise ValidationError("at", "the instant to propose at (no response was given)")
        at = response.answered_at
    check_aware(at, "at")
    candidates: list[Proposal] = []
    dropped: list[Dropped] = []
    for rule in rules:
        source = OfferSource.rule(rule.name)
        trace = rule.when.explain(response, customer, touchpoint=touchpoint, now=at)
        if not trace.matched:
            dropped.append(Dropped(source=source, offer=rule.offer, why=f"when: {trace.saw}"))
            continue
        candidates.append(
            Proposal(
                source=source,
                offer=rule.offer,
                why=f"rule {rule.name!r}: {rule.when}",
                rank=rule.rank,
                max_per_customer=rule.max_per_customer,
            )
        )
    for i, proposal in enumerate(plugin_proposals):
        if not isinstance(proposal, Proposal) or proposal.source.kind is not SourceKind.PLUGIN:
            raise PluginError(
                f"loopkit_propose_offers[{i}]: expected a Proposal with a plugin source, "
                f"got {describe(proposal)}",
                hook="loopkit_propose_offers",
            )
        candidates.append(proposal)
    kept: list[tuple[int, Proposal]] = []
    for index, proposal in enumerate(candidates):
        why_not = cap_reached(ledger, customer.id, proposal.source, proposal.max_per_customer, at)
        if why_not is not None:
            dropped.append(Dropped(source=proposal.source, offer=proposal.offer, why=why_not))
        else:
            kept.append((index, proposal))
    kept.sort(key=_rank)
    return Proposals(offers=tuple(p for _, p in kept), dropped=tuple(dropped))


def _rank(item: tuple[int, Proposal]) -> tuple[int, int, Decimal, int]:
    index, proposal = item
    value = proposal.offer.value
    if value is None:
        return (proposal.rank, 1, Decimal(0), index)
    return (proposal.rank, 0, -value.amount, index)


def cap_reached(
    ledger: Ledger,
    customer_id: str,
    source: OfferSource,
    cap: Cap | None,
    at: datetime,
) -> str | None:
    """Why ``cap`` forbids another offer from ``source`` now, or ``None``."""
    if cap is None:
        return None
    count = ledger.grants_to(customer_id, source, since=at - cap.per + _TICK)
    if count < cap.count:
        return None
    return (
        f"max_per_customer: {count} of {cap.count} already granted or pending "
        f"within {format_duration(cap.per)}"
    )


_TICK = timedelta(microseconds=1)
