"""Time passes: what comes due."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from loopkit.model import PromiseStatus
from loopkit.policies.casework import SYSTEM
from loopkit.stores import Timer, TimerKind

from ._context import Context
from ._outbox import Outbox
from ._promises import Promises
from ._resurvey import RESURVEY_KINDS
from .results import TickReport

if TYPE_CHECKING:
    from ._resurvey import Resurveys


class Ticker:
    """What comes due as time passes: broken promises, timers, messages."""

    def __init__(
        self, ctx: Context, outbox: Outbox, promises: Promises, resurveys: Resurveys
    ) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.promises = promises
        self.resurveys = resurveys

    def tick(self, now: datetime | None = None) -> TickReport:
        """See :meth:`loopkit.Loop.tick`."""
        now = self.ctx.now(now)
        counts: dict[str, int] = dict.fromkeys(attrs.fields_dict(TickReport), 0)
        self._tick_promises(now, counts)
        self._tick_timers(now, counts)
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
            with self.ctx.store.transaction() as tx:
                pending = tx.get_promise(due[0].id)
                if pending is None or pending.status is not PromiseStatus.PENDING:
                    continue  # kept, or broken by another worker, meanwhile
                recovery = self.promises.break_promise(tx, pending, customer, now)
                promise = tx.get_promise(pending.id)
            assert promise is not None  # saved as broken in this transaction
            counts["broken_promises"] += 1
            self.ctx.hooks.promise_broken(promise, recovery)
            if recovery.escalation_level:
                self.ctx.hooks.case_escalated(recovery)
            else:
                self.ctx.hooks.case_opened(recovery)

    def _tick_timers(self, now: datetime, counts: dict[str, int]) -> None:
        resurvey: Timer | None = None
        while True:
            if resurvey is not None:  # its own transactions (it asks a plugin for the customer)
                self.resurveys.fire(resurvey, now, counts)
                resurvey = None
            with self.ctx.store.transaction() as tx:
                due = tx.due_timers(now, 1)
                if not due:
                    return
                timer = due[0]
                if timer.kind in RESURVEY_KINDS:
                    resurvey = timer
                    continue
                tx.delete_timer(timer.id)
                case = tx.get_case(timer.case_id)
                if case is None or not case.is_active:
                    continue
                following = timer.following()
                if following is not None:
                    tx.add_timer(following)
                at = max(now, case.events[-1].at)
                details = {"due_at": timer.due_at.isoformat()}
                hooks = self.ctx.hooks
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
            counts[key] += 1
            notify(case)
