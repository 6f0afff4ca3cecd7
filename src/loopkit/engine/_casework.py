"""Working a case."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from loopkit._input.checks import check_id, check_slug
from loopkit._input.choices import check_choice
from loopkit.errors import ConflictError
from loopkit.model import CaseOrigin, Customer, FollowUpCase, MessageStatus
from loopkit.policies.casework import cancel_follow_ups
from loopkit.stores import StoreTransaction

from ._context import Context
from .personal_data import PersonalData
from .results import ContactOutcome

if TYPE_CHECKING:
    from ._resurvey import Resurveys
    from .issues import IssueBoard


class Casework:
    """Working a case: contact, steps, notes, close, reopen, employee-opened cases."""

    def __init__(
        self,
        ctx: Context,
        resurveys: Resurveys,
        issues: IssueBoard,
        personal_data: PersonalData,
    ) -> None:
        self.ctx = ctx
        self.resurveys = resurveys
        self.issues = issues
        self.personal_data = personal_data

    def record_contact(
        self,
        case_id: str,
        outcome: ContactOutcome | str,
        *,
        by: str,
        at: datetime | None = None,
        channel: str | None = None,
        note: str | None = None,
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.record_contact`."""
        result = check_choice(ContactOutcome, outcome, "outcome")
        if channel is not None:  # kept in the case's log: a name, never an address
            check_slug(channel, "channel", "a channel name such as 'phone'")
        now = self.ctx.now(at)
        details = {"outcome": result.value, "channel": channel}
        with self.ctx.store.transaction() as tx:
            case = self.ctx.load(tx, case_id)
            if result is ContactOutcome.REACHED:
                case = case.apply("contact", at=now, by=by, note=note, details=details)
                tx.delete_timers(case.id)
                case = self._cancel_follow_ups(tx, case, now, "customer_reached")
            else:
                if not case.is_active:
                    case.apply("contact", at=now, by=by)  # raises IllegalTransition
                case = case.record("contact_attempt", at=now, by=by, note=note, details=details)
            tx.save_case(case)
        return case

    def _cancel_follow_ups(
        self, tx: StoreTransaction, case: FollowUpCase, now: datetime, why: str
    ) -> FollowUpCase:
        """Cancel the case's unsent follow-ups (:func:`cancel_follow_ups`)."""
        pending = tx.messages(case.id, MessageStatus.PENDING)
        case, cancelled = cancel_follow_ups(case, pending, at=now, why=why)
        for message in cancelled:
            tx.save_message(message)
        return case

    def start(self, case_id: str, *, by: str, at: datetime | None = None) -> FollowUpCase:
        """See :meth:`loopkit.Loop.start`."""
        return self._change(case_id, lambda c, now: c.start(at=now, by=by), at)

    def complete_step(
        self,
        case_id: str,
        step: str,
        *,
        by: str,
        at: datetime | None = None,
        note: str | None = None,
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.complete_step`."""
        return self._change(
            case_id, lambda c, now: c.complete_step(step, at=now, by=by, note=note), at
        )

    def add_note(
        self, case_id: str, note: str, *, by: str, at: datetime | None = None
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.add_note`."""
        return self._change(case_id, lambda c, now: c.add_note(note, at=now, by=by), at)

    def reopen(
        self, case_id: str, *, by: str, at: datetime | None = None, note: str | None = None
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.reopen`."""
        now = self.ctx.now(at)
        with self.ctx.store.transaction() as tx:
            case = self.ctx.load(tx, case_id)
            other = (
                None if case.topic is None else tx.find_unclosed_case(case.customer_id, case.topic)
            )
            if other is not None and other.id != case.id:
                raise ConflictError(
                    f"case {case.id!r} cannot be reopened: expected no other unclosed case on "
                    f"topic {case.topic!r} for its customer, found {other.id!r}",
                    key=other.id,
                    kind="case",
                )
            case = case.reopen(at=now, by=by, note=note)
            tx.save_case(case)
        return case

    def _change(
        self,
        case_id: str,
        change: Callable[[FollowUpCase, datetime], FollowUpCase],
        at: datetime | None,
    ) -> FollowUpCase:
        now = self.ctx.now(at)
        with self.ctx.store.transaction() as tx:
            case = change(self.ctx.load(tx, case_id), now)
            tx.save_case(case)
        return case

    def close(
        self,
        case_id: str,
        *,
        resolved: bool,
        by: str,
        root_causes: Iterable[str] = (),
        at: datetime | None = None,
        note: str | None = None,
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.close`."""
        now = self.ctx.now(at)
        tags = {check_slug(t, "root_causes", "a root-cause tag") for t in root_causes}
        with self.ctx.store.transaction() as tx:
            case = self.ctx.load(tx, case_id)
            response = None
            if case.response_ids:
                record = tx.get_ingest(case.response_ids[-1])
                response = None if record is None else record.response
        tags |= self.ctx.hooks.root_causes(response, case)
        with self.ctx.store.transaction() as tx:
            case = self.ctx.load(tx, case_id)
            if case.is_active:
                move = case.resolve if resolved else case.fail
                case = move(at=now, by=by)
            elif resolved != (case.state.value == "resolved"):
                case.apply("resolve" if resolved else "fail", at=now, by=by)  # raises
            case = self._cancel_follow_ups(tx, case, now, "case_closed")
            case = case.close(at=now, by=by, note=note, root_causes=tags)
            tx.save_case(case)
            tx.delete_timers(case.id)
            self.personal_data.keep_until(tx, case, now)
            if tx.survey_stop(case.customer_id) == case.id:
                tx.clear_survey_stop(case.customer_id)
            issues = self.issues.count(tx, case)
            case = self.resurveys.closed(tx, case, now)
        self.ctx.hooks.case_closed(case)
        self.issues.announce(issues)
        return case

    def open_case(
        self,
        customer_id: str,
        *,
        by: str,
        policy: str | None = None,
        topic: str | None = None,
        customer: Customer | None = None,
        owner: str | None = None,
        channel: str | None = None,
        required_steps: Iterable[str] = (),
        note: str | None = None,
        at: datetime | None = None,
    ) -> FollowUpCase:
        """See :meth:`loopkit.Loop.open_case`."""
        check_id(customer_id, "customer_id")
        now = self.ctx.now(at)
        if customer is not None:
            self.ctx.customer(customer_id, customer)
        steps = frozenset(required_steps)
        ruled = None if policy is None else self.ctx.policy(policy)
        if ruled is not None:
            steps |= ruled.require
        with self.ctx.store.transaction() as tx:
            case = FollowUpCase.open(
                id=f"case-{tx.next_number('case')}",
                customer_id=customer_id,
                at=now,
                by=by,
                note=note,
                origin=CaseOrigin.EMPLOYEE,
                policy=None if ruled is None else ruled.name,
                topic=topic or ("employee" if ruled is None else ruled.topic),
                owner=owner or by,
                channel=channel,
                required_steps=steps,
            )
            tx.save_case(case)
            if customer is not None:
                tx.save_customer(customer)
            self.resurveys.case_opened(tx, customer_id, now)
        self.ctx.hooks.case_opened(case)
        return case
