"""Systemic issues in the engine: root causes counted at close, the host told,
and every affected customer told once when the issue is fixed (seeds 000, 004).

The counting and the lifecycle are pure (:mod:`loopkit.outcomes.issues`); this
module keeps the issues in the store, calls ``loopkit_issue_opened`` and
``loopkit_issue_grew`` after the close is committed, and queues the "it's
fixed" messages through the outbox like every other message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from loopkit._input.checks import check_id
from loopkit._input.choices import check_choice
from loopkit.errors import BusinessTimeError, ValidationError, describe, suggest
from loopkit.model import Customer, FollowUpCase
from loopkit.outcomes import IssueEvent, IssueState, SystemicIssue, acknowledge, fix, note
from loopkit.stores import StoreTransaction

from ._context import Context
from ._outbox import Outbox
from ._resurvey import channel_for

__all__ = ["IssueBoard"]

FIXED_PURPOSE = "issue_fixed"
"""The purpose of the message that tells a customer their problem is fixed."""


class IssueBoard:
    """The organisation's systemic issues: ``loop.issues``.

    A root cause given when cases close (by the employee, or by a
    ``loopkit_tag_root_causes`` plugin) is counted per cause. When a cause
    reaches the playbook's ``[issues] open_when`` threshold (5 cases within 7
    days by default), its issue opens and ``loopkit_issue_opened`` hands it to
    the host once; while it keeps growing the host hears again through
    ``loopkit_issue_grew`` each time its count doubles. An issue is then
    acknowledged and marked fixed; fixing it tells every affected customer
    once, on their channel, outside their quiet hours.

    >>> from loopkit import Loop, load_playbook
    >>> from loopkit.testing import FakeClock
    >>> loop = Loop(load_playbook("examples/policies.toml"), clock=FakeClock(),
    ...             check_channels=False)
    >>> loop.issues.list()
    []
    """

    def __init__(self, ctx: Context, outbox: Outbox) -> None:
        self._ctx = ctx
        self._outbox = outbox

    # -- reading -----------------------------------------------------------------

    def list(self, state: IssueState | str | None = None) -> Sequence[SystemicIssue]:
        """Every counted cause (``watched`` ones are below the threshold), or
        those in one ``state``; oldest first."""
        wanted = None if state is None else check_choice(IssueState, state, "state")
        with self._ctx.store.transaction() as tx:
            return [i for i in tx.issues() if wanted is None or i.state is wanted]

    def get(self, cause: str) -> SystemicIssue:
        """The issue of a root cause; a :class:`~loopkit.ValidationError` at
        ``cause`` when no case was closed with it."""
        with self._ctx.store.transaction() as tx:
            return self._known(tx, cause)

    def _known(self, tx: StoreTransaction, cause: object) -> SystemicIssue:
        issue = tx.get_issue(cause) if isinstance(cause, str) else None
        if issue is None:
            known = [i.cause for i in tx.issues()]
            near = suggest(cause, known) if isinstance(cause, str) else None
            raise ValidationError(
                "cause",
                f"the root cause of a known issue {sorted(known)}",
                describe(cause),
                hint=f"did you mean {near!r}?" if near else None,
            )
        return issue

    # -- the lifecycle -----------------------------------------------------------

    def acknowledge(self, cause: str, *, by: str) -> SystemicIssue:
        """The organisation has seen the open issue and works on it (``by``:
        who, an employee id, kept on the issue). Not open (watched, already
        acknowledged or fixed): :class:`~loopkit.ConflictError`."""
        check_id(by, "by")
        with self._ctx.store.transaction() as tx:
            issue = acknowledge({cause: self._known(tx, cause)}, cause, by=by)
            tx.save_issue(issue)
        return issue

    def mark_fixed(self, cause: str, *, by: str, at: datetime | None = None) -> SystemicIssue:
        """The cause is fixed (``by``: who, an employee id, kept on the
        issue): queue one "it's fixed" message (purpose ``issue_fixed``, data
        ``{"cause": ...}``) to each affected customer
        not told before, on the channel of their case when they consented to
        it (else their first consented channel), at the first moment outside
        their quiet hours (and inside their preferred window). A customer who
        consented to no channel has opted out and is not written to;
        ``[issues] tell_customers_when_fixed = false`` tells nobody. Fixing an
        issue that is not open or acknowledged (fixed twice, or still below
        the threshold) is a :class:`~loopkit.ConflictError`; a cause with no
        issue a :class:`~loopkit.ValidationError` at ``cause``.

        If the cause recurs after its fix, the issue opens again; fixing it then
        tells only the customers not told the first time."""
        check_id(by, "by")
        now = self._ctx.now(at)
        rules = self._ctx.playbook.issues
        with self._ctx.store.transaction() as tx:
            issue = self._known(tx, cause)
            fix({cause: issue}, cause, at=now, rules=rules)  # refused before any I/O
        # The customers' current details from the host, outside the transaction.
        wanted = issue.customers - issue.notified if rules.tell_customers_when_fixed else ()
        loaded = {c: self._ctx.hooks.load_customer(c) for c in sorted(wanted)}
        with self._ctx.store.transaction() as tx:
            event = fix({cause: self._known(tx, cause)}, cause, at=now, rules=rules, by=by)
            told = self._tell(tx, event, loaded, now)
            fixed = attrs.evolve(event.issue, notified=event.issue.notified | told)
            tx.save_issue(fixed)
        return fixed

    def _tell(
        self,
        tx: StoreTransaction,
        event: IssueEvent,
        loaded: Mapping[str, Customer | None],
        now: datetime,
    ) -> frozenset[str]:
        latest: dict[str, FollowUpCase] = {}
        for case_id in event.issue.cases:
            case = tx.get_case(case_id)
            if case is not None and case.opened_at >= getattr(
                latest.get(case.customer_id), "opened_at", case.opened_at
            ):
                latest[case.customer_id] = case
        told: set[str] = set()
        for customer_id in sorted(event.customers):
            customer = loaded.get(customer_id) or tx.get_customer(customer_id)
            case = latest.get(customer_id)
            channel = None if customer is None else channel_for(case, customer)
            if customer is None or case is None or channel is None:
                continue  # unknown to us, or opted out of being written to
            try:
                not_before = self._ctx.playbook.contact.window_for(customer).next_allowed(now)
            except BusinessTimeError:  # quiet hours all day: never contacted
                continue
            self._outbox.enqueue(
                tx,
                case,
                customer,
                purpose=FIXED_PURPOSE,
                channel=channel,
                now=now,
                not_before=not_before,
                data={"cause": event.issue.cause},
            )
            told.add(customer_id)
        return frozenset(told)

    # -- at close (the engine's part) --------------------------------------------

    def count(self, tx: StoreTransaction, case: FollowUpCase) -> tuple[IssueEvent, ...]:
        """Count a case that just closed into the issues of its root causes,
        inside the close's transaction; the events are for :meth:`announce`."""
        if not case.root_causes:
            return ()
        current = {c: i for c in case.root_causes if (i := tx.get_issue(c)) is not None}
        issues, events = note(current, case, rules=self._ctx.playbook.issues)
        for cause in sorted(case.root_causes):
            if issues[cause] != current.get(cause):
                tx.save_issue(issues[cause])
        return events

    def announce(self, events: Sequence[IssueEvent]) -> None:
        """Tell the host, after the close is committed."""
        for event in events:
            if event.kind == "opened":
                self._ctx.hooks.issue_opened(event.issue)
            elif event.kind == "grown":
                self._ctx.hooks.issue_grew(event.issue)
