"""Compensation fitted to the customer: what they bought and what they are worth.

A loopkit plugin. Installed, it is found through the ``loopkit`` entry-point
group (``Loop(..., load_entry_points=True)``); the engine calls
``loopkit_propose_offers`` when the offers for a case are worked out.

- The touchpoint says what was bought: ``attributes["product"]`` (a few words,
  such as ``"body lotion"``) and ``attributes["price"]`` (``"75 SEK"``).
- The customer's ``value`` is what they spend in a year, in the same currency.

It proposes the product again, free, when it is known and priced; and a
discount code sized to the customer's value: 5% of a year's spending for a
valuable customer (at most 500), else half the price of what they bought.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from loopkit import (
    Customer,
    FollowUpCase,
    Money,
    Offer,
    OfferKind,
    OfferSource,
    Proposal,
    Response,
    hookimpl,
)

SOURCE = OfferSource.plugin("fitted-offers")
VALUABLE = Decimal(10_000)  # a year's spending that makes a customer valuable
MOST = Decimal(500)


@hookimpl
def loopkit_propose_offers(
    case: FollowUpCase, response: Response | None, customer: Customer
) -> Iterable[Proposal]:
    touchpoint = response.touchpoint if response is not None else None
    if touchpoint is None:
        return []
    product = touchpoint.attributes.get("product")
    price = _money(touchpoint.attributes.get("price"))
    if not isinstance(product, str) or price is None:
        return []  # nothing to fit the offer to: leave it to the playbook's rules
    valuable = customer.value is not None and customer.value >= VALUABLE
    out = [
        Proposal(
            source=SOURCE,
            offer=Offer(kind=OfferKind.FREE_PRODUCT, value=price, what=product[:200]),
            why="the product the customer bought, again, free",
            rank=0 if valuable else 1,
        )
    ]
    if valuable:
        assert customer.value is not None
        amount = min(customer.value * Decimal("0.05"), MOST)
        why = "5% of a valuable customer's year of spending"
    else:
        amount = price.amount / 2
        why = "half the price of what the customer bought"
    amount = amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if amount > 0:
        out.append(
            Proposal(
                source=SOURCE,
                offer=Offer(kind=OfferKind.DISCOUNT_CODE, value=Money(amount, price.currency)),
                why=why,
                rank=0 if valuable else 1,
            )
        )
    return out


def _money(value: object) -> Money | None:
    try:
        money = Money.parse(value)
    except ValueError:
        return None
    return money if money.amount > 0 else None
