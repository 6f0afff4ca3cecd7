"""The loop engine: turns decisions into cases, messages, timers and promises.

This is the only place in loopkit that calls hooks, opens store transactions
and sends through channels. Everything it decides comes from the pure domain
(:meth:`PolicySet.decide`, the case lifecycle); everything it remembers is in
the store.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from loopkit.errors import ConflictError, LoopkitError, PluginError, ValidationError, describe
from loopkit.model import (
    CaseEvent,
    CaseOrigin,
    Customer,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    PromiseStatus,
    Response,
)
from loopkit.model._checks import (
    builder,
    check_aware,
    check_choice,
    check_id,
    check_slug,
    empty_attributes,
    shown_id,
)
from loopkit.stores import IngestOutcome, IngestRecord, Store, StoreTransaction, Timer, TimerKind

from ._plugins import PluginHooks, plugin_manager
from .clock import Clock, SystemClock
from .delivery import RetryPolicy
from .results import (
    STOP_MESSAGE,
    BatchItem,
    ContactOutcome,
    IngestResult,
    SurveyGuard,
    TickReport,
)

if TYPE_CHECKING:
    from loopkit.playbook import Playbook
    from loopkit.policies import ContactHistory, Decision, FollowUpPolicy

__all__ = ["Loop", "UnknownCase", "UnknownCustomer"]

log = logging.getLogger("loopkit")

SYSTEM: Final = "loopkit"
"""The actor named in events the engine records on its own."""
RECOVERY_TOPIC: Final = "recovery"
_BATCH: Final = 200


# The engine's own builders for values made of already-checked parts.
_build_event: Final = builder(CaseEvent)
_build_case: Final = builder(FollowUpCase)
_build_message: Final = builder(Message)
_build_timer: Final = builder(Timer)
_build_result: Final = builder(IngestResult)
_build_record: Final = builder(IngestRecord)
_TIMER_KINDS: Final = {kind.value: kind for kind in TimerKind}


class UnknownCustomer(LoopkitError, LookupError):
    """No customer was given and no ``loopkit_load_customer`` plugin knew the id."""


class UnknownCase(LoopkitError, LookupError):
    """No case, promise or message has that id in the store."""


class _ItemFailed(Exception):
    """Rolls back a batch of :meth:`Loop.ingest_many` when one item failed
    after it may have written something."""

    def __init__(self, index: int, error: LoopkitError) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


def _item_error(response: Response, err: Exception) -> LoopkitError:
    """A batch item's error: loopkit's own as it is, a plugin's wrapped (the
    original is the ``__cause__``)."""
    if isinstance(err, LoopkitError):
        return err
    wrapped = PluginError(
        f"response {response.id!r}: a plugin raised {type(err).__name__} (the error's cause)"
    )
    wrapped.__cause__ = err
    return wrapped


class Loop:
    """Closes the loop: ingest responses, open and follow cases, keep promises.

    Build one per worker with the playbook (policies, calendars, contact
    rules) and your plugins. Time comes from ``clock`` (the real clock by
    default; a :class:`loopkit.testing.FakeClock` in tests).

    >>> from loopkit import load_policies
    >>> from loopkit.testing import FakeClock
    >>> loop = Loop(load_policies("examples/policies.toml"), clock=FakeClock())
    """

    def __init__(
        self,
        playbook: Playbook,
        *,
        plugins: Iterable[object] = (),
        store: Store | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        load_entry_points: bool = False,
    ) -> None:
        self._clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self.hooks = PluginHooks(plugin_manager(plugins, load_entry_points=load_entry_points))
        self.store: Store = store if store is not None else self.hooks.store()
        self.channels = self.hooks.channels()
        self.playbook = self._with_host_holidays(playbook)

    # -- set-up ------------------------------------------------------------------

    def _with_host_holidays(self, playbook: Playbook) -> Playbook:
        year = self._clock.now().year
        years = range(year - 1, year + 4)
        calendars = dict(playbook.calendars)
        changed = False
        for name, calendar in calendars.items():
            extra: set[date] = self.hooks.holidays(name, years)
            if extra:
                calendars[name] = calendar.with_holidays(extra)
                changed = True
        return playbook.with_calendars(calendars) if changed else playbook

    # -- ingest ------------------------------------------------------------------

    def ingest(self, response: Response, *, customer: Customer | None = None) -> IngestResult:
        """Decide what a response calls for and act on it, exactly once.

        Idempotent by response id: the same id with the same content returns
        the earlier result (``replayed=True``); with different content it
        raises :class:`~loopkit.ConflictError`. At most one case is open per
        customer and topic (by default the policy's name): a second low score
        is attached to it. Case, events, timers and messages are written in
        one transaction. To ingest many responses, :meth:`ingest_many` writes
        a batch of them in one transaction.
        """
        needs_hooks = customer is None or not response.scale.is_builtin
        if needs_hooks:  # plugins do their I/O outside the store transaction
            with self.store.transaction() as tx:
                earlier = tx.get_ingest(response.id)
                if earlier is not None:
                    return self._replay(tx, earlier, response)
            response, customer = self._resolve(response, customer)
        else:
            customer = self._customer(response.customer_id, customer)
        now = check_aware(self._clock.now(), "clock.now()")
        with self.store.transaction() as tx:
            earlier = tx.get_ingest(response.id)  # another worker may have been first
            if earlier is not None:
                return self._replay(tx, earlier, response)
            result = self._apply(tx, response, customer, now)
        if result.outcome is IngestOutcome.OPENED:
            self.hooks.notify("loopkit_case_opened", case=result.case)
        return result

    def ingest_many(
        self, items: Iterable[tuple[Response, Customer | None]], *, batch_size: int = 500
    ) -> list[BatchItem]:
        """Ingest ``(response, customer)`` pairs, ``batch_size`` of them per store
        transaction; the answer has one :class:`~loopkit.BatchItem` per item, in
        input order.

        Each item is ingested exactly as :meth:`ingest` would (``customer`` may
        be ``None``: a ``loopkit_load_customer`` plugin finds it), with the
        same result; only the writes of a batch share one transaction, which
        on SQLite means one commit (and one sync to disk) per batch instead
        of one per response. An item that fails (a conflict, an unknown
        customer, a plugin that failed) gets its error in its
        :class:`~loopkit.BatchItem`, writes nothing and does not stop or undo
        the others. The same response id twice in one feed behaves as two
        calls to :meth:`ingest`: the second is a replay. Plugins are called
        outside the transaction, and ``loopkit_case_opened`` once per opened
        case after its batch is committed. ``items`` is read lazily, one batch
        at a time.

        An error that is not about one item (the store itself failing) is
        raised: the batch in hand is rolled back, earlier batches stay
        committed, and running the same feed again is safe (what was
        committed is replayed).

        >>> from loopkit import load_policies
        >>> from loopkit.testing import FakeClock, make_customer, make_response
        >>> loop = Loop(load_policies("examples/policies.toml"), clock=FakeClock())
        >>> feed = [(make_response(1, id=f"r-{i}"), make_customer()) for i in range(3)]
        >>> [item.unwrap().outcome.value for item in loop.ingest_many(feed)]
        ['opened', 'attached', 'attached']
        """
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValidationError("batch_size", "an integer of at least 1", describe(batch_size))
        done: list[BatchItem] = []
        batch: list[tuple[Response, Customer | None]] = []
        for item in items:
            batch.append(item)
            if len(batch) == batch_size:
                done.extend(self._ingest_batch(batch))
                batch = []
        if batch:
            done.extend(self._ingest_batch(batch))
        return done

    def _ingest_batch(self, batch: Sequence[tuple[Response, Customer | None]]) -> list[BatchItem]:
        """One batch of :meth:`ingest_many`: hooks first, then one transaction."""
        answers: list[BatchItem | None] = [None] * len(batch)
        # 1. Outside the transaction: replays of the responses that need
        # plugins (so a replay calls none), then the plugins, per item.
        hooked = [i for i, (r, c) in enumerate(batch) if c is None or not r.scale.is_builtin]
        if hooked:
            with self.store.transaction() as tx:
                for i in hooked:
                    response = batch[i][0]
                    earlier = tx.get_ingest(response.id)
                    if earlier is None:
                        continue
                    try:
                        answers[i] = BatchItem(
                            response_id=response.id, result=self._replay(tx, earlier, response)
                        )
                    except ConflictError as err:
                        answers[i] = BatchItem(response_id=response.id, error=err)
        todo: list[tuple[int, Response, Customer | None]] = []  # None: wait for the batch
        pending: set[str] = set()  # ids an earlier item of the batch may write
        for i, (response, given) in enumerate(batch):
            if answers[i] is not None:
                continue
            try:
                if given is None or not response.scale.is_builtin:
                    if response.id in pending:  # after the earlier one: a replay or a conflict
                        todo.append((i, response, None))
                        continue
                    response, customer = self._resolve(response, given)
                else:
                    customer = self._customer(response.customer_id, given)
            except Exception as err:  # one item's failure never stops the others
                answers[i] = BatchItem(response_id=response.id, error=_item_error(response, err))
                continue
            pending.add(response.id)
            todo.append((i, response, customer))
        # 2. One transaction for the batch. An item that fails after it may
        # have written something rolls the whole batch back; it is answered
        # with its error and the batch runs again without it.
        while True:
            try:
                done, opened, waiting = self._write_batch(todo, answers)
            except _ItemFailed as failed:
                answers[failed.index] = BatchItem(
                    response_id=batch[failed.index][0].id, error=failed.error
                )
                continue
            break
        for i, outcome in done:
            answers[i] = (
                BatchItem(response_id=outcome.response_id, result=outcome)
                if isinstance(outcome, IngestResult)
                else BatchItem(response_id=batch[i][0].id, error=outcome)
            )
        for case in opened:
            self.hooks.notify("loopkit_case_opened", case=case)
        for i in waiting:  # rare: after the commit, as the next call to ingest would
            [answers[i]] = self._ingest_batch([batch[i]])
        return answers  # type: ignore[return-value]  # every slot is filled now

    def _write_batch(
        self,
        todo: Sequence[tuple[int, Response, Customer | None]],
        answers: Sequence[BatchItem | None],
    ) -> tuple[list[tuple[int, IngestResult | ConflictError]], list[FollowUpCase], list[int]]:
        """The transaction of one batch: each item not answered yet is a replay,
        a conflict or new (then :meth:`_apply`). Returns what each item did,
        the cases opened, and the items to ingest after the commit."""
        done: list[tuple[int, IngestResult | ConflictError]] = []
        opened: list[FollowUpCase] = []
        waiting: list[int] = []
        with self.store.transaction() as tx:
            for i, response, customer in todo:
                if answers[i] is not None:
                    continue
                earlier = tx.get_ingest(response.id)
                if earlier is not None:
                    try:
                        done.append((i, self._replay(tx, earlier, response)))
                    except ConflictError as err:  # raised before any write
                        done.append((i, err))
                    continue
                if customer is None:  # the earlier item with its id failed
                    waiting.append(i)
                    continue
                try:
                    now = check_aware(self._clock.now(), "clock.now()")
                    result = self._apply(tx, response, customer, now)
                except LoopkitError as err:
                    raise _ItemFailed(i, err) from err
                done.append((i, result))
                if result.case is not None and result.outcome is IngestOutcome.OPENED:
                    opened.append(result.case)
        return done, opened, waiting

    def _resolve(self, response: Response, given: Customer | None) -> tuple[Response, Customer]:
        """The customer (from a plugin when not given) and, on a custom scale,
        the category a plugin gives: the hooks' part of an ingest."""
        customer = self._customer(response.customer_id, given)
        category = None if response.scale.is_builtin else self.hooks.classify(response)
        if category is not None and category is not response.category:
            response = response.reclassified(category)
        return response, customer

    def _apply(
        self, tx: StoreTransaction, response: Response, customer: Customer, now: datetime
    ) -> IngestResult:
        """Match, then attach or decide and open, and record the ingest: the
        writes of one new response, inside the caller's transaction."""
        policies = self.playbook.policies
        policy = policies.match(response, customer, now)
        existing = None if policy is None else tx.find_unclosed_case(customer.id, policy.topic)
        if policy is None:  # the common case: no decision to make or keep
            result = _build_result(
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
            if self.playbook.contact.follow_up_caps:  # read only when a cap needs it
                history = self._history(tx, customer.id)
            decision = policies.decide_for(policy, response, customer, now, history=history)
            result = self._open(tx, response, customer, decision, now)
        tx.add_ingest(
            _build_record(
                response=response,
                outcome=result.outcome,
                case_id=None if result.case is None else result.case.id,
                policy=result.policy,
                reason=result.reason,
                ingested_at=now,
            )
        )
        return result

    def _replay(
        self, tx: StoreTransaction, earlier: IngestRecord, response: Response
    ) -> IngestResult:
        if earlier.response != response:
            raise ConflictError(
                f"response {earlier.response_id!r} was ingested before with other content; "
                "expected the same content for the same response id"
            )
        return IngestResult(
            response_id=earlier.response_id,
            outcome=earlier.outcome,
            case=None if earlier.case_id is None else tx.get_case(earlier.case_id),
            policy=earlier.policy,
            reason=earlier.reason,
            replayed=True,
        )

    def _customer(self, customer_id: str, given: Customer | None) -> Customer:
        if given is not None:
            if given.id != customer_id:
                raise ValidationError(
                    "customer.id", f"the response's customer id {customer_id!r}", describe(given.id)
                )
            return given
        found = self.hooks.load_customer(customer_id)
        if found is None:
            raise UnknownCustomer(
                f"customer {customer_id!r}: expected a customer passed to the call or found by "
                "a loopkit_load_customer plugin, found none"
            )
        return found

    def _history(self, tx: StoreTransaction, customer_id: str) -> ContactHistory:
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
        if not case.is_active:
            case = case.reopen(at=max(now, case.events[-1].at), by=SYSTEM)
        event = _build_event(
            at=max(now, case.events[-1].at),
            actor=SYSTEM,
            kind="response_attached",
            details=MappingProxyType(
                {"response_id": response.id, "category": response.category._value_}
            ),
        )
        case = case._appended(event, {"response_ids": (*case.response_ids, response.id)})
        tx.save_case(case)
        if policy.stop_survey:
            tx.set_survey_stop(case.customer_id, case.id)
        return _build_result(
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
            return _build_result(
                response_id=response.id,
                outcome=IngestOutcome.NO_FOLLOW_UP if policy is None else IngestOutcome.SUPPRESSED,
                case=None,
                policy=None if policy is None else policy.name,
                reason=decision.reason,
                decision=decision,
            )
        # The opening response and the policy are the case's response_ids[0] and
        # policy: the event does not repeat them.
        event = _build_event(at=now, actor=SYSTEM, kind="opened", details=empty_attributes())
        case = _build_case(
            id=f"case-{tx.next_number('case')}",
            customer_id=customer.id,
            opened_at=now,
            origin=CaseOrigin.RESPONSE,
            policy=policy.name,
            topic=policy.topic,
            owner=decision.owner,
            channel=decision.channel,
            due_at=decision.due_at,
            warn_at=decision.warn_at,
            response_ids=(response.id,),
            required_steps=decision.required_steps,
            events=(event,),
        )
        tx.save_case(case)
        self._schedule(tx, case, decision)
        if decision.channel is not None:
            self._enqueue(
                tx,
                case,
                customer,
                purpose="follow_up",
                channel=decision.channel,
                now=now,
                not_before=decision.first_contact_at or now,
            )
        if decision.stop_survey:
            tx.set_survey_stop(customer.id, case.id)
        return _build_result(
            response_id=response.id,
            outcome=IngestOutcome.OPENED,
            case=case,
            policy=policy.name,
            reason=decision.reason,
            decision=decision,
        )

    def _schedule(self, tx: StoreTransaction, case: FollowUpCase, decision: Decision) -> None:
        """One timer row per case: the first thing due, the rest in ``later``."""
        rows: list[tuple[str, datetime, int, str | None]] = []
        if decision.warn_at is not None:
            rows.append(("warning", decision.warn_at, 0, None))
        if decision.due_at is not None:
            rows.append(("breach", decision.due_at, 0, None))
        if decision.escalations:
            rows.extend(("escalation", e.at, e.level, e.to) for e in decision.escalations)
        if rows:
            kind, due_at, level, to = rows[0]
            tx.add_timer(
                _build_timer(
                    id=case.id,
                    case_id=case.id,
                    kind=_TIMER_KINDS[kind],
                    due_at=due_at,
                    level=level,
                    to=to,
                    later=tuple(rows[1:]),
                )
            )

    def _enqueue(
        self,
        tx: StoreTransaction,
        case: FollowUpCase,
        customer: Customer | None,
        *,
        purpose: str,
        channel: str,
        now: datetime,
        not_before: datetime,
        data: dict[str, Any] | None = None,
    ) -> Message:
        address = None if customer is None else customer.contact.address_for(channel)
        info: dict[str, Any] = {"owner": case.owner}
        if case.due_at is not None:
            info["due_at"] = case.due_at.isoformat()
        if data:
            info.update(data)
        message = _build_message(
            id=f"msg-{tx.next_number('message')}",
            case_id=case.id,
            customer_id=case.customer_id,
            channel=channel,
            purpose=purpose,
            created_at=now,
            not_before=not_before,
            address=address,
            data=MappingProxyType(info),  # ids and ISO times loopkit made itself
        )
        tx.save_message(message)
        return message

    # -- working a case ----------------------------------------------------------

    def _now(self, at: datetime | None) -> datetime:
        return check_aware(self._clock.now() if at is None else at, "at")

    def _load(self, tx: StoreTransaction, case_id: str) -> FollowUpCase:
        case = tx.get_case(case_id)
        if case is None:
            raise UnknownCase(f"case {shown_id(case_id)}: expected the id of a stored case")
        return case

    def case(self, case_id: str) -> FollowUpCase:
        """The case as stored now."""
        with self.store.transaction() as tx:
            return self._load(tx, case_id)

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        """All cases, or one customer's, oldest first."""
        with self.store.transaction() as tx:
            return tx.cases(customer_id)

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        """The outbox: every message, or one case's, or those with one status."""
        with self.store.transaction() as tx:
            return tx.messages(case_id, status)

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        """Every promise, or one case's, oldest first."""
        with self.store.transaction() as tx:
            return tx.promises(case_id)

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
        """Record a contact attempt. ``reached`` moves the case to *contacted*
        and stops its deadline timers (the deadline is for the first contact)."""
        result = check_choice(ContactOutcome, outcome, "outcome")
        if channel is not None:  # kept in the case's log: a name, never an address
            check_slug(channel, "channel", "a channel name such as 'phone'")
        now = self._now(at)
        details = {"outcome": result.value, "channel": channel}
        with self.store.transaction() as tx:
            case = self._load(tx, case_id)
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
        """Cancel the case's pending ``follow_up`` messages (a prompt to contact
        the customer is not owed once they were reached or the case closed),
        each with an event in the case's log. Other messages (an apology, say)
        stay owed."""
        for message in tx.messages(case.id, MessageStatus.PENDING):
            if message.purpose != "follow_up":
                continue
            tx.save_message(attrs.evolve(message, status=MessageStatus.CANCELLED))
            case = case.record(
                "message_cancelled",
                at=max(now, case.events[-1].at),
                by=SYSTEM,
                details={"message_id": message.id, "reason": why},
            )
        return case

    def start(self, case_id: str, *, by: str, at: datetime | None = None) -> FollowUpCase:
        """The owner has started working on the case."""
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
        """Record a step such as ``"apology"`` that the case's policy requires."""
        return self._change(
            case_id, lambda c, now: c.complete_step(step, at=now, by=by, note=note), at
        )

    def add_note(
        self, case_id: str, note: str, *, by: str, at: datetime | None = None
    ) -> FollowUpCase:
        """Add a free-text note to the case's log (personal data: never logged)."""
        return self._change(case_id, lambda c, now: c.add_note(note, at=now, by=by), at)

    def reopen(
        self, case_id: str, *, by: str, at: datetime | None = None, note: str | None = None
    ) -> FollowUpCase:
        """Reopen a resolved, unresolved or closed case. Refused with
        :class:`~loopkit.ConflictError` while the customer has another unclosed
        case on the same topic (work that one instead)."""
        now = self._now(at)
        with self.store.transaction() as tx:
            case = self._load(tx, case_id)
            other = (
                None if case.topic is None else tx.find_unclosed_case(case.customer_id, case.topic)
            )
            if other is not None and other.id != case.id:
                raise ConflictError(
                    f"case {case.id!r} cannot be reopened: expected no other unclosed case on "
                    f"topic {case.topic!r} for its customer, found {other.id!r}"
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
        now = self._now(at)
        with self.store.transaction() as tx:
            case = change(self._load(tx, case_id), now)
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
        """Close a case as resolved (it must have been contacted, with every
        required step such as an apology done) or unresolved. Root-cause tags
        from the employee and from ``loopkit_tag_root_causes`` plugins are kept
        on the case."""
        now = self._now(at)
        tags = {check_slug(t, "root_causes", "a root-cause tag") for t in root_causes}
        with self.store.transaction() as tx:
            case = self._load(tx, case_id)
            response = None
            if case.response_ids:
                record = tx.get_ingest(case.response_ids[-1])
                response = None if record is None else record.response
        tags |= self.hooks.root_causes(response, case)
        with self.store.transaction() as tx:
            case = self._load(tx, case_id)
            if case.is_active:
                move = case.resolve if resolved else case.fail
                case = move(at=now, by=by)
            elif resolved != (case.state.value == "resolved"):
                case.apply("resolve" if resolved else "fail", at=now, by=by)  # raises
            case = self._cancel_follow_ups(tx, case, now, "case_closed")
            case = case.close(at=now, by=by, note=note, root_causes=tags)
            tx.save_case(case)
            tx.delete_timers(case.id)
            if tx.survey_stop(case.customer_id) == case.id:
                tx.clear_survey_stop(case.customer_id)
        self.hooks.notify("loopkit_case_closed", case=case)
        return case

    def open_case(
        self,
        customer_id: str,
        *,
        by: str,
        topic: str = "employee",
        customer: Customer | None = None,
        owner: str | None = None,
        channel: str | None = None,
        required_steps: Iterable[str] = (),
        note: str | None = None,
        at: datetime | None = None,
    ) -> FollowUpCase:
        """An employee opens a case themselves — at the counter, on the phone —
        without a survey response. The employee owns it unless ``owner`` says
        otherwise; no message is queued (they are already talking)."""
        check_id(customer_id, "customer_id")
        now = self._now(at)
        if customer is not None:
            self._customer(customer_id, customer)
        with self.store.transaction() as tx:
            case = FollowUpCase.open(
                id=f"case-{tx.next_number('case')}",
                customer_id=customer_id,
                at=now,
                by=by,
                note=note,
                origin=CaseOrigin.EMPLOYEE,
                topic=topic,
                owner=owner or by,
                channel=channel,
                required_steps=frozenset(required_steps),
            )
            tx.save_case(case)
        self.hooks.notify("loopkit_case_opened", case=case)
        return case

    # -- promises ----------------------------------------------------------------

    def promise(
        self,
        case_id: str,
        kind: str,
        *,
        due_at: datetime,
        by: str,
        at: datetime | None = None,
    ) -> Promise:
        """Record a promise made on a case: ``kind`` such as ``"call_back"``,
        kept by :meth:`keep_promise`, broken by a :meth:`tick` after ``due_at``."""
        now = self._now(at)
        with self.store.transaction() as tx:
            case = self._load(tx, case_id)
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

    def keep_promise(self, promise_id: str, *, by: str, at: datetime | None = None) -> Promise:
        """The promise was kept (the call was made, the offer sent)."""
        now = self._now(at)
        with self.store.transaction() as tx:
            promise = tx.get_promise(promise_id)
            if promise is None:
                raise UnknownCase(
                    f"promise {shown_id(promise_id)}: expected the id of a stored promise"
                )
            if promise.status is not PromiseStatus.PENDING:
                raise ConflictError(
                    f"promise {promise_id!r} is already {promise.status.value}; expected pending"
                )
            promise = attrs.evolve(promise, status=PromiseStatus.KEPT, settled_at=now)
            tx.save_promise(promise)
            case = self._load(tx, promise.case_id)
            tx.save_case(
                case.record(
                    "promise_kept",
                    at=max(now, case.events[-1].at),
                    by=by,
                    details={"promise_id": promise.id},
                )
            )
        return promise

    def _break(self, tx: StoreTransaction, promise: Promise, now: datetime) -> FollowUpCase:
        promise = attrs.evolve(promise, status=PromiseStatus.BROKEN, settled_at=now)
        tx.save_promise(promise)
        origin = self._load(tx, promise.case_id)
        details = {"promise_id": promise.id, "kind": promise.kind, "first_step": "apology"}
        recovery = tx.find_unclosed_case(promise.customer_id, RECOVERY_TOPIC)
        if recovery is not None:
            if not recovery.is_active:
                recovery = recovery.reopen(at=now, by=SYSTEM)
            recovery = recovery.escalate(at=now, by=SYSTEM, note=None)
            recovery = attrs.evolve(
                recovery, required_steps=recovery.required_steps | {"apology"}
            ).record("promise_broken", at=now, by=SYSTEM, details=details)
        else:
            recovery = FollowUpCase.open(
                id=f"case-{tx.next_number('case')}",
                customer_id=promise.customer_id,
                at=now,
                by=SYSTEM,
                details=details,
                origin=CaseOrigin.BROKEN_PROMISE,
                policy=origin.policy,
                topic=RECOVERY_TOPIC,
                owner=origin.owner or promise.made_by,
                channel=origin.channel,
                required_steps=frozenset({"apology"}),
            )
        tx.save_case(recovery)
        if recovery.channel is not None:
            self._enqueue(
                tx,
                recovery,
                None,
                purpose="apology",
                channel=recovery.channel,
                now=now,
                not_before=now,
                data={"ask": "when_it_suits", "promise_kind": promise.kind},
            )
        if origin.id != recovery.id:
            tx.save_case(
                origin.record(
                    "promise_broken",
                    at=max(now, origin.events[-1].at),
                    by=SYSTEM,
                    details={"promise_id": promise.id, "recovery_case_id": recovery.id},
                )
            )
        return recovery

    # -- the survey-flow guard ---------------------------------------------------

    def survey_guard(
        self,
        customer_id: str,
        *,
        customer: Customer | None = None,
        invitation: bool = False,
        at: datetime | None = None,
    ) -> SurveyGuard:
        """Ask before every automated survey question: may the flow go on?

        Answers "stop" while a ``stop_survey`` policy's case is not closed for
        this customer (the flow should send ``message`` and hand over to that
        case), or when the customer opted out of surveys. With
        ``invitation=True`` (the first question of a new survey) the contact
        rules' survey cooldown also applies, and an allowed invitation is
        recorded for the next cooldown.
        """
        check_id(customer_id, "customer_id")
        now = self._now(at)
        if customer is not None and customer.contact.surveys_opt_out:
            return SurveyGuard(ask=False, reason="opted_out")
        with self.store.transaction() as tx:
            stop = tx.survey_stop(customer_id)
            if stop is not None:
                stopped = tx.get_case(stop)
                if stopped is not None and not stopped.is_closed:
                    return SurveyGuard(
                        ask=False, reason="open_case", case_id=stop, message=STOP_MESSAGE
                    )
            if not invitation:
                return SurveyGuard(ask=True, reason="no_open_case")
            cooldown = self.playbook.contact.survey_cooldown
            last = max(tx.survey_invitations(customer_id), default=None)
            if cooldown is not None and last is not None and now - last < cooldown:
                return SurveyGuard(ask=False, reason="cooldown")
            tx.add_survey_invitation(customer_id, now)
        return SurveyGuard(ask=True, reason="allowed")

    # -- time passes -------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """Do everything that has come due by ``now`` (default: the clock's now):
        break overdue promises, fire warnings, breaches and escalations, and
        send due messages. Each item is its own transaction, so a crash loses
        at most the item in hand; a message is sent at least once."""
        now = self._now(now)
        counts: dict[str, int] = dict.fromkeys(attrs.fields_dict(TickReport), 0)
        self._tick_promises(now, counts)
        self._tick_timers(now, counts)
        self._tick_messages(now, counts)
        return TickReport(**counts)

    def _tick_promises(self, now: datetime, counts: dict[str, int]) -> None:
        while True:
            with self.store.transaction() as tx:
                due = tx.due_promises(now, 1)
                if not due:
                    return
                recovery = self._break(tx, due[0], now)
                promise = tx.get_promise(due[0].id)
            counts["broken_promises"] += 1
            self.hooks.notify("loopkit_promise_broken", promise=promise, case=recovery)
            hook = "loopkit_case_escalated" if recovery.escalation_level else "loopkit_case_opened"
            self.hooks.notify(hook, case=recovery)

    def _tick_timers(self, now: datetime, counts: dict[str, int]) -> None:
        while True:
            with self.store.transaction() as tx:
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
            self.hooks.notify(hook, case=case)

    def _tick_messages(self, now: datetime, counts: dict[str, int]) -> None:
        tried: set[str] = set()
        while True:
            with self.store.transaction() as tx:
                batch = [m for m in tx.due_messages(now, _BATCH + len(tried)) if m.id not in tried]
            if not batch:
                return
            for message in batch:
                tried.add(message.id)
                self._deliver(message, now, counts)

    def _deliver(self, message: Message, now: datetime, counts: dict[str, int]) -> None:
        channel = self.channels.get(message.channel)
        error: BaseException | None = None
        if channel is None:
            error = LookupError(f"no channel registered as {message.channel!r}")
        else:
            try:
                channel.send(message)
            except Exception as err:  # a failing channel never stops the others
                error = err
        if error is None:
            updated = attrs.evolve(
                message,
                status=MessageStatus.SENT,
                attempts=message.attempts + 1,
                sent_at=now,
                next_attempt_at=None,
            )
            counts["sent"] += 1
        else:
            updated = self._retry.after_failure(message, error, now, self._rng)
            dead = updated.status is MessageStatus.DEAD
            counts["dead_lettered" if dead else "retried"] += 1
            log.warning(
                "channel %s failed to send message %s (attempt %d): %s%s",
                message.channel,
                message.id,
                updated.attempts,
                type(error).__name__,
                "; dead-lettered" if dead else "",
            )
        with self.store.transaction() as tx:
            tx.save_message(updated)
