"""The loop engine: turns decisions into cases, messages, timers and promises.

This is the only place in loopkit that calls hooks, opens store transactions
and sends through channels. Everything it decides comes from the pure domain
(:meth:`PolicySet.decide`, the case lifecycle); everything it remembers is in
the store.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from loopkit.errors import (
    BusinessTimeError,
    ConflictError,
    LoopkitError,
    PluginError,
    UndeliverableChannelWarning,
    UnknownCase,
    UnknownCustomer,
    ValidationError,
    describe,
    suggest,
)
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
    Touchpoint,
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
from loopkit.policies import PRESENT_CHANNELS, RECOVERY_TOPIC
from loopkit.policies.casework import SYSTEM, attach, cancel_follow_ups, recover
from loopkit.stores import (
    IngestOutcome,
    IngestRecord,
    LaterTimer,
    Store,
    StoreTransaction,
    Timer,
    TimerKind,
    signal_key,
)

from ._plugins import PluginHooks, plugin_manager
from .clock import Clock, SystemClock
from .delivery import RetryPolicy, Sender, worker_token
from .results import (
    SORRY_MESSAGE,
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

_CLAIMS: Final = 25
"""Messages a tick claims at a time: small, so that workers share the work finely."""


# The engine's own builders for values made of already-checked parts.
_build_event: Final = builder(CaseEvent)
_build_case: Final = builder(FollowUpCase)
_build_message: Final = builder(Message)
_build_timer: Final = builder(Timer)
_build_result: Final = builder(IngestResult)
_build_record: Final = builder(IngestRecord)
_TIMER_KINDS: Final = {kind.value: kind for kind in TimerKind}


def _malformed_item(item: object, index: int) -> BatchItem | None:
    """A :meth:`Loop.ingest_many` item's error when it is not a ``(Response,
    Customer | None)`` pair (its values are named by their type only: a dict
    not read with ``from_dict`` may hold personal data)."""
    if isinstance(item, tuple | list) and len(item) == 2:
        response, customer = item
        if isinstance(response, Response):
            if customer is None or isinstance(customer, Customer):
                return None
            error = ValidationError(
                f"items[{index}][1]",
                "a Customer or None (read one with Customer.from_dict)",
                f"a {type(customer).__name__}",
            )
            return BatchItem(response_id=response.id, error=error)
        error = ValidationError(
            f"items[{index}][0]",
            "a Response (read one with Response.from_dict)",
            f"a {type(response).__name__}",
        )
    else:
        error = ValidationError(
            f"items[{index}]", "a (response, customer) pair", f"a {type(item).__name__}"
        )
    return BatchItem(response_id="", error=error)


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


_END: Final = datetime.max.replace(tzinfo=UTC)
"""The last instant there is."""


def _plus(at: datetime, delta: timedelta) -> datetime:
    """``at + delta``, or the last instant there is (never an ``OverflowError``
    at the end of time)."""
    try:
        return at + delta
    except OverflowError:
        return _END


def _in_utc(at: datetime) -> datetime:
    """``at`` in UTC, or the last instant there is when that lies past it."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return _END


_ANSWER: Final = "response:"
"""Prefix of a survey stop held by an answer alone (no case was opened for it)."""


def _stop_survey(
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
    if held is not None and not held.startswith(_ANSWER):
        holder = tx.get_case(held)
        if holder is not None and not holder.is_closed:
            return
    tx.set_survey_stop(customer_id, _ANSWER + response_id)


class Loop:
    """Closes the loop: ingest responses, open and follow cases, keep promises.

    Build one per worker with the playbook (policies, calendars, contact
    rules) and your plugins. Time comes from ``clock`` (the real clock by
    default; a :class:`loopkit.testing.FakeClock` in tests).

    A loop whose playbook sends on channels no plugin registered says so when
    it is built, with an :class:`~loopkit.UndeliverableChannelWarning` naming
    them; ``check_channels=False`` is for a loop that only ingests (a worker
    whose tick runs elsewhere, or a unit test of the policies).

    >>> from loopkit import load_policies
    >>> from loopkit.testing import FakeClock
    >>> loop = Loop(load_policies("examples/policies.toml"), clock=FakeClock(),
    ...             check_channels=False)
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
        check_channels: bool = True,
    ) -> None:
        self._clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self.hooks = PluginHooks(plugin_manager(plugins, load_entry_points=load_entry_points))
        self.store: Store = store if store is not None else self.hooks.store()
        self.channels = self.hooks.channels()
        self.playbook = self._with_host_holidays(playbook)
        missing = sorted(self.playbook.policies.channels() - self.channels.keys())
        if check_channels and missing:
            warnings.warn(
                f"the playbook's policies send on channels no plugin registered: {missing}; "
                "their messages would wait in the outbox and be dead-lettered by tick. "
                "Register them with a loopkit_register_channels plugin, or pass "
                "check_channels=False to a loop that only ingests",
                UndeliverableChannelWarning,
                stacklevel=2,
            )

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
        customer, a plugin that failed, an item that is not a ``(Response,
        Customer | None)`` pair: a :class:`~loopkit.ValidationError` at
        ``items[i]``) gets its error in its
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
        >>> loop = Loop(load_policies("examples/policies.toml"), clock=FakeClock(),
        ...             check_channels=False)
        >>> feed = [(make_response(1, id=f"r-{i}"), make_customer()) for i in range(3)]
        >>> [item.unwrap().outcome.value for item in loop.ingest_many(feed)]
        ['opened', 'attached', 'attached']
        """
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValidationError("batch_size", "an integer of at least 1", describe(batch_size))
        done: list[BatchItem | None] = []
        batch: list[tuple[Response, Customer | None]] = []
        slots: list[int] = []  # where each item of the batch goes in ``done``

        def run_batch() -> None:
            for slot, answer in zip(slots, self._ingest_batch(batch), strict=True):
                done[slot] = answer
            batch.clear()
            slots.clear()

        for index, item in enumerate(items):
            malformed = _malformed_item(item, index)
            if malformed is not None:  # answered in its place, never written
                done.append(malformed)
                continue
            slots.append(len(done))
            done.append(None)
            batch.append(item)
            if len(batch) == batch_size:
                run_batch()
        if batch:
            run_batch()
        return done  # type: ignore[return-value]  # every slot is filled now

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
        # 2. One transaction for the batch, one savepoint per item in it: an
        # item that fails undoes its own writes only, and costs about what a
        # good one does.
        done, opened, waiting = self._write_batch(todo, answers)
        for i, outcome in done:
            answers[i] = (
                BatchItem(response_id=batch[i][0].id, result=outcome)
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
    ) -> tuple[list[tuple[int, IngestResult | LoopkitError]], list[FollowUpCase], list[int]]:
        """The transaction of one batch: each item not answered yet is a replay,
        a conflict or new (then :meth:`_apply`, in a savepoint of its own).
        Returns what each item did, the cases opened, and the items to ingest
        after the commit."""
        done: list[tuple[int, IngestResult | LoopkitError]] = []
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
                    with tx.savepoint():
                        result = self._apply(tx, response, customer, now)
                except LoopkitError as err:  # its writes are undone, the batch goes on
                    # without the traceback, whose frames would keep the whole
                    # batch's values alive as long as the caller keeps the answer
                    done.append((i, err.with_traceback(None)))
                    continue
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
        if policies.contact.stops_survey(response, policy):
            _stop_survey(tx, customer.id, result.case, response.id)
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
        case = attach(
            case,
            at=now,
            kind="response_attached",
            details={"response_id": response.id, "category": response.category.value},
            response_ids=(*case.response_ids, response.id),
        )
        tx.save_case(case)
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
        case = self._open_case(
            tx, policy, customer, decision, now, origin=CaseOrigin.RESPONSE, prompt=(response.id,)
        )
        return _build_result(
            response_id=response.id,
            outcome=IngestOutcome.OPENED,
            case=case,
            policy=policy.name,
            reason=decision.reason,
            decision=decision,
        )

    def _open_case(
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
        event = _build_event(at=now, actor=SYSTEM, kind="opened", details=details)
        case = _build_case(
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
        self._schedule(tx, case, decision)
        if decision.channel is not None and decision.channel not in PRESENT_CHANNELS:
            self._enqueue(
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

    def _schedule(self, tx: StoreTransaction, case: FollowUpCase, decision: Decision) -> None:
        """One timer row per case: the first thing due, the rest in ``later``."""
        rows: list[LaterTimer] = []
        if decision.warn_at is not None:
            rows.append(LaterTimer(kind=TimerKind.WARNING, due_at=decision.warn_at))
        if decision.due_at is not None:
            rows.append(LaterTimer(kind=TimerKind.BREACH, due_at=decision.due_at))
        if decision.escalations:
            rows.extend(
                LaterTimer(kind=TimerKind.ESCALATION, due_at=e.at, level=e.level, to=e.to)
                for e in decision.escalations
            )
        if rows:
            first = rows[0]
            tx.add_timer(
                _build_timer(
                    id=case.id,
                    case_id=case.id,
                    kind=first.kind,
                    due_at=first.due_at,
                    level=first.level,
                    to=first.to,
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

    # -- touchpoint signals --------------------------------------------------------

    def ingest_touchpoint(
        self,
        touchpoint: Touchpoint,
        *,
        customer_id: str | None = None,
        customer: Customer | None = None,
    ) -> IngestResult:
        """Decide what a touchpoint calls for when there is no survey answer (a
        *signal*: a customer cancels, or arrives from a rival), and act on it,
        exactly once.

        Policies match on the touchpoint's and the customer's fields; response
        fields are missing (a positive test on one fails, a negated one holds),
        and a deadline counts from ``touchpoint.occurred_at``. A case opened
        this way has origin ``touchpoint``, no response ids, and the
        touchpoint's id and kind in its ``opened`` event. ``customer_id``
        defaults to ``customer.id``; without ``customer``, a
        ``loopkit_load_customer`` plugin finds the customer, as in
        :meth:`ingest`.

        Idempotent by touchpoint id: the same touchpoint (and customer) again
        returns the earlier result (``replayed=True``); the same id with other
        content raises :class:`~loopkit.ConflictError`. The result's
        ``response_id`` is ``None`` and its ``touchpoint_id`` is set. At most
        one case is open per customer and topic: a signal that matches the
        topic of an unclosed case is attached to it.
        """
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
            with self.store.transaction() as tx:
                earlier = tx.get_ingest(key)
                if earlier is not None:
                    return self._replay_signal(tx, earlier, touchpoint, customer_id)
            customer = self._customer(customer_id, None)
        now = check_aware(self._clock.now(), "clock.now()")
        with self.store.transaction() as tx:
            earlier = tx.get_ingest(key)  # another worker may have been first
            if earlier is not None:
                return self._replay_signal(tx, earlier, touchpoint, customer_id)
            result = self._apply_signal(tx, touchpoint, customer, now)
        if result.outcome is IngestOutcome.OPENED:
            self.hooks.notify("loopkit_case_opened", case=result.case)
        return result

    def _apply_signal(
        self, tx: StoreTransaction, touchpoint: Touchpoint, customer: Customer, now: datetime
    ) -> IngestResult:
        """Match, then attach or decide and open, and record the ingest: the
        writes of one new touchpoint signal, inside the caller's transaction."""
        policies = self.playbook.policies
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
            if policy is not None and self.playbook.contact.follow_up_caps:
                history = self._history(tx, customer.id)
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
                case = self._open_case(
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
        return _build_result(
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
                "touchpoint id"
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
        """Cancel the case's unsent follow-ups (:func:`cancel_follow_ups`)."""
        pending = tx.messages(case.id, MessageStatus.PENDING)
        case, cancelled = cancel_follow_ups(case, pending, at=now, why=why)
        for message in cancelled:
            tx.save_message(message)
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
        policy: str | None = None,
        topic: str | None = None,
        customer: Customer | None = None,
        owner: str | None = None,
        channel: str | None = None,
        required_steps: Iterable[str] = (),
        note: str | None = None,
        at: datetime | None = None,
    ) -> FollowUpCase:
        """An employee opens a case themselves — at the counter, on the phone —
        without a survey response. The employee owns it unless ``owner`` says
        otherwise; no message is queued (they are already talking).

        On a ``policy`` (such as ``"complaint-in-person"``) the case takes the
        policy's topic and its required steps: the organisation's rule decides
        that an apology is owed, not the employee, so ``required_steps`` can
        add steps but never remove the policy's. Without one, the topic is
        ``"employee"``.
        """
        check_id(customer_id, "customer_id")
        now = self._now(at)
        if customer is not None:
            self._customer(customer_id, customer)
        steps = frozenset(required_steps)
        ruled = None if policy is None else self._policy(policy)
        if ruled is not None:
            steps |= ruled.require
        with self.store.transaction() as tx:
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
        self.hooks.notify("loopkit_case_opened", case=case)
        return case

    def _policy(self, name: object) -> FollowUpPolicy:
        """The playbook's policy called ``name``; a :class:`ValidationError`
        naming the known ones otherwise."""
        policies = self.playbook.policies
        try:
            return policies[name]  # type: ignore[index]
        except (KeyError, TypeError):
            near = suggest(name, [p.name for p in policies]) if isinstance(name, str) else None
            raise ValidationError(
                "policy",
                f"the name of a policy in the playbook {[p.name for p in policies]}",
                describe(name),
                hint=f"did you mean {near!r}?" if near else None,
            ) from None

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

    def _break(
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
        origin = self._load(tx, promise.case_id)
        customer = customer or tx.get_customer(promise.customer_id)
        policies = self.playbook.policies
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
        if recovery.new and decision is not None:
            self._schedule(tx, recovery.case, decision)
        if recovery.channel is not None and recovery.channel not in PRESENT_CHANNELS:
            self._enqueue(
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

        Answers "stop" after an answer that stops the survey flow (a
        detractor's, or one a ``stop_survey`` policy matched; see
        :meth:`ContactRules.stops_survey`): while the case opened for it is not
        closed (``reason="open_case"``: the flow should send ``message`` and
        hand over to that case), or, when no case was opened (contact rules
        suppressed it), for ``[contact] stop_survey_for`` after the answer
        (``reason="dissatisfied"``, with a ``message`` that promises no call).
        It also stops when the customer opted out of surveys. With
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
            if stop is not None and stop.startswith(_ANSWER):
                record = tx.get_ingest(stop[len(_ANSWER) :])
                until = (
                    None
                    if record is None or record.response is None
                    else (record.response.answered_at)
                )
                if until is not None and now < until + self.playbook.contact.stop_survey_for:
                    return SurveyGuard(ask=False, reason="dissatisfied", message=SORRY_MESSAGE)
            elif stop is not None:
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
        at most the item in hand.

        Several workers may tick one store at once: each claims the messages
        it sends (for the retry policy's ``claim_lease``), so they share the
        work and never send one message twice while claims hold. Delivery is
        at least once all the same: a message sent just before a crash (or a
        send that timed out but went through) is sent again once its claim
        expires; channels deduplicate by ``message.idempotency_key``."""
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
            # The customer's current details from the host, outside the
            # transaction (a plugin's I/O); the store's copy otherwise.
            customer = self.hooks.load_customer(due[0].customer_id)
            with self.store.transaction() as tx:
                pending = tx.get_promise(due[0].id)
                if pending is None or pending.status is not PromiseStatus.PENDING:
                    continue  # kept, or broken by another worker, meanwhile
                recovery = self._break(tx, pending, customer, now)
                promise = tx.get_promise(pending.id)
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

    @cached_property
    def _sender(self) -> Sender:
        return Sender(self._retry.send_timeout)

    def _claim_time(self, now: datetime) -> datetime:
        """When a claim is made or checked: the clock's now, or the tick's if later
        (compared in UTC: in one zone, Python compares wall clocks)."""
        return max(_in_utc(now), _in_utc(self._clock.now()))

    def _tick_messages(self, now: datetime, counts: dict[str, int]) -> None:
        worker = worker_token()
        lease = self._retry.claim_lease
        margin = self._retry.send_timeout or timedelta(0)
        try:
            while True:
                until = _plus(self._claim_time(now), lease)
                with self.store.transaction() as tx:
                    batch = tx.claim_messages(now, _CLAIMS, worker, until)
                if not batch:
                    return
                endless = until == _END  # at the end of time a claim cannot run out
                for n, message in enumerate(batch):
                    if not endless and _plus(self._claim_time(now), margin) >= until:
                        self._release(batch[n:], worker)
                        if n == 0:  # claiming alone took the whole lease: try next tick
                            log.warning("claims run out before a send can start: raise claim_lease")
                            return
                        break
                    try:
                        self._deliver(message, now, counts, worker)
                    except BaseException:
                        self._release(batch[n + 1 :], worker, quietly=True)
                        raise
        finally:
            self._sender.stop()

    def _release(self, messages: Sequence[Message], worker: str, quietly: bool = False) -> None:
        """Hand back claimed messages that were not sent, for any worker to take."""
        try:
            with self.store.transaction() as tx:
                for message in messages:
                    if tx.claimed_by(message.id) == worker:
                        tx.save_message(message)  # unchanged: saving releases the claim
        except Exception as err:
            if not quietly:
                raise
            log.warning(
                "could not hand back %d claimed messages (they wait for their claims to"
                " expire): %s",
                len(messages),
                type(err).__name__,
            )

    def _deliver(
        self, message: Message, now: datetime, counts: dict[str, int], worker: str
    ) -> None:
        channel = self.channels.get(message.channel)
        error: BaseException | None = None
        if channel is None:
            error = LookupError(f"no channel registered as {message.channel!r}")
        else:
            try:
                self._sender.send(channel, message)
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
            # Our claim still holds unless the message was saved since (say,
            # cancelled) or the claim ran out and another worker took it.
            if tx.claimed_by(message.id) == worker:
                tx.save_message(updated)
                return
        log.warning(
            "message %s changed or was claimed by another worker during its send;"
            " this attempt (%s) is not recorded",
            message.id,
            "sent" if error is None else type(error).__name__,
        )
