"""Compensation as a customer-experience team writes it: money, authority
limits, budgets and the rules that propose offers. Values only: the ledger and
the decisions on it are in :mod:`loopkit.compensation.ledger` and
:mod:`loopkit.compensation.grants`."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import attrs

from loopkit._input.checks import (
    check_id,
    check_int,
    check_text,
    check_timezone,
    optional,
    validator,
)
from loopkit._input.choices import check_choice, choice
from loopkit._input.reader import Reader
from loopkit.conditions import Condition
from loopkit.errors import Problem, ValidationError, describe
from loopkit.model import Cap, Customer, Response, Touchpoint

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .ledger import Ledger
    from .proposals import Proposal, Proposals

__all__ = [
    "AuthorityLimits",
    "Budget",
    "BudgetPeriod",
    "CompensationRule",
    "CompensationRules",
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

    def allows(self, role: str | None, amount: Money | None) -> bool:
        """Whether ``role`` may grant ``amount`` without approval. Unknown roles
        may not, and neither may anyone grant in a currency their limit is not
        in (no exchange rates in the domain: that needs an approval).

        An offer with no price (``amount`` is ``None``: a prepaid return label,
        an apology) draws on no one's authority: anyone may give it, even an
        employee with no known role, and it counts as nothing against a limit
        or a budget (it is still recorded where grants are recorded).

        >>> limits = AuthorityLimits.from_dict({"agent": "200 SEK"})
        >>> sek, eur = Money.parse("200 SEK"), Money.parse("5 EUR")
        >>> limits.allows("agent", sek), limits.allows("agent", eur)
        (True, False)
        >>> limits.allows("agent", None), limits.allows(None, None)
        (True, True)
        """
        if amount is None:
            return True
        if not isinstance(amount, Money):
            raise ValidationError("amount", "a Money value or None", describe(amount))
        if role is None:
            return False
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


def _to_period(value: object) -> BudgetPeriod:
    return check_choice(BudgetPeriod, value, "Budget.per")


@attrs.frozen(kw_only=True)
class Budget:
    """Money a team may spend on compensation per period, counted in periods of
    the budget's own time zone (a month starts at local midnight on the 1st).

    ``team`` is the team whose employees' grants draw on it (``None``: only
    grants that name the budget explicitly); ``timezone`` is an IANA name,
    ``"UTC"`` when not given.

    >>> b = Budget.from_dict("stores", {"amount": "5000 SEK", "per": "month",
    ...     "team": "stores", "timezone": "Europe/Stockholm"}, "budgets.stores")
    >>> str(b.amount), b.per.value, b.team, b.timezone
    ('5000 SEK', 'month', 'stores', 'Europe/Stockholm')
    """

    name: str
    amount: Money
    per: BudgetPeriod = attrs.field(converter=_to_period)
    team: str | None = None
    timezone: str = attrs.field(default="UTC", validator=validator(check_timezone))

    @classmethod
    def from_dict(cls, name: str, data: object, path: str) -> Budget:
        r = Reader(data, path)
        amount = r.get("amount", _positive_money)
        per = r.get("per", choice(BudgetPeriod))
        team = r.get("team", check_id, default=None)
        timezone = r.get("timezone", check_timezone, default="UTC")
        r.finish()
        return r.build(
            cls,
            {"name": name, "amount": amount, "per": per, "team": team, "timezone": timezone},
        )


def _positive_money(value: object, path: str) -> Money:
    money = Money.parse(value, path)
    if money.amount <= 0:
        raise ValidationError(path, 'a positive amount such as "75 SEK"', describe(value))
    return money


class OfferKind(enum.StrEnum):
    DISCOUNT_CODE = "discount_code"
    FREE_PRODUCT = "free_product"
    UPGRADE = "upgrade"
    REFUND = "refund"
    RETURN_LABEL = "return_label"
    APOLOGY = "apology"


@attrs.frozen(kw_only=True)
class Offer:
    """What may be offered: a kind, its value in money where it has one, and
    ``what`` it is in a few words (``"body lotion"``; not personal data).

    An offer's value is positive; an offer with no value (a return label, an
    apology) draws on no one's authority and no budget.

    >>> Offer.from_dict({"kind": "discount_code", "value": "300 SEK"}).value
    Money(amount=Decimal('300'), currency='SEK')
    >>> Offer.from_dict({"kind": "free_product", "value": "75 SEK", "what": "body lotion"}).what
    'body lotion'
    """

    kind: OfferKind
    value: Money | None = None
    what: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.value is not None and (not isinstance(self.value, Money) or self.value.amount <= 0):
            raise ValidationError(
                "Offer.value", 'a positive amount such as "75 SEK"', describe(self.value)
            )
        if self.what is not None:
            _check_what(self.what, "Offer.what")

    @classmethod
    def from_dict(cls, data: object, path: str = "offer") -> Offer:
        r = Reader(data, path)
        kind = r.get("kind", choice(OfferKind))
        value = r.get("value", _positive_money, default=None)
        what = r.get("what", _check_what, default=None)
        r.finish()
        return r.build(cls, {"kind": kind, "value": value, "what": what})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {"kind": self.kind.value}
        if self.value is not None:
            out["value"] = str(self.value)
        if self.what is not None:
            out["what"] = self.what
        return out


def _check_what(value: object, path: str) -> str:
    text = check_text(value, path, max_length=200, personal=False)
    if not text.strip():
        raise ValidationError(path, "a short non-empty description", describe(value))
    return text


def check_customer_cap(value: object, path: str) -> Cap:
    """A :class:`~loopkit.Cap` without ``when``: the rule's own ``when`` says
    whom its offer is for, and the cap counts that rule's grants to one customer."""
    if not isinstance(value, Cap):
        raise ValidationError(path, "a Cap", describe(value))
    if value.when is not None:
        raise ValidationError(
            path, "a cap without `when` (the rule's own `when` says whom it is for)", "one"
        )
    return value


@attrs.frozen(kw_only=True)
class CompensationRule:
    """When a response and customer match ``when`` (the policy condition
    language), propose ``offer``, at most ``max_per_customer`` times.
    ``rank`` orders proposals: lower ranks are shown first (default 0).

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
    max_per_customer: Cap | None = attrs.field(default=None, validator=optional(check_customer_cap))
    rank: int = 0

    @classmethod
    def from_dict(cls, data: object, path: str) -> CompensationRule:
        r = Reader(data, path)
        kwargs = {
            "name": r.get("name", check_id),
            "when": r.get("when", lambda v, p: Condition.parse(v, p)),
            "offer": r.get("offer", Offer.from_dict),
            "max_per_customer": r.get(
                "max_per_customer", lambda v, p: Cap.from_dict(v, p), default=None
            ),
            "rank": r.get("rank", check_int, default=0),
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

    def proposals(
        self,
        response: Response | None,
        customer: Customer,
        *,
        ledger: Ledger | None = None,
        at: datetime | None = None,
        touchpoint: Touchpoint | None = None,
        plugin_proposals: Iterable[Proposal] = (),
    ) -> Proposals:
        """The eligible offers, ranked, as :class:`~loopkit.compensation.Proposals`:
        :func:`~loopkit.compensation.propose_offers` with these rules."""
        from .proposals import propose_offers

        return propose_offers(
            self,
            response,
            customer,
            ledger=ledger,
            at=at,
            touchpoint=touchpoint,
            plugin_proposals=plugin_proposals,
        )

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)
