"""Touchpoint signals: a touchpoint with no survey answer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from loopkit._input.checks import check_id
from loopkit.errors import ConflictError, ValidationError, describe
from loopkit.model import CaseOrigin, Customer, FollowUpCase, Touchpoint
from loopkit.policies.casework import attach
from loopkit.stores import IngestOutcome, IngestRecord, StoreTransaction, signal_key

from ._context import Context, build_result
from ._ingest import Ingest
from .results import IngestResult

if TYPE_CHECKING:
    pass


class Signals:
    """Ingest a touchpoint that came with no survey answer (a signal)."""

    def __init__(self, ctx: Context, ingest: Ingest) -> None:
        self.ctx = ctx
        self.ingest = ingest

    def ingest_touchpoint(
        self,
        touchpoint: Touchpoint,
        *,
        customer_id: str | None = None,
        customer: Customer | None = None,
    ) -> IngestResult:
        """See :meth:`loopkit.Loop.ingest_touchpoint`."""
        if not isinstance(touchpoint, Touchpoint):
            raise ValidationError("touchpoint", "a Touchpoint", describe(touchpoint))
        if customer_id is None:
            if customer is None:
                raise ValidationError(
                    "customer_id", "the customer's id, or the customer", "neither was given"
                )
            customer_id = customer.id
        check_id(customer_id, "customer_id")
        if customer is not None and customer.id != customer_id:
            raise ValidationError(
                "customer.id", f"the signal's customer id {customer_id!r}", describe(customer.id)
            )
        key = signal_key(touchpoint.id)
        if customer is None:  # the plugin does its I/O outside the store transaction
            with self.ctx.store.transaction() as tx:
                earlier = tx.get_ingest(key)
                if earlier is not None:
                    return self._replay_signal(tx, earlier, touchpoint, customer_id)
            customer = self.ctx.customer(customer_id, None)
        now = self.ctx.now()
        with self.ctx.store.transaction() as tx:
            earlier = tx.get_ingest(key)  # another worker may have been first
            if earlier is not None:
                return self._replay_signal(tx, earlier, touchpoint, customer_id)
            result = self._apply_signal(tx, touchpoint, customer, now)
        if result.outcome is IngestOutcome.OPENED and result.case is not None:
            self.ctx.hooks.case_opened(result.case)
        return result

    def _apply_signal(
        self, tx: StoreTransaction, touchpoint: Touchpoint, customer: Customer, now: datetime
    ) -> IngestResult:
        """Match, then attach or decide and open, and record the ingest: the
        writes of one new touchpoint signal, inside the caller's transaction."""
        policies = self.ctx.playbook.policies
        policy = policies.match_touchpoint(touchpoint, customer, now)
        existing = None if policy is None else tx.find_unclosed_case(customer.id, policy.topic)
        about = {"touchpoint_id": touchpoint.id, "touchpoint_kind": touchpoint.kind}
        decision = None
        case: FollowUpCase | None = None
        if policy is not None and existing is not None:
            case = attach(existing, at=now, kind="touchpoint_attached", details=about)
            tx.save_case(case)
            outcome = IngestOutcome.ATTACHED
            reason = f"matched policy {policy.name!r}: attached to the open case {case.id}"
        else:
            history = None
            if policy is not None and self.ctx.playbook.contact.follow_up_caps:
                history = self.ingest.history(tx, customer.id)
            decision = policies.decide_touchpoint_for(
                policy, touchpoint, customer, now, history=history
            )
            reason = decision.reason
            if decision.policy is None:
                outcome = IngestOutcome.NO_FOLLOW_UP
            elif not decision.follow_up:
                outcome = IngestOutcome.SUPPRESSED
            else:
                outcome = IngestOutcome.OPENED
                case = self.ingest.open_case(
                    tx,
                    decision.policy,
                    customer,
                    decision,
                    now,
                    origin=CaseOrigin.TOUCHPOINT,
                    about=about,
                )
        if case is not None and policies.contact.stops_survey(None, policy):
            tx.set_survey_stop(customer.id, case.id)
        tx.add_ingest(
            IngestRecord(
                touchpoint=touchpoint,
                customer_id=customer.id,
                outcome=outcome,
                case_id=None if case is None else case.id,
                policy=None if policy is None else policy.name,
                reason=reason,
                ingested_at=now,
            )
        )
        return build_result(
            response_id=None,
            touchpoint_id=touchpoint.id,
            outcome=outcome,
            case=case,
            policy=None if policy is None else policy.name,
            reason=reason,
            decision=None if outcome is IngestOutcome.ATTACHED else decision,
        )

    def _replay_signal(
        self, tx: StoreTransaction, earlier: IngestRecord, touchpoint: Touchpoint, customer_id: str
    ) -> IngestResult:
        if earlier.touchpoint != touchpoint or earlier.customer_id != customer_id:
            raise ConflictError(
                f"touchpoint {touchpoint.id!r} was ingested before as a signal with other "
                "content or another customer; expected the same content for the same "
                "touchpoint id",
                key=signal_key(touchpoint.id),
                kind="signal",
            )
        return IngestResult(
            response_id=None,
            touchpoint_id=touchpoint.id,
            outcome=earlier.outcome,
            case=None if earlier.case_id is None else tx.get_case(earlier.case_id),
            policy=earlier.policy,
            reason=earlier.reason,
            replayed=True,
        )
