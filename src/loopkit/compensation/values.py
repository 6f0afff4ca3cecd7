"""Compensation as a customer-experience team writes it: money, authority
limits, budgets and the rules that propose offers. Values only: the ledger,
approvals and budget reservations belong to the engine."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from loopkit.businesstime import parse_duration
from loopkit.errors import Problem, ValidationError, describe
from loopkit.model import Customer, Response, Touchpoint
from loopkit.model._checks import check_id, choice
from loopkit.model._reader import Reader
from loopkit.policies.conditions import Condition

__all__ = [
    "AuthorityLimits",
    "Budget",
    "BudgetPeriod",
    "CompensationRule",
    "CompensationRules",
    "CustomerCap",
    "Money",
    "Offer",
    "OfferKind",
]

_MONEY: Final = re.compile(r"^\s*(-?\d+(?:\.\d{1,4})?)\s+([A-Z]{3})\s*$")


@attrs.frozen(order=False)
class Money:
    """An amount in one currency (ISO 4217 code), exact to the ören/cent.

    >>> Money.parse("200 SEK")
    Money(amount=Decimal('200'), currency='SEK')
    >>> Money.parse("150 SEK") <= Money.parse("200 SEK")
    True
    """

    amount: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationError("Money.amount", "a finite Decimal", describe(self.amount))
        if not isinstance(self.currency, str) or not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValidationError(
                "Money.currency", "an ISO 4217 code such as 'SEK'", describe(self.currency)
            )

    @classmethod
    def parse(cls, text: object, path: str = "amount") -> Money:
        """Read ``"200 SEK"`` or ``"99.50 EUR"``."""
        match = _MONEY.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(path, 'an amount such as "200 SEK"', describe(text))
        try:
            return cls(Decimal(match.group(1)), match.group(2))
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise ValidationError(path, 'an amount such as "200 SEK"', describe(text)) from None

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError(
                "currency", f"amounts in {self.currency}", describe(other.currency)
            )

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@attrs.frozen
class AuthorityLimits:
    """How much each role may grant on its own authority; above it, an approval.

    >>> limits = AuthorityLimits.from_dict({"agent": "200 SEK"})
    >>> limits.allows("agent", Money.parse("300 SEK"))
    False
    """

    limits: Mapping[str, Money] = attrs.field(factory=dict)

    def allows(self, role: str, amount: Money) -> bool:
        """Whether ``role`` may grant ``amount`` without approval. Unknown roles
        may not, and neither may anyone grant in a currency their limit is not
        in (no exchange rates in the domain: that needs an approval).

        >>> limits = AuthorityLimits.from_dict({"agent": "200 SEK"})
        >>> sek, eur = Money.parse("200 SEK"), Money.parse("5 EUR")
        >>> limits.allows("agent", sek), limits.allows("agent", eur)
        (True, False)
        """
        limit = self.limits.get(role)
        if limit is None or limit.currency != amount.currency:
            return False
        return amount.amount <= limit.amount

    def limit_for(self, role: str) -> Money | None:
        """The most ``role`` may grant alone, or ``None`` for an unknown role."""
        return self.limits.get(role)

    @classmethod
    def from_dict(cls, data: object, path: str = "authority") -> AuthorityLimits:
        if not isinstance(data, Mapping):
            raise ValidationError(path, "a table of role = amount", describe(data))
        problems: list[Problem] = []
        limits: dict[str, Money] = {}
        for role, text in data.items():
            try:
                check_id(role, f"{path}.{role}")
                limit = Money.parse(text, f"{path}.{role}")
                if limit.amount < 0:
                    raise ValidationError(
                        f"{path}.{role}",
                        'an amount of zero or more (a role that may grant nothing has "0 SEK")',
                        describe(text),
                    )
                limits[role] = limit
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise ValidationError.of(problems)
        return cls(limits)


class BudgetPeriod(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@attrs.frozen(kw_only=True)
class Budget:
    """Money a team may spend on compensation per period.

    >>> b = Budget.from_dict("team-support", {"amount": "20000 SEK", "per": "month"}, "budgets.x")
    >>> str(b.amount), b.per.value
    ('20000 SEK', 'month')
    """

    name: str
    amount: Money
    per: BudgetPeriod

    @classmethod
    def from_dict(cls, name: str, data: object, path: str) -> Budget:
        r = Reader(data, path)
        amount = r.get("amount", Money.parse)
        per = r.get("per", choice(BudgetPeriod))
        r.finish()
        return r.build(cls, {"name": name, "amount": amount, "per": per})


class OfferKind(enum.StrEnum):
    DISCOUNT_CODE = "discount_code"
    FREE_PRODUCT = "free_product"
    UPGRADE = "upgrade"
    REFUND = "refund"
    RETURN_LABEL = "return_label"
    APOLOGY = "apology"


@attrs.frozen(kw_only=True)
class Offer:
    """What may be offered: a kind, and its value in money where it has one.

    >>> Offer.from_dict({"kind": "discount_code", "value": "300 SEK"}).value
    Money(amount=Decimal('300'), currency='SEK')
    """

    kind: OfferKind
    value: Money | None = None

    @classmethod
    def from_dict(cls, data: object, path: str = "offer") -> Offer:
        r = Reader(data, path)
        kind = r.get("kind", choice(OfferKind))
        value = r.get("value", Money.parse, default=None)
        r.finish()
        return r.build(cls, {"kind": kind, "value": value})


@attrs.frozen(kw_only=True)
class CustomerCap:
    """At most ``count`` grants from one rule per customer within ``per``."""

    count: int
    per: timedelta

    @classmethod
    def from_dict(cls, data: object, path: str) -> CustomerCap:
        r = Reader(data, path)
        count = r.get("count", int)
        per = r.get("per", parse_duration)
        r.finish()
        if count is not None and count < 1:
            r.problems.append(
                ValidationError(r.at("count"), "a count >= 1", describe(count)).problems[0]
            )
        return r.build(cls, {"count": count, "per": per})


@attrs.frozen(kw_only=True)
class CompensationRule:
    """When a response and customer match ``when`` (the policy condition
    language), propose ``offer``, at most ``max_per_customer`` times.

    >>> rule = CompensationRule.from_dict({
    ...     "name": "small-goodwill",
    ...     "when": {"field": "response.category", "equals": "detractor"},
    ...     "offer": {"kind": "discount_code", "value": "100 SEK"},
    ...     "max_per_customer": {"count": 1, "per": "90d"}}, "compensation[1]")
    >>> rule.max_per_customer.count, str(rule.offer.value)
    (1, '100 SEK')
    """

    name: str
    when: Condition
    offer: Offer
    max_per_customer: CustomerCap | None = None

    @classmethod
    def from_dict(cls, data: object, path: str) -> CompensationRule:
        r = Reader(data, path)
        kwargs = {
            "name": r.get("name", check_id),
            "when": r.get("when", lambda v, p: Condition.parse(v, p)),
            "offer": r.get("offer", Offer.from_dict),
            "max_per_customer": r.get(
                "max_per_customer", lambda v, p: CustomerCap.from_dict(v, p), default=None
            ),
        }
        r.finish()
        return r.build(cls, kwargs)


@attrs.frozen
class CompensationRules:
    """The ``[[compensation]]`` rules, in order."""

    rules: tuple[CompensationRule, ...] = ()

    def propose(
        self, response: Response, customer: Customer, *, touchpoint: Touchpoint | None = None
    ) -> tuple[CompensationRule, ...]:
        """Every rule whose condition matches, in the file's order (pure).
        ``touchpoint`` defaults to the response's.

        >>> from loopkit.testing import make_customer, make_response
        >>> rule = CompensationRule.from_dict({"name": "sorry",
        ...     "when": {"field": "response.score", "le": 6}, "offer": {"kind": "apology"}}, "c")
        >>> [r.name for r in CompensationRules((rule,)).propose(make_response(2), make_customer())]
        ['sorry']
        """
        return tuple(
            rule
            for rule in self.rules
            if rule.when.matches(response, customer, touchpoint=touchpoint)
        )

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)
