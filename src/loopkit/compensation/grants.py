"""Decisions on the ledger: grant, approve, reject, expire, reverse (pure).

Each function reads a :class:`~loopkit.compensation.Ledger` and returns the
entries to append (the engine appends them in one store transaction); none
changes anything. Time is an argument. Grants and reversals are idempotent by
key: the same key with the same content returns the earlier outcome (its
entries, which :meth:`Ledger.append` skips), with other content it raises
:class:`~loopkit.ConflictError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from loopkit._input.checks import check_id
from loopkit._input.instants import check_aware, instant_key
from loopkit._input.trusted import builder
from loopkit.errors import ConflictError, IllegalTransition, ValidationError, describe
from loopkit.model import Cap, FollowUpCase

from .ledger import (
    ApprovalRequest,
    EntryKind,
    GrantStatus,
    Ledger,
    LedgerEntry,
    OfferSource,
    SourceKind,
)
from .periods import period_of
from .proposals import Proposal, cap_reached
from .refusals import (
    BudgetExceeded,
    NotEnoughAuthority,
    OfferNotEligible,
    RequestSettled,
    SelfApproval,
)
from .staff import Empowerment, StaffMember
from .values import Budget, Money, Offer

__all__ = ["GrantOutcome", "approve", "expire", "grant", "reject", "reverse"]


@attrs.frozen(kw_only=True)
class GrantOutcome:
    """What a decision came to: the grant's ``key`` and ``status``, the
    ``entries`` to append, and the approval ``request`` where there is one.
    ``replayed`` is true when the key was seen before: ``entries`` are then
    the earlier ones (appending them changes nothing) and ``status`` is where
    that grant stands now."""

    key: str
    status: GrantStatus
    entries: tuple[LedgerEntry, ...]
    request: ApprovalRequest | None = None
    replayed: bool = False


def grant(
    ledger: Ledger,
    empowerment: Empowerment,
    *,
    key: str,
    case: FollowUpCase,
    by: str | StaffMember,
    at: datetime,
    offer: Offer | None = None,
    proposal: Proposal | None = None,
    budget: str | None = None,
) -> GrantOutcome:
    """Give ``offer`` (the employee's own goodwill) or a ``proposal`` (a rule's
    or a plugin's) to the case's customer, as employee ``by``.

    - No price (a return label, an apology): granted by anyone, recorded.
    - Within ``by``'s authority: granted at once (a grant and a posting).
    - Above it, or by someone with no known role: an approval request, its
      amount reserved in the budget until it is approved, rejected or expires.

    The budget is the one named, else the one of ``by``'s team (none: the
    grant is recorded and no budget is counted). Refused with
    :class:`BudgetExceeded` (``left``) when it would overspend the budget's
    current period, :class:`OfferNotEligible` when the source's
    ``max_per_customer`` is reached, :class:`~loopkit.IllegalTransition` on a
    closed case, and :class:`~loopkit.ValidationError` for an amount in
    another currency than the budget's or a role ``[authority]`` lacks.

    >>> from datetime import datetime, UTC
    >>> from loopkit import FollowUpCase
    >>> from loopkit.compensation import Money, OfferKind
    >>> rules = Empowerment.from_dict({"authority": {"store-clerk": "150 SEK"},
    ...     "staff": {"clerk-17": {"role": "store-clerk"}}})
    >>> at = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    >>> case = FollowUpCase(id="case-1", customer_id="c-1", opened_at=at)
    >>> lotion = Offer(kind=OfferKind.FREE_PRODUCT, value=Money.parse("75 SEK"))
    >>> out = grant(Ledger(), rules, key="g-1", case=case, by="clerk-17", at=at, offer=lotion)
    >>> out.status.value, [e.kind.value for e in out.entries]
    ('granted', ['grant', 'posting'])
    """
    check_id(key, "key")
    check_aware(at, "at")
    if (offer is None) == (proposal is None):
        raise ValidationError("offer", "an offer or a proposal (exactly one)", "both or neither")
    if proposal is not None:
        offer, source, cap = proposal.offer, proposal.source, proposal.max_per_customer
    else:
        assert offer is not None
        source, cap = OfferSource.goodwill(), None
    if not isinstance(offer, Offer):
        raise ValidationError("offer", "an Offer", describe(offer))
    member = empowerment.member(by)
    employee = by.id if isinstance(by, StaffMember) else check_id(by, "by")
    earlier = ledger.chain(key)
    if earlier:
        return _replay(ledger, key, earlier[0], case, employee, offer, source)
    if case.is_closed:
        raise IllegalTransition(case.state.value, "grant compensation on")
    limit = empowerment.limit_of(member)  # a role [authority] lacks is refused here
    if source.kind is SourceKind.RULE and source.name is not None:
        rule = next((r for r in empowerment.rules if r.name == source.name), None)
        cap = rule.max_per_customer if rule is not None else cap
    _check_cap(ledger, case.customer_id, source, cap, at)
    base = LedgerEntry(
        kind=EntryKind.GRANT,
        key=key,
        at=at,
        case_id=case.id,
        customer_id=case.customer_id,
        employee=employee,
        by=employee,
        offer=offer,
        source=source,
        team=member.team if member is not None else None,
    )
    amount = offer.value
    if amount is None:  # no price: no authority needed, no budget drawn
        return GrantOutcome(key=key, status=GrantStatus.GRANTED, entries=(base,))
    if amount.amount <= 0:
        raise ValidationError("offer.value", 'a positive amount such as "75 SEK"', str(amount))
    base = _derive(base, amount=amount)
    found = empowerment.budget_for(member, budget)
    if found is not None:
        base = _in_budget(ledger, base, found, amount, at)
    within = (
        limit is not None and limit.currency == amount.currency and amount.amount <= limit.amount
    )
    if within:
        posting = _derive(base, kind=EntryKind.POSTING)
        return GrantOutcome(key=key, status=GrantStatus.GRANTED, entries=(base, posting))
    reservation = _derive(
        base,
        kind=EntryKind.RESERVATION,
        approval=key,
        expires_at=at + empowerment.approvals.expire_after,
    )
    request = ApprovalRequest(
        id=key,
        case_id=case.id,
        customer_id=case.customer_id,
        requester=employee,
        offer=offer,
        source=source,
        amount=amount,
        budget=reservation.budget,
        requested_at=at,
        expires_at=at + empowerment.approvals.expire_after,
    )
    return GrantOutcome(
        key=key, status=GrantStatus.PENDING, entries=(reservation,), request=request
    )


_FIELDS = tuple(f.name for f in attrs.fields(LedgerEntry))
_build_entry = builder(LedgerEntry)


def _derive(entry: LedgerEntry, **changes: Any) -> LedgerEntry:
    """``attrs.evolve`` without re-running validators: every part was checked
    when the first entry of the grant was made (or is a checked argument)."""
    values = {name: getattr(entry, name) for name in _FIELDS}
    values.update(changes)
    return _build_entry(**values)


def _in_budget(
    ledger: Ledger, base: LedgerEntry, budget: Budget, amount: Money, at: datetime
) -> LedgerEntry:
    if amount.currency != budget.amount.currency:
        raise ValidationError(
            "offer.value",
            f"an amount in {budget.amount.currency}, the currency of budget {budget.name!r}",
            str(amount),
        )
    period = period_of(budget, at)
    left = ledger.left(budget, period)
    if amount.amount > left.amount:
        raise BudgetExceeded(budget.name, amount, left)
    return _derive(
        base,
        amount=amount,
        budget=budget.name,
        period_start=period.start,
        period_end=period.end,
    )


def _check_cap(
    ledger: Ledger, customer_id: str, source: OfferSource, cap: Cap | None, at: datetime
) -> None:
    why_not = cap_reached(ledger, customer_id, source, cap, at)
    if why_not is not None:
        field, _, reason = why_not.partition(": ")
        raise OfferNotEligible(str(source), field, reason)


def _replay(
    ledger: Ledger,
    key: str,
    first: LedgerEntry,
    case: FollowUpCase,
    employee: str,
    offer: Offer,
    source: OfferSource,
) -> GrantOutcome:
    same = (
        first.kind in (EntryKind.GRANT, EntryKind.RESERVATION)
        and (first.case_id, first.customer_id, first.employee)
        == (case.id, case.customer_id, employee)
        and (first.offer, first.source) == (offer, source)
    )
    if not same:
        raise ConflictError(
            f"grant key {key!r} was used before for another grant; expected the same case, "
            "employee, offer and source for the same key",
            key=key,
            kind="grant",
        )
    status = ledger.status(key)
    assert status is not None
    return GrantOutcome(
        key=key,
        status=status,
        entries=ledger.chain(key),
        request=ledger.request(key),
        replayed=True,
    )


def _open_request(
    ledger: Ledger, empowerment: Empowerment, request_id: str, by: str | StaffMember, at: datetime
) -> tuple[ApprovalRequest, str]:
    check_aware(at, "at")
    request = ledger.request(request_id)
    if request is None:
        raise ValidationError(
            "request_id", "the id of an approval request in the ledger", describe(request_id)
        )
    if request.status is not GrantStatus.PENDING:
        raise RequestSettled(request_id, request.status.value)
    if instant_key(at) >= instant_key(request.expires_at):  # type: ignore[operator]
        raise RequestSettled(request_id, GrantStatus.EXPIRED.value)
    approver = by.id if isinstance(by, StaffMember) else check_id(by, "by")
    if approver == request.requester:
        raise SelfApproval(request_id, approver)
    limit = empowerment.limit_of(empowerment.member(by))
    amount = request.amount
    if amount is not None and (
        limit is None or limit.currency != amount.currency or amount.amount > limit.amount
    ):
        raise NotEnoughAuthority(request_id, approver, amount, limit)
    return request, approver


def approve(
    ledger: Ledger,
    empowerment: Empowerment,
    *,
    request_id: str,
    by: str | StaffMember,
    at: datetime,
) -> GrantOutcome:
    """Approve a pending request: the offer is granted and the reserved amount
    posted. ``by`` must have authority for the amount and not be the requester
    (:class:`SelfApproval`, :class:`NotEnoughAuthority`); a request that is
    settled or past ``expires_at`` raises :class:`RequestSettled`."""
    request, approver = _open_request(ledger, empowerment, request_id, by, at)
    reservation = ledger.chain(request_id)[0]
    granted = _derive(reservation, kind=EntryKind.GRANT, at=at, by=approver, expires_at=None)
    posting = _derive(granted, kind=EntryKind.POSTING)
    return GrantOutcome(
        key=request_id,
        status=GrantStatus.GRANTED,
        entries=(granted, posting),
        request=attrs.evolve(
            request, status=GrantStatus.GRANTED, settled_by=approver, settled_at=at
        ),
    )


def reject(
    ledger: Ledger,
    empowerment: Empowerment,
    *,
    request_id: str,
    by: str | StaffMember,
    at: datetime,
) -> GrantOutcome:
    """Reject a pending request: its reservation is released. The same people
    may reject as may approve (enough authority, not the requester)."""
    request, approver = _open_request(ledger, empowerment, request_id, by, at)
    reservation = ledger.chain(request_id)[0]
    release = _derive(reservation, kind=EntryKind.RELEASE, at=at, by=approver, expires_at=None)
    return GrantOutcome(
        key=request_id,
        status=GrantStatus.REJECTED,
        entries=(release,),
        request=attrs.evolve(
            request, status=GrantStatus.REJECTED, settled_by=approver, settled_at=at
        ),
    )


def expire(ledger: Ledger, *, at: datetime) -> tuple[LedgerEntry, ...]:
    """Expiry entries for every pending request whose ``expires_at`` is at or
    before ``at`` (what ``tick`` appends): their reservations are released.
    Dated ``at``; recorded by no one (``by`` is ``None``)."""
    check_aware(at, "at")
    now = instant_key(at)
    out = []
    for request in ledger.pending():
        if now >= instant_key(request.expires_at):  # type: ignore[operator]
            reservation = ledger.chain(request.id)[0]
            out.append(_derive(reservation, kind=EntryKind.EXPIRY, at=at, by=None, expires_at=None))
    return tuple(out)


def reverse(
    ledger: Ledger,
    *,
    grant_key: str,
    key: str,
    by: str,
    at: datetime,
) -> GrantOutcome:
    """Take back a granted offer: a reversal entry (its own ``key``) that gives
    its amount back to the budget period it was posted in. A grant is reversed
    at most once; a pending request is rejected instead, not reversed."""
    check_id(key, "key")
    check_id(by, "by")
    check_aware(at, "at")
    earlier = ledger.chain(key)
    if earlier:
        first = earlier[0]
        if first.kind is not EntryKind.REVERSAL or first.reverses != grant_key or first.by != by:
            raise ConflictError(
                f"reversal key {key!r} was used before for something else; expected a "
                "reversal of the same grant by the same employee",
                key=key,
                kind="reversal",
            )
        return GrantOutcome(key=key, status=GrantStatus.REVERSED, entries=earlier, replayed=True)
    status = ledger.status(grant_key)
    if status is not GrantStatus.GRANTED:
        got = "no grant" if status is None else f"a grant that is {status.value}"
        raise ValidationError("grant_key", "the key of a granted offer in the ledger", got)
    chain = ledger.chain(grant_key)
    granted = next(e for e in chain if e.kind is EntryKind.GRANT)
    posting = next((e for e in chain if e.kind is EntryKind.POSTING), granted)
    reversal = _derive(posting, kind=EntryKind.REVERSAL, key=key, at=at, by=by, reverses=grant_key)
    return GrantOutcome(key=key, status=GrantStatus.REVERSED, entries=(reversal,))
