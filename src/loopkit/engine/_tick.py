"""Time passes: what comes due."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from loopkit.model import (
    PromiseStatus,
)
from loopkit.policies.casework import SYSTEM
from loopkit.stores import (
    TimerKind,
)

from ._context import (
    Context,
)
from ._outbox import Outbox
from ._promises import Promises
from .results import (
    TickReport,
)

if TYPE_CHECKING:
    pass


class Ticker:
    """What comes due as time passes: broken promises, timers, messages."""

    def __init__(self, ctx: Context, outbox: Outbox, promises: Promises) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.promises = promises

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
            counts["broken_promises"] += 1
            self.ctx.hooks.notify("loopkit_promise_broken", promise=promise, case=recovery)
            hook = "loopkit_case_escalated" if recovery.escalation_level else "loopkit_case_opened"
            self.ctx.hooks.notify(hook, case=recovery)

    def _tick_timers(self, now: datetime, counts: dict[str, int]) -> None:
        while True:
            with self.ctx.store.transaction() as tx:
                due = tx.due_timers(now, 1)
                if not due:
                    return
                timer = due[0]
                tx.delete_timer(timer.id)
                case = tx.get_case(timer.case_id)
                if case is None or not case.is_active:
                    continue
                following = timer.following()
                if following is not None:
                    tx.add_timer(following)
                at = max(now, case.events[-1].at)
                details = {"due_at": timer.due_at.isoformat()}
                if timer.kind is TimerKind.WARNING:
                    case, hook, key = (
                        case.record("deadline_warning", at=at, by=SYSTEM, details=details),
                        "loopkit_deadline_warning",
                        "warnings",
                    )
                elif timer.kind is TimerKind.BREACH:
                    case, hook, key = (
                        case.record("deadline_breached", at=at, by=SYSTEM, details=details),
                        "loopkit_deadline_breached",
                        "breaches",
                    )
                else:
                    case, hook, key = (
                        case.escalate(at=at, by=SYSTEM, to=timer.to),
                        "loopkit_case_escalated",
                        "escalations",
                    )
                tx.save_case(case)
            counts[key] += 1
            self.ctx.hooks.notify(hook, case=case)
