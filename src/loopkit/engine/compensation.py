"""The compensation desk of a loop (``loop.compensation``): the offers fit for
a case, grants within authority or on approval, budgets and the ledger.

Decisions come from the pure core (:mod:`loopkit.compensation`); the desk
resolves who is who (``loopkit_load_staff``, then the playbook's ``[staff]``),
asks ``loopkit_propose_offers`` plugins outside any transaction, and writes
each decision's ledger entries and its event on the case in one store
transaction, in which the budget is checked too.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

import attrs

from loopkit._input.checks import check_id
from loopkit.compensation import (
    ApprovalRequest,
    Empowerment,
    GrantOutcome,
    Ledger,
    Money,
    Offer,
    Period,
    Proposal,
    Proposals,
    StaffMember,
    approve,
    grant,
    ledger_excerpt,
    period_of,
    propose_offers,
    reject,
    reverse,
)
from loopkit.errors import UnknownCustomer, ValidationError, describe, suggest
from loopkit.model import Customer

from . import _grants
from ._context import Context, retrying

__all__ = ["BudgetUse", "CompensationDesk"]


@attrs.frozen(kw_only=True)
class BudgetUse:
    """Where a budget stands in one period: its ``amount``, what was ``used``
    (posted, less reversals), what pending approval requests have
    ``reserved``, and what is ``left`` for new grants."""

    budget: str
    period: Period
    amount: Money
    used: Money
    reserved: Money
    left: Money


class CompensationDesk:
    """``loop.compensation``: who may give what, on their own authority, from
    which budget, on the record.

    >>> from datetime import datetime, UTC
    >>> from loopkit import Loop, load_playbook
    >>> from loopkit.testing import FakeClock
    >>> loop = Loop(load_playbook("examples/policies.toml"), clock=FakeClock(),
    ...             check_channels=False)
    >>> use = loop.compensation.budget("stores", at=datetime(2026, 11, 20, tzinfo=UTC))
    >>> str(use.left), use.period.start.isoformat()
    ('5000 SEK', '2026-11-01T00:00:00+01:00')
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @cached_property
    def empowerment(self) -> Empowerment:
        """The playbook's staff, authority, budgets, approval rules and offer rules."""
        return self._ctx.playbook.empowerment

    def _member(self, employee: object, field: str = "by") -> str | StaffMember:
        """The employee as the host's HR system knows them (``loopkit_load_staff``),
        else their id (the playbook's ``[staff]`` table answers)."""
        check_id(employee, field)
        assert isinstance(employee, str)
        found = self._ctx.hooks.load_staff(employee)
        return found if found is not None else employee

    # -- offers ------------------------------------------------------------------

    def offers(
        self, case_id: str, *, customer: Customer | None = None, at: datetime | None = None
    ) -> Proposals:
        """The offers fit for the case's customer now, best first, with those
        dropped and why: the playbook's ``[[compensation]]`` rules that match
        the case's last response (or signal) and customer, and the proposals
        of ``loopkit_propose_offers`` plugins, less any whose
        ``max_per_customer`` is reached by what the customer was actually
        granted (or has pending). They travel with the case: when they differ
        from what its log last showed, an ``offers_proposed`` event lists them
        (on a case that is not closed). The employee may grant one of them
        with :meth:`grant`, or their own goodwill instead.

        ``customer`` defaults to the one a ``loopkit_load_customer`` plugin
        finds, else the store's copy from when the case was opened."""
        ctx = self._ctx
        at = ctx.now(at)
        with ctx.store.transaction() as tx:
            case = ctx.load(tx, case_id)
            response, touchpoint = _grants.last_answer(tx, case)
            stored = tx.get_customer(case.customer_id)
        if customer is None:
            customer = ctx.hooks.load_customer(case.customer_id) or stored
        if customer is None:
            raise UnknownCustomer(
                f"customer {case.customer_id!r}: expected a customer passed to offers() or "
                "found by a loopkit_load_customer plugin or in the store, found none",
                customer_id=case.customer_id,
            )
        customer = ctx.customer(case.customer_id, customer)
        from_plugins = ctx.hooks.propose_offers(case, response, customer)
        with ctx.store.transaction() as tx:
            case = ctx.load(tx, case_id)
            history = ledger_excerpt(tx.ledger_entries(customer_id=case.customer_id))
            proposals = propose_offers(
                self.empowerment.rules,
                response,
                customer,
                ledger=history,
                at=at,
                touchpoint=touchpoint,
                plugin_proposals=from_plugins,
            )
            shown = None if case.is_closed else _grants.with_offers(case, proposals, at)
            if shown is not None:
                tx.save_case(shown)
        return proposals

    # -- grants and approvals ----------------------------------------------------

    def grant(
        self,
        case_id: str,
        offer: Offer | Proposal,
        *,
        by: str,
        key: str,
        at: datetime | None = None,
        budget: str | None = None,
    ) -> GrantOutcome:
        """Give ``offer`` to the case's customer, as employee ``by``: a
        :class:`~loopkit.compensation.Proposal` from :meth:`offers`, or an
        :class:`~loopkit.compensation.Offer` of the employee's own goodwill.

        Within ``by``'s authority it is granted at once (status ``granted``);
        above it, or by an employee nobody knows, it becomes an approval
        request (status ``pending``) whose amount is reserved in the budget
        until someone with enough authority approves or rejects it, or
        ``tick`` expires it. An offer without a price needs no authority and
        is still recorded. The ledger entries and an event on the case are
        written in one transaction, in which the budget is checked: a grant
        that would overspend the budget's period raises
        :class:`~loopkit.compensation.BudgetExceeded` (with ``left``), also
        with many workers on one store.

        Idempotent by ``key``: the same grant again returns the first outcome
        (``replayed=True``), another with the same key raises
        :class:`~loopkit.ConflictError`. A closed case raises
        :class:`~loopkit.IllegalTransition`; an offer past its
        ``max_per_customer``, :class:`~loopkit.compensation.OfferNotEligible`;
        an amount in another currency than the budget's, an unknown role or
        budget, a :class:`~loopkit.ValidationError` naming the field."""
        ctx = self._ctx
        at = ctx.now(at)
        check_id(key, "key")
        check_id(case_id, "case_id")
        proposal: Proposal | None = None
        if isinstance(offer, Proposal):
            proposal, given = offer, None
            _grants.check_rule_proposal(self.empowerment, proposal)
        elif isinstance(offer, Offer):
            given = offer
        else:
            raise ValidationError("offer", "an Offer or a Proposal", describe(offer))
        member = self._member(by)

        def decide() -> GrantOutcome:
            with ctx.store.transaction() as tx:
                case = ctx.load(tx, case_id)
                ledger = _grants.grant_excerpt(
                    tx,
                    self.empowerment,
                    key=key,
                    case=case,
                    member=member,
                    proposal=proposal,
                    budget=budget,
                    at=at,
                )
                outcome = grant(
                    ledger,
                    self.empowerment,
                    key=key,
                    case=case,
                    by=member,
                    at=at,
                    offer=given,
                    proposal=proposal,
                    budget=budget,
                )
                _grants.record(tx, outcome, by=by, at=at, case=case)
            return outcome

        # A server store may roll the transaction back when another worker
        # wrote the same rows at once: it is decided again, from what is stored.
        return retrying(decide)

    def approve(self, request_id: str, *, by: str, at: datetime | None = None) -> GrantOutcome:
        """Approve a pending request: the offer is granted, its reserved amount
        posted. ``by`` needs authority for the amount and may not be the
        requester (:class:`~loopkit.compensation.SelfApproval`,
        :class:`~loopkit.compensation.NotEnoughAuthority`); a request already
        settled or expired raises :class:`~loopkit.compensation.RequestSettled`."""
        return self._settle(request_id, by, at, approve)

    def reject(self, request_id: str, *, by: str, at: datetime | None = None) -> GrantOutcome:
        """Reject a pending request: its reservation is released. The same
        people may reject as may approve."""
        return self._settle(request_id, by, at, reject)

    def _settle(
        self, request_id: str, by: str, at: datetime | None, decide: object
    ) -> GrantOutcome:
        ctx = self._ctx
        at = ctx.now(at)
        check_id(request_id, "request_id")
        approver = self._member(by)

        def settle() -> GrantOutcome:
            with ctx.store.transaction() as tx:
                ledger = ledger_excerpt(tx.ledger_entries(key=request_id))
                outcome: GrantOutcome = decide(  # type: ignore[operator]
                    ledger, self.empowerment, request_id=request_id, by=approver, at=at
                )
                _grants.record(tx, outcome, by=by, at=at)
            return outcome

        return retrying(settle)

    def reverse(
        self, grant_key: str, *, key: str, by: str, at: datetime | None = None
    ) -> GrantOutcome:
        """Take back a granted offer (a correction is a new entry, never an
        edit): a reversal under its own ``key`` gives the amount back to the
        budget period it was posted in. Idempotent by ``key``."""
        ctx = self._ctx
        at = ctx.now(at)
        check_id(grant_key, "grant_key")
        check_id(by, "by")

        def take_back() -> GrantOutcome:
            with ctx.store.transaction() as tx:
                chain = list(tx.ledger_entries(key=grant_key))
                around = tx.ledger_entries(case_id=chain[0].case_id) if chain else ()
                ledger = ledger_excerpt([*chain, *around, *tx.ledger_entries(key=key)])
                outcome = reverse(ledger, grant_key=grant_key, key=key, by=by, at=at)
                _grants.record(tx, outcome, by=by, at=at)
            return outcome

        return retrying(take_back)

    # -- reading -----------------------------------------------------------------

    def requests(self) -> tuple[ApprovalRequest, ...]:
        """The approval requests still pending, the one lapsing first first."""
        with self._ctx.store.transaction() as tx:
            open_ = tx.open_reservations()
        out = []
        for entry in open_:
            found = Ledger((entry,)).request(entry.key)
            assert found is not None
            out.append(found)
        return tuple(out)

    def ledger(self, *, case_id: str | None = None, customer_id: str | None = None) -> Ledger:
        """The ledger's entries (all, one case's or one customer's) with the
        accounting folded from them."""
        with self._ctx.store.transaction() as tx:
            return Ledger(tuple(tx.ledger_entries(case_id=case_id, customer_id=customer_id)))

    def budget(self, name: str, *, at: datetime | None = None) -> BudgetUse:
        """Where budget ``name`` stands in the period ``at`` (default: now) falls in."""
        budgets = self.empowerment.budgets
        found = budgets.get(name) if isinstance(name, str) else None
        if found is None:
            near = suggest(name, budgets) if isinstance(name, str) else None
            raise ValidationError(
                "budget",
                f"one of the budgets {sorted(budgets)}",
                describe(name),
                hint=f"did you mean {near!r}?" if near else None,
            )
        period = period_of(found, self._ctx.now(at))
        with self._ctx.store.transaction() as tx:
            used, reserved = tx.budget_use(name, period.start)
        currency = found.amount.currency
        return BudgetUse(
            budget=name,
            period=period,
            amount=found.amount,
            used=Money(used, currency),
            reserved=Money(reserved, currency),
            left=Money(found.amount.amount - used - reserved, currency),
        )

    def expire_due(self, now: datetime) -> int:
        """Expire every approval request unanswered by ``now`` (each in its own
        transaction), releasing its reservation; how many. ``tick`` calls it."""
        count = 0
        while True:
            with self._ctx.store.transaction() as tx:
                if not _grants.expire_one(tx, now):
                    return count
            count += 1
