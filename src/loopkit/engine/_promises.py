"""Promises made to customers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from loopkit._input.checks import shown_id
from loopkit._input.instants import check_aware
from loopkit.errors import BusinessTimeError, ConflictError, UnknownCase
from loopkit.model import Customer, FollowUpCase, Promise, PromiseStatus
from loopkit.policies import PRESENT_CHANNELS, RECOVERY_TOPIC
from loopkit.policies.casework import recover
from loopkit.stores import StoreTransaction

from ._context import Context, log
from ._outbox import Outbox
from ._resurvey import Resurveys

if TYPE_CHECKING:
    pass


class Promises:
    """Promises made on a case: recorded, kept, or broken and put right."""

    def __init__(self, ctx: Context, outbox: Outbox, resurveys: Resurveys) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.resurveys = resurveys

    def promise(
        self,
        case_id: str,
        kind: str,
        *,
        due_at: datetime,
        by: str,
        at: datetime | None = None,
    ) -> Promise:
        """See :meth:`loopkit.Loop.promise`."""
        now = self.ctx.now(at)
        with self.ctx.store.transaction() as tx:
            case = self.ctx.load(tx, case_id)
            promise = Promise(
                id=f"promise-{tx.next_number('promise')}",
                case_id=case.id,
                customer_id=case.customer_id,
                kind=kind,
                made_by=by,
                made_at=now,
                due_at=check_aware(due_at, "due_at"),
            )
            tx.save_promise(promise)
            tx.save_case(
                case.record(
                    "promise",
                    at=now,
                    by=by,
                    details={"promise_id": promise.id, "kind": kind, "due_at": due_at.isoformat()},
                )
            )
        return promise

    def keep(self, promise_id: str, *, by: str, at: datetime | None = None) -> Promise:
        """See :meth:`loopkit.Loop.keep_promise`."""
        now = self.ctx.now(at)
        with self.ctx.store.transaction() as tx:
            promise = tx.get_promise(promise_id)
            if promise is None:
                raise UnknownCase(
                    f"promise {shown_id(promise_id)}: expected the id of a stored promise",
                    promise_id=promise_id,
                )
            if promise.status is not PromiseStatus.PENDING:
                raise ConflictError(
                    f"promise {promise_id!r} is already {promise.status.value}; expected pending",
                    key=promise_id,
                    kind="promise",
                )
            promise = attrs.evolve(promise, status=PromiseStatus.KEPT, settled_at=now)
            tx.save_promise(promise)
            case = self.ctx.load(tx, promise.case_id)
            tx.save_case(
                case.record(
                    "promise_kept",
                    at=max(now, case.events[-1].at),
                    by=by,
                    details={"promise_id": promise.id},
                )
            )
        return promise

    def break_promise(
        self,
        tx: StoreTransaction,
        promise: Promise,
        customer: Customer | None,
        now: datetime,
    ) -> FollowUpCase:
        """Mark the promise broken and put it right by the ``[recovery]`` rules:
        a recovery case (or the customer's unclosed one, escalated) with its
        deadline, timers and an apology message at the first moment the
        customer and the business allow."""
        promise = attrs.evolve(promise, status=PromiseStatus.BROKEN, settled_at=now)
        tx.save_promise(promise)
        origin = self.ctx.load(tx, promise.case_id)
        customer = customer or tx.get_customer(promise.customer_id)
        policies = self.ctx.playbook.policies
        decision = None
        if customer is not None:
            try:
                decision = policies.decide_recovery(promise, origin, customer, now)
            except BusinessTimeError:  # beyond the calendars' years: no deadline to keep
                log.warning("promise %s: recovered without a deadline (%s)", promise.id, now.year)
        unclosed = tx.find_unclosed_case(promise.customer_id, RECOVERY_TOPIC)
        recovery = recover(
            promise,
            origin,
            rules=policies.recovery,
            decision=decision,
            unclosed=unclosed,
            new_id=None if unclosed is not None else f"case-{tx.next_number('case')}",
            at=now,
        )
        tx.save_case(recovery.case)
        if recovery.new:
            self.resurveys.case_opened(tx, promise.customer_id, now)
        if recovery.new and decision is not None:
            self.outbox.schedule(tx, recovery.case, decision)
        if recovery.channel is not None and recovery.channel not in PRESENT_CHANNELS:
            self.outbox.enqueue(
                tx,
                recovery.case,
                customer,
                purpose="apology",
                channel=recovery.channel,
                now=now,
                not_before=recovery.not_before,
                data=dict(recovery.data),
            )
        if recovery.origin is not None:
            tx.save_case(recovery.origin)
        return recovery.case
