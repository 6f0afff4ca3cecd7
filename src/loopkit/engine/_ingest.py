"""Ingesting one response."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from loopkit._input.attributes import empty_attributes
from loopkit.errors import ConflictError
from loopkit.model import CaseOrigin, Customer, FollowUpCase, Response, erased_response
from loopkit.policies import PRESENT_CHANNELS
from loopkit.policies.casework import SYSTEM, attach
from loopkit.stores import IngestOutcome, IngestRecord, StoreTransaction

from ._context import (
    Context,
    begin_batch,
    build_case,
    build_event,
    build_record,
    build_result,
    retrying,
)
from ._outbox import Outbox
from .results import IngestResult

if TYPE_CHECKING:
    from loopkit.policies import ContactHistory, Decision, FollowUpPolicy

    from ._resurvey import Resurveys


ANSWER: Final = "response:"
"""Prefix of a survey stop held by an answer alone (no case was opened for it)."""


def stop_survey(
    tx: StoreTransaction, customer_id: str, case: FollowUpCase | None, response_id: str
) -> None:
    """Record that an answer stopped the customer's automated survey flow: held
    by its case while that is not closed, or by the answer itself when no case
    was opened (then for ``[contact] stop_survey_for``). An answer alone never
    replaces the stop an unclosed case holds."""
    if case is not None:
        tx.set_survey_stop(customer_id, case.id)
        return
    held = tx.survey_stop(customer_id)
    if held is not None and not held.startswith(ANSWER):
        holder = tx.get_case(held)
        if holder is not None and not holder.is_closed:
            return
    tx.set_survey_stop(customer_id, ANSWER + response_id)


class Ingest:
    """Ingest one response: match, attach or decide and open, and record it."""

    def __init__(self, ctx: Context, outbox: Outbox, resurveys: Resurveys) -> None:
        self.ctx = ctx
        self.outbox = outbox
        self.resurveys = resurveys

    def ingest(self, response: Response, *, customer: Customer | None = None) -> IngestResult:
        """See :meth:`loopkit.Loop.ingest`."""
        needs_hooks = customer is None or not response.scale.is_builtin
        if needs_hooks:  # plugins do their I/O outside the store transaction
            with self.ctx.store.transaction() as tx:
                earlier = tx.get_ingest(response.id)
                if earlier is not None:
                    return self.replay(tx, earlier, response)
            response, customer = self.resolve(response, customer)
        else:
            customer = self.ctx.customer(response.customer_id, customer)
        now = self.ctx.now()

        def write() -> tuple[IngestResult, bool]:
            with self.ctx.store.transaction() as tx:
                begin_batch(tx, (response.id,), (response.customer_id,))
                earlier = tx.get_ingest(response.id)  # another worker may have been first
                if earlier is not None:
                    return self.replay(tx, earlier, response), True
                return self.apply(tx, response, customer, now), False

        result, replayed = retrying(write)
        if replayed:
            return result
        if result.outcome is IngestOutcome.OPENED and result.case is not None:
            self.ctx.hooks.case_opened(result.case)
        return result

    def resolve(self, response: Response, given: Customer | None) -> tuple[Response, Customer]:
        """The customer (from a plugin when not given) and, on a custom scale,
        the category a plugin gives: the hooks' part of an ingest."""
        customer = self.ctx.customer(response.customer_id, given)
        category = None if response.scale.is_builtin else self.ctx.hooks.classify(response)
        if category is not None and category is not response.category:
            response = response.reclassified(category)
        return response, customer

    def apply(
        self, tx: StoreTransaction, response: Response, customer: Customer, now: datetime
    ) -> IngestResult:
        """Match, then attach or decide and open, and record the ingest: the
        writes of one new response, inside the caller's transaction."""
        policies = self.ctx.playbook.policies
        # A later answer of a customer whose closed case waits for one: did we
        # win them back? (Looked up here: most answers have no such case.)
        if self.resurveys.enabled and tx.recovery_watch(response.customer_id) is not None:
            self.resurveys.answered(tx, response, now)
        policy = policies.match(response, customer, now)
        existing = None if policy is None else tx.find_unclosed_case(customer.id, policy.topic)
        if policy is None:  # the common case: no decision to make or keep
            result = build_result(
                response_id=response.id,
                outcome=IngestOutcome.NO_FOLLOW_UP,
                case=None,
                policy=None,
                reason=policies.no_match_reason(response),
            )
        elif existing is not None:
            result = self._attach(tx, response, policy, existing, now)
        else:
            history = None
            if self.ctx.playbook.contact.follow_up_caps:  # read only when a cap needs it
                history = self.history(tx, customer.id)
            decision = policies.decide_for(policy, response, customer, now, history=history)
            result = self._open(tx, response, customer, decision, now)
        if policies.contact.stops_survey(response, policy):
            stop_survey(tx, customer.id, result.case, response.id)
        tx.add_ingest(
            build_record(
                response=response,
                outcome=result.outcome,
                case_id=None if result.case is None else result.case.id,
                policy=result.policy,
                reason=result.reason,
                ingested_at=now,
            )
        )
        return result

    def replay(
        self, tx: StoreTransaction, earlier: IngestRecord, response: Response
    ) -> IngestResult:
        if earlier.response != response and not _erased_since(tx, earlier, response):
            raise ConflictError(
                f"response {earlier.response_id!r} was ingested before with other content; "
                "expected the same content for the same response id",
                key=earlier.response_id,
                kind="response",
            )
        return IngestResult(
            response_id=earlier.response_id,
            outcome=earlier.outcome,
            case=None if earlier.case_id is None else tx.get_case(earlier.case_id),
            policy=earlier.policy,
            reason=earlier.reason,
            replayed=True,
        )

    def history(self, tx: StoreTransaction, customer_id: str) -> ContactHistory:
        """The customer's contact history, for the frequency caps."""
        from loopkit.policies import ContactHistory

        return ContactHistory(
            follow_ups=tuple(c.opened_at for c in tx.cases(customer_id)),
            surveys=tuple(tx.survey_invitations(customer_id)),
        )

    def _attach(
        self,
        tx: StoreTransaction,
        response: Response,
        policy: FollowUpPolicy,
        case: FollowUpCase,
        now: datetime,
    ) -> IngestResult:
        """Attach the response to the customer's unclosed case on the policy's
        topic (reopening it if it was resolved or failed). No new contact is
        made, so contact rules do not apply and no decision is computed."""
        case = attach(
            case,
            at=now,
            kind="response_attached",
            details={"response_id": response.id, "category": response.category.value},
            response_ids=(*case.response_ids, response.id),
        )
        tx.save_case(case)
        return build_result(
            response_id=response.id,
            outcome=IngestOutcome.ATTACHED,
            case=case,
            policy=policy.name,
            reason=f"matched policy {policy.name!r}: attached to the open case {case.id}",
        )

    def _open(
        self,
        tx: StoreTransaction,
        response: Response,
        customer: Customer,
        decision: Decision,
        now: datetime,
    ) -> IngestResult:
        """Open a case for the decision, unless no policy matched or contact
        rules said no."""
        policy = decision.policy
        if policy is None or not decision.follow_up:
            return build_result(
                response_id=response.id,
                outcome=IngestOutcome.NO_FOLLOW_UP if policy is None else IngestOutcome.SUPPRESSED,
                case=None,
                policy=None if policy is None else policy.name,
                reason=decision.reason,
                decision=decision,
            )
        # The opening response and the policy are the case's response_ids[0] and
        # policy: the event does not repeat them.
        case = self.open_case(
            tx, policy, customer, decision, now, origin=CaseOrigin.RESPONSE, prompt=(response.id,)
        )
        return build_result(
            response_id=response.id,
            outcome=IngestOutcome.OPENED,
            case=case,
            policy=policy.name,
            reason=decision.reason,
            decision=decision,
        )

    def open_case(
        self,
        tx: StoreTransaction,
        policy: FollowUpPolicy,
        customer: Customer,
        decision: Decision,
        now: datetime,
        *,
        origin: CaseOrigin,
        prompt: tuple[str, ...] = (),
        about: dict[str, str] | None = None,
    ) -> FollowUpCase:
        """The writes of a case a decision opens: the case (``prompt``: the
        responses that opened it; ``about``: what else did, in its opened event
        and its message), a copy of the customer to reach them later (a broken
        promise's recovery), its timers, and its follow-up message (none on a
        channel where the employee is with the customer)."""
        details = empty_attributes() if about is None else MappingProxyType(about)
        event = build_event(at=now, actor=SYSTEM, kind="opened", details=details)
        case = build_case(
            id=f"case-{tx.next_number('case')}",
            customer_id=customer.id,
            opened_at=now,
            origin=origin,
            policy=policy.name,
            topic=policy.topic,
            owner=decision.owner,
            channel=decision.channel,
            due_at=decision.due_at,
            warn_at=decision.warn_at,
            response_ids=prompt,
            required_steps=decision.required_steps,
            events=(event,),
        )
        tx.save_case(case)
        tx.save_customer(customer)
        self.resurveys.case_opened(tx, customer.id, now)
        self.outbox.schedule(tx, case, decision)
        if decision.channel is not None and decision.channel not in PRESENT_CHANNELS:
            self.outbox.enqueue(
                tx,
                case,
                customer,
                purpose="follow_up",
                channel=decision.channel,
                now=now,
                not_before=decision.first_contact_at or now,
                data=about,
            )
        return case


def _erased_since(tx: StoreTransaction, earlier: IngestRecord, response: Response) -> bool:
    """Whether ``response`` is the one stored, whose personal data was erased
    since (so replaying a feed after an erasure is still a replay)."""
    return earlier.response == erased_response(response) and bool(tx.erasures(response.customer_id))
