"""Why a grant, an approval or a reversal was refused: typed errors that carry
what the caller needs (the amount left, the request's status) as attributes.
Messages name ids, roles and amounts, never personal data."""

from __future__ import annotations

from loopkit.errors import LoopkitError

from .values import Money

__all__ = [
    "ApprovalError",
    "BudgetExceeded",
    "NotEnoughAuthority",
    "OfferNotEligible",
    "RequestSettled",
    "SelfApproval",
]


class BudgetExceeded(LoopkitError):
    """A grant or reservation would overspend its budget in this period.

    ``left`` is what the budget still has (its amount, less what was posted
    and what is reserved); ``requested`` is what was asked for.

    >>> err = BudgetExceeded("stores", Money.parse("300 SEK"), Money.parse("120 SEK"))
    >>> str(err)
    "budget 'stores': 300 SEK requested, only 120 SEK left in this period"
    >>> err.left
    Money(amount=Decimal('120'), currency='SEK')
    """

    field = "offer.value"

    def __init__(self, budget: str, requested: Money, left: Money) -> None:
        self.budget = budget
        self.requested = requested
        self.left = left
        super().__init__(
            f"budget {budget!r}: {requested} requested, only {left} left in this period"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.budget, self.requested, self.left))


class OfferNotEligible(LoopkitError):
    """An offer may not be granted to this customer now (for example its
    rule's ``max_per_customer`` is reached). ``source`` names the rule or
    plugin; ``field`` the setting that refused it."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        super().__init__(f"{source}: {field}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.field, self.reason))


class ApprovalError(LoopkitError):
    """An approval request could not be approved or rejected. ``request_id``
    names the request and ``field`` the argument that was wrong."""

    field = "by"

    def __init__(self, request_id: str, message: str) -> None:
        self.request_id = request_id
        super().__init__(f"approval request {request_id!r}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


class SelfApproval(ApprovalError):
    """No one approves (or rejects) their own request.

    >>> str(SelfApproval("g-1", "clerk-17"))
    "approval request 'g-1': by: expected someone other than the requester, got 'clerk-17'"
    """

    def __init__(self, request_id: str, employee: str) -> None:
        self.employee = employee
        super().__init__(
            request_id, f"by: expected someone other than the requester, got {employee!r}"
        )


class NotEnoughAuthority(ApprovalError):
    """The approver's own authority is below the amount (or they have none)."""

    def __init__(self, request_id: str, employee: str, amount: Money, limit: Money | None) -> None:
        self.employee = employee
        self.amount = amount
        self.limit = limit
        has = "no authority of their own" if limit is None else f"authority up to {limit}"
        super().__init__(
            request_id,
            f"by: expected someone who may grant {amount}, got {employee!r} with {has}",
        )


class RequestSettled(ApprovalError):
    """The request is no longer open: it was approved, rejected or has expired.
    ``status`` says which."""

    field = "request_id"

    def __init__(self, request_id: str, status: str) -> None:
        self.status = status
        super().__init__(request_id, f"request_id: expected an open request, got one {status}")


def _rebuild(
    cls: type[ApprovalError], args: tuple[object, ...], state: dict[str, object]
) -> object:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err
