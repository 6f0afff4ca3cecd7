"""The re-survey and the recovery it measures (seed 001: did we win them back?).

When a case whose policy says ``resurvey = { after = "14d", window = "14d" }``
closes, the engine keeps one timer for it, ``resurvey:<case id>``: first due
``after`` the close (invite the customer to answer again), then ``after +
window`` after it (the answer window ends). The customer's closed case is also
*watched*: their next answer is linked to it and the case records its outcome
(:func:`loopkit.outcomes.recovery_outcome`) in a ``recovery_outcome`` event,
which :attr:`FollowUpCase.recovery <loopkit.FollowUpCase.recovery>` reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from loopkit.errors import BusinessTimeError
from loopkit.model import Category, Customer, FollowUpCase, Response
from loopkit.outcomes import recovery_outcome
from loopkit.policies import PRESENT_CHANNELS, ContactHistory
from loopkit.policies.casework import SYSTEM
from loopkit.stores import LaterTimer, StoreTransaction, Timer, TimerKind

from ._context import Context, build_timer, plus
from ._outbox import Outbox

if TYPE_CHECKING:
    from loopkit.policies import Resurvey

    from ._survey import SurveyFlow

RESURVEY_KINDS: Final = frozenset({TimerKind.RESURVEY, TimerKind.ANSWER_WINDOW})
_PREFIX: Final = "resurvey:"
_TICK: Final = timedelta(microseconds=1)


def timer_id(case_id: str) -> str:
    """The id of a closed case's re-survey timer."""
    return _PREFIX + case_id


def channel_for(
    case: FollowUpCase | None, customer: Customer, prefer: tuple[str, ...] = ()
) -> str | None:
    """The channel to write to a customer on about a case: with ``prefer``, the
    first of those they consented to; else the case's own when they consented
    to it (and it is not a face-to-face one), else the first channel they
    consented to. ``None`` when there is none (for no ``prefer``: they consented
    to no channel, they opted out of being written to)."""
    consented = customer.contact.consented_channels
    if prefer:
        return next((c for c in prefer if c in consented and c not in PRESENT_CHANNELS), None)
    if case is not None and case.channel in consented and case.channel not in PRESENT_CHANNELS:
        return case.channel
    return next((c for c in consented if c not in PRESENT_CHANNELS), None)


def closed_at(case: FollowUpCase) -> datetime:
    """When the case was last closed."""
    return next(e.at for e in reversed(case.events) if e.kind == "close")


class Resurveys:
    """Schedules re-surveys at close, sends them when due, links later answers."""

    def __init__(self, ctx: Context, outbox: Outbox, survey: SurveyFlow) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.survey = survey
        self.enabled = any(p.resurvey is not None for p in ctx.playbook.policies)
        """Whether any policy asks for a re-survey: else the hot paths skip all this."""

    def _rules(self, case: FollowUpCase) -> Resurvey | None:
        if case.policy is None:
            return None
        try:
            return self.ctx.playbook.policies[case.policy].resurvey
        except KeyError:  # the policy left the playbook since
            return None

    def _channels(self, case: FollowUpCase) -> tuple[str, ...]:
        rules = self._rules(case)
        return () if rules is None else rules.channels

    def _before(self, tx: StoreTransaction, case: FollowUpCase) -> Category:
        """The category the case was opened for: its first answer's; a case with
        no answer (a complaint at the counter, a signal, a broken promise) was
        opened for an unhappy customer, a detractor."""
        if case.response_ids:
            record = tx.get_ingest(case.response_ids[0])
            if record is not None and record.response is not None:
                return record.response.category
        return Category.DETRACTOR

    def _record(
        self, tx: StoreTransaction, case: FollowUpCase, kind: str, now: datetime, **details: str
    ) -> FollowUpCase:
        case = case.record(kind, at=max(now, case.events[-1].at), by=SYSTEM, details=details)
        tx.save_case(case)
        return case

    # -- at close ----------------------------------------------------------------

    def _schedule(
        self, tx: StoreTransaction, case: FollowUpCase, due: datetime, ends: datetime
    ) -> None:
        window = LaterTimer(kind=TimerKind.ANSWER_WINDOW, due_at=ends)
        tx.add_timer(
            build_timer(
                id=timer_id(case.id),
                case_id=case.id,
                kind=TimerKind.RESURVEY,
                due_at=due,
                level=0,
                to=None,
                later=(window,),
            )
        )

    def closed(self, tx: StoreTransaction, case: FollowUpCase, now: datetime) -> FollowUpCase:
        """Schedule the re-survey of a case that just closed (if its policy asks)."""
        rules = self._rules(case) if self.enabled else None
        if rules is None:
            return case
        due, ends = plus(now, rules.after), plus(now, rules.answer_by)
        self._schedule(tx, case, due, ends)
        tx.set_recovery_watch(case.customer_id, case.id)
        return self._record(
            tx, case, "resurvey_scheduled", now, due_at=due.isoformat(), answer_by=ends.isoformat()
        )

    # -- a new case, a new answer ------------------------------------------------

    def _pending(self, tx: StoreTransaction, case_id: str) -> Timer | None:
        return next((t for t in tx.timers(case_id) if t.id == timer_id(case_id)), None)

    def _cancel(
        self, tx: StoreTransaction, case: FollowUpCase, timer: Timer, why: str, now: datetime
    ) -> FollowUpCase:
        """Cancel an unsent re-survey (its answer window goes on)."""
        tx.delete_timer(timer.id)
        following = timer.following()
        if following is not None:
            tx.add_timer(following)
        return self._record(tx, case, "resurvey_cancelled", now, reason=why)

    def case_opened(self, tx: StoreTransaction, customer_id: str, now: datetime) -> None:
        """A new case opened for the customer: an unsent re-survey is cancelled."""
        if not self.enabled:
            return
        watched = tx.recovery_watch(customer_id)
        timer = None if watched is None else self._pending(tx, watched)
        if watched is None or timer is None or timer.kind is not TimerKind.RESURVEY:
            return
        case = tx.get_case(watched)
        if case is not None:
            self._cancel(tx, case, timer, "new_case_opened", now)

    def answered(self, tx: StoreTransaction, response: Response, now: datetime) -> None:
        """Link a new answer to the customer's watched closed case, and record
        the case's outcome (recovered or not; "no answer" when it came too late)."""
        watched = tx.recovery_watch(response.customer_id) if self.enabled else None
        case = None if watched is None else tx.get_case(watched)
        if case is None or not case.is_closed:
            return  # reopened: the next close watches again
        rules = self._rules(case)
        closed = closed_at(case)
        if rules is None or response.answered_at < closed:
            return  # an answer from before the close says nothing about it
        timer = self._pending(tx, case.id)
        ends = None if timer is None else (timer.later[-1] if timer.later else timer).due_at
        window = rules.answer_by if ends is None else max(ends - closed, _TICK)
        outcome = recovery_outcome(
            self._before(tx, case), closed, window=window, later=response, now=now
        )
        tx.clear_recovery_watch(response.customer_id)
        if timer is not None and timer.kind is TimerKind.RESURVEY:
            case = self._cancel(tx, case, timer, "answered", now)
        if timer is not None:
            tx.delete_timer(timer.id)
        if outcome is not None:
            self._record(
                tx,
                case,
                "recovery_outcome",
                now,
                outcome=outcome.value,
                response_id=response.id,
                category=response.category.value,
            )

    # -- when due ----------------------------------------------------------------

    def fire(self, timer: Timer, now: datetime, counts: dict[str, int]) -> None:
        """Do what a re-survey timer says: invite, or end the answer window. The
        customer comes from a ``loopkit_load_customer`` plugin (outside the
        transaction), else from the store's copy."""
        with self.ctx.store.transaction() as tx:
            case = tx.get_case(timer.case_id)
        customer = None if case is None else self.ctx.hooks.load_customer(case.customer_id)
        with self.ctx.store.transaction() as tx:
            current = self._pending(tx, timer.case_id)
            if current is None or (current.kind, current.due_at) != (timer.kind, timer.due_at):
                return  # done by another worker meanwhile, or rescheduled
            tx.delete_timer(timer.id)
            case = tx.get_case(timer.case_id)
            if case is None or not case.is_closed:  # reopened: its next close schedules anew
                if case is not None and timer.kind is TimerKind.RESURVEY:
                    self._record(tx, case, "resurvey_cancelled", now, reason="case_reopened")
                return
            if self._rules(case) is None:  # the policy no longer asks: stop watching
                if tx.recovery_watch(case.customer_id) == case.id:
                    tx.clear_recovery_watch(case.customer_id)
                if timer.kind is TimerKind.RESURVEY:
                    self._record(tx, case, "resurvey_cancelled", now, reason="policy_changed")
            elif timer.kind is TimerKind.RESURVEY:
                customer = customer or tx.get_customer(case.customer_id)
                if self._invite(tx, case, timer, customer, now):
                    counts["resurveys"] += 1
            elif tx.recovery_watch(case.customer_id) == case.id:
                tx.clear_recovery_watch(case.customer_id)
                closed = closed_at(case)
                outcome = recovery_outcome(
                    self._before(tx, case),
                    closed,
                    window=max(timer.due_at - closed, _TICK),
                    now=max(now, timer.due_at + _TICK),
                )
                if outcome is not None:
                    self._record(tx, case, "recovery_outcome", now, outcome=outcome.value)
                    counts["no_answers"] += 1

    def _invite(
        self,
        tx: StoreTransaction,
        case: FollowUpCase,
        timer: Timer,
        customer: Customer | None,
        now: datetime,
    ) -> bool:
        """Queue the re-survey invitation, unless a rule says no (then the case
        records why and its answer window goes on): another case is open, the
        customer is unknown, has no channel we may write on, is never to be
        contacted, opted out of surveys or is stopped by the survey-flow guard.
        In the survey cooldown it waits for the cooldown to end (the answer
        window moves with it)."""
        why, channel, not_before = None, None, now
        if any(not c.is_closed for c in tx.cases(case.customer_id)):
            why = "new_case_opened"
        elif customer is None:
            why = "unknown_customer"
        elif (channel := channel_for(case, customer, self._channels(case))) is None:
            why = "no_channel"
        else:
            try:
                not_before = self.ctx.playbook.contact.window_for(customer).next_allowed(now)
            except BusinessTimeError:  # never a time the customer may be contacted
                why = "quiet_hours"
        if why is None:  # last: an allowed invitation is recorded for the cooldown
            guard = self.survey.guard(case.customer_id, customer=customer, invitation=True, at=now)
            why = None if guard.ask else guard.reason
        rules = self._rules(case)
        if why == "cooldown" and rules is not None:
            return self._postpone(tx, case, rules, now)
        following = timer.following()
        if following is not None:
            tx.add_timer(following)
        if why is not None or channel is None:
            self._record(tx, case, "resurvey_cancelled", now, reason=why or "no_channel")
            return False
        message = self.outbox.enqueue(
            tx,
            case,
            customer,
            purpose="resurvey",
            channel=channel,
            now=now,
            not_before=not_before,
        )
        self._record(tx, case, "resurvey_queued", now, message_id=message.id, channel=channel)
        return True

    def _postpone(
        self, tx: StoreTransaction, case: FollowUpCase, rules: Resurvey, now: datetime
    ) -> bool:
        """Wait for the survey cooldown to end; the answer window moves with it."""
        contact = self.ctx.playbook.contact
        history = ContactHistory(surveys=tx.survey_invitations(case.customer_id))
        due = max(contact.next_survey_at(history) or now, now + _TICK)
        ends = plus(due, rules.window)
        self._schedule(tx, case, due, ends)
        self._record(
            tx,
            case,
            "resurvey_postponed",
            now,
            reason="cooldown",
            due_at=due.isoformat(),
            answer_by=ends.isoformat(),
        )
        return False
