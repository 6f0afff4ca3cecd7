"""Time passes: what comes due."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from loopkit.model import Customer, FollowUpCase, Promise, PromiseStatus
from loopkit.policies.casework import SYSTEM
from loopkit.stores import StoreTransaction, Timer, TimerKind

from ._context import Context, retrying
from ._outbox import Outbox
from ._promises import Promises
from ._resurvey import RESURVEY_KINDS
from .personal_data import PersonalData
from .results import TickReport

if TYPE_CHECKING:
    from ._resurvey import Resurveys

_Fired = tuple[list[tuple[Callable[[FollowUpCase], None], FollowUpCase]], list[Timer], Counter[str]]
"""What one transaction of due timers did: whom to tell, the re-survey timers
left for after the commit, and the counts."""

TIMERS_PER_TRANSACTION: Final = 100
"""Due timers done in one store transaction: on SQLite a commit (a sync to
disk) per timer cost 270-450 µs an item against 31 µs in memory."""


class Ticker:
    """What comes due as time passes: broken promises, timers (a case's
    warnings, breaches, escalations and retention), messages."""

    def __init__(
        self,
        ctx: Context,
        outbox: Outbox,
        promises: Promises,
        resurveys: Resurveys,
        personal_data: PersonalData,
        expire_requests: Callable[[datetime], int] | None = None,
    ) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.promises = promises
        self.resurveys = resurveys
        self.personal_data = personal_data
        self.expire_requests = expire_requests

    def tick(self, now: datetime | None = None) -> TickReport:
        """See :meth:`loopkit.Loop.tick`."""
        now = self.ctx.now(now)
        counts: dict[str, int] = dict.fromkeys(attrs.fields_dict(TickReport), 0)
        self._tick_promises(now, counts)
        self._tick_timers(now, counts)
        if self.expire_requests is not None:
            counts["expired_requests"] = self.expire_requests(now)
        self.outbox.deliver_due(now, counts)
        return TickReport(**counts)

    def _tick_promises(self, now: datetime, counts: dict[str, int]) -> None:
        while True:
            with self.ctx.store.transaction() as tx:
                due = tx.due_promises(now, 1)
            if not due:
                return
            # The customer's current details from the host, outside the
            # transaction (a plugin's I/O); the store's copy otherwise.
            customer = self.ctx.hooks.load_customer(due[0].customer_id)

            def break_it(
                promise_id: str = due[0].id, customer: Customer | None = customer
            ) -> tuple[Promise, FollowUpCase] | None:
                with self.ctx.store.transaction() as tx:
                    pending = tx.get_promise(promise_id)
                    if pending is None or pending.status is not PromiseStatus.PENDING:
                        return None  # kept, or broken by another worker, meanwhile
                    recovery = self.promises.break_promise(tx, pending, customer, now)
                    promise = tx.get_promise(pending.id)
                assert promise is not None  # saved as broken in this transaction
                return promise, recovery

            broken = retrying(break_it)
            if broken is None:
                continue
            promise, recovery = broken
            counts["broken_promises"] += 1
            self.ctx.hooks.promise_broken(promise, recovery)
            if recovery.escalation_level:
                self.ctx.hooks.case_escalated(recovery)
            else:
                self.ctx.hooks.case_opened(recovery)

    def _tick_timers(self, now: datetime, counts: dict[str, int]) -> None:
        """Due timers, up to :data:`TIMERS_PER_TRANSACTION` in a transaction
        (a crash loses at most those, which the next tick does again: each
        timer is deleted in the transaction that does its work); the hooks are
        told after each commit. A re-survey's timers are left for
        :class:`Resurveys` to do after the commit, each in its own transactions
        (it asks a plugin for the customer)."""
        while True:
            done = retrying(lambda: self._fire_due_timers(now))
            if done is None:
                return
            told, resurveys, tally = done
            for key, count in tally.items():
                counts[key] += count
            for notify, case in told:
                notify(case)
            for timer in resurveys:
                self.resurveys.fire(timer, now, counts)

    def _fire_due_timers(self, now: datetime) -> _Fired | None:
        """One transaction's worth of due timers (``None``: none due): whom to
        tell, the re-survey timers left for after the commit, and the counts.
        Counted here, not in the tick's counts, so that a transaction the store
        rolled back and :func:`retrying` ran again counts once."""
        told: list[tuple[Callable[[FollowUpCase], None], FollowUpCase]] = []
        resurveys: list[Timer] = []
        tally: Counter[str] = Counter()
        with self.ctx.store.transaction() as tx:
            due = tx.due_timers(now, TIMERS_PER_TRANSACTION)
            if not due:
                return None
            for timer in due:
                if timer.kind in RESURVEY_KINDS:
                    resurveys.append(timer)
                    continue
                tx.delete_timer(timer.id)
                case = tx.get_case(timer.case_id)
                if timer.kind is TimerKind.RETENTION:
                    if case is not None and self.personal_data.retention_due(tx, case, now):
                        tally["erased"] += 1
                    continue
                if case is None or not case.is_active:
                    continue
                following = timer.following()
                if following is not None:
                    tx.add_timer(following)
                told.append(self._fire(tx, timer, case, now, tally))
        return told, resurveys, tally

    def _fire(
        self,
        tx: StoreTransaction,
        timer: Timer,
        case: FollowUpCase,
        now: datetime,
        tally: Counter[str],
    ) -> tuple[Callable[[FollowUpCase], None], FollowUpCase]:
        """A warning, breach or escalation on an active case; the hook to tell."""
        at = max(now, case.events[-1].at)
        details = {"due_at": timer.due_at.isoformat()}
        hooks = self.ctx.hooks
        notify: Callable[[FollowUpCase], None]
        if timer.kind is TimerKind.WARNING:
            case = case.record("deadline_warning", at=at, by=SYSTEM, details=details)
            notify, key = hooks.deadline_warning, "warnings"
        elif timer.kind is TimerKind.BREACH:
            case = case.record("deadline_breached", at=at, by=SYSTEM, details=details)
            notify, key = hooks.deadline_breached, "breaches"
        else:
            case = case.escalate(at=at, by=SYSTEM, to=timer.to)
            notify, key = hooks.case_escalated, "escalations"
        tx.save_case(case)
        tally[key] += 1
        return notify, case
