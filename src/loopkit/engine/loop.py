"""The loop engine: turns decisions into cases, messages, timers and promises.

This is the only place in loopkit that calls hooks, opens store transactions
and sends through channels. Everything it decides comes from the pure domain
(:meth:`PolicySet.decide`, the case lifecycle, :mod:`loopkit.policies.casework`);
everything it remembers is in the store.

:class:`Loop` is a façade over parts with one job each, sharing one
:class:`~loopkit.engine._context.Context` (store, hooks, clock, playbook):

- ``_ingest``: one response; ``_batch``: many; ``_signals``: a touchpoint alone;
- ``_casework``: contact, steps, notes, close, reopen, employee-opened cases;
- ``_promises``: promises kept or broken (and recovered);
- ``_survey``: the survey-flow guard;
- ``_tick``: what comes due; ``_outbox``: timers, messages and their delivery;
- ``_resurvey``: the re-survey after a close and the recovery it measures;
- ``issues``: systemic issues, the public ``loop.issues``.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from loopkit.errors import UndeliverableChannelWarning, UnknownCase, UnknownCustomer
from loopkit.model import (
    Customer,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    Response,
    Touchpoint,
)
from loopkit.stores import Store

from ._batch import BatchIngest
from ._calendars import with_host_holidays
from ._casework import Casework
from ._compatibility import check_playbook
from ._context import Context
from ._ingest import Ingest
from ._outbox import Outbox
from ._plugins import PluginHooks, plugin_manager
from ._promises import Promises
from ._resurvey import Resurveys
from ._signals import Signals
from ._survey import SurveyFlow
from ._tick import Ticker
from .clock import Clock, SystemClock
from .compensation import CompensationDesk
from .delivery import RetryPolicy
from .issues import IssueBoard
from .personal_data import PersonalData
from .results import BatchItem, ContactOutcome, IngestResult, SurveyGuard, TickReport

if TYPE_CHECKING:
    from loopkit.playbook import Playbook

__all__ = ["Loop", "UnknownCase", "UnknownCustomer"]


class Loop:
    """Closes the loop: ingest responses, open and follow cases, keep promises.

    Build one per worker with the playbook (policies, calendars, contact
    rules) and your plugins. Time comes from ``clock`` (the real clock by
    default; a :class:`loopkit.testing.FakeClock` in tests).

    A loop whose playbook sends on channels no plugin registered says so when
    it is built, with an :class:`~loopkit.UndeliverableChannelWarning` naming
    them; ``check_channels=False`` is for a loop that only ingests (a worker
    whose tick runs elsewhere, or a unit test of the policies); a playbook that strands
    open cases raises :class:`~loopkit.IncompatiblePlaybook` unless ``check_store=False``.

    >>> from loopkit import load_playbook
    >>> from loopkit.testing import FakeClock
    >>> loop = Loop(load_playbook("examples/policies.toml"), clock=FakeClock(),
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
        check_store: bool = True,
    ) -> None:
        clock = clock or SystemClock()
        self.hooks = PluginHooks(plugin_manager(plugins, load_entry_points=load_entry_points))
        self.store: Store = store if store is not None else self.hooks.store()
        self.channels = self.hooks.channels()
        self.playbook = with_host_holidays(playbook, self.hooks, clock.now().year)
        if check_store:
            check_playbook(self.store, self.playbook)
        self._ctx = ctx = Context(
            store=self.store,
            hooks=self.hooks,
            clock=clock,
            playbook=self.playbook,
            retry=retry or RetryPolicy(),
            rng=rng or random.Random(),
            channels=self.channels,
        )
        outbox = Outbox(ctx)
        self._survey = SurveyFlow(ctx)
        resurveys = Resurveys(ctx, outbox, self._survey)
        self.issues = IssueBoard(ctx, outbox)
        """Systemic issues: :class:`~loopkit.IssueBoard` (list, get, acknowledge, mark_fixed)."""
        self._ingest = Ingest(ctx, outbox, resurveys)
        self._batch = BatchIngest(ctx, self._ingest)
        self._signals = Signals(ctx, self._ingest)
        self.personal_data = PersonalData(ctx)
        """Erase or export a customer's personal data (:class:`PersonalData`)."""
        self._cases = Casework(ctx, resurveys, self.issues, self.personal_data)
        self._promises = Promises(ctx, outbox, resurveys)
        self.compensation = CompensationDesk(ctx)
        """Offers, grants within authority or on approval, budgets, the ledger."""
        self._ticker = Ticker(
            ctx,
            outbox,
            self._promises,
            resurveys,
            self.personal_data,
            expire_requests=self.compensation.expire_due,
        )
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
        return self._ingest.ingest(response, customer=customer)

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

        >>> from loopkit import load_playbook
        >>> from loopkit.testing import FakeClock, make_customer, make_response
        >>> loop = Loop(load_playbook("examples/policies.toml"), clock=FakeClock(),
        ...             check_channels=False)
        >>> feed = [(make_response(1, id=f"r-{i}"), make_customer()) for i in range(3)]
        >>> [item.unwrap().outcome.value for item in loop.ingest_many(feed)]
        ['opened', 'attached', 'attached']
        """
        return self._batch.ingest_many(items, batch_size=batch_size)

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
        return self._signals.ingest_touchpoint(
            touchpoint, customer_id=customer_id, customer=customer
        )

    # -- reading -----------------------------------------------------------------

    def case(self, case_id: str) -> FollowUpCase:
        """The case as stored now."""
        with self._ctx.store.transaction() as tx:
            return self._ctx.load(tx, case_id)

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        """All cases, or one customer's, oldest first."""
        with self._ctx.store.transaction() as tx:
            return tx.cases(customer_id)

    def responses(self, customer_id: str | None = None) -> Sequence[Response]:
        """Every ingested response, or one customer's, in the order ingested."""
        with self._ctx.store.transaction() as tx:
            return [r.response for r in tx.ingests(customer_id) if r.response is not None]

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        """The outbox: every message, or one case's, or those with one status."""
        with self._ctx.store.transaction() as tx:
            return tx.messages(case_id, status)

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        """Every promise, or one case's, oldest first."""
        with self._ctx.store.transaction() as tx:
            return tx.promises(case_id)

    # -- working a case ----------------------------------------------------------

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
        return self._cases.record_contact(
            case_id, outcome, by=by, at=at, channel=channel, note=note
        )

    def start(self, case_id: str, *, by: str, at: datetime | None = None) -> FollowUpCase:
        """The owner has started working on the case."""
        return self._cases.start(case_id, by=by, at=at)

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
        return self._cases.complete_step(case_id, step, by=by, at=at, note=note)

    def add_note(
        self, case_id: str, note: str, *, by: str, at: datetime | None = None
    ) -> FollowUpCase:
        """Add a free-text note to the case's log (personal data: never logged)."""
        return self._cases.add_note(case_id, note, by=by, at=at)

    def reopen(
        self, case_id: str, *, by: str, at: datetime | None = None, note: str | None = None
    ) -> FollowUpCase:
        """Reopen a resolved, unresolved or closed case. Refused with
        :class:`~loopkit.ConflictError` while the customer has another unclosed
        case on the same topic (work that one instead)."""
        return self._cases.reopen(case_id, by=by, at=at, note=note)

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
        on the case and counted into systemic issues (:attr:`issues`); a policy's
        ``resurvey`` is scheduled."""
        return self._cases.close(
            case_id, resolved=resolved, by=by, root_causes=root_causes, at=at, note=note
        )

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
        return self._cases.open_case(
            customer_id,
            by=by,
            policy=policy,
            topic=topic,
            customer=customer,
            owner=owner,
            channel=channel,
            required_steps=required_steps,
            note=note,
            at=at,
        )

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
        return self._promises.promise(case_id, kind, due_at=due_at, by=by, at=at)

    def keep_promise(self, promise_id: str, *, by: str, at: datetime | None = None) -> Promise:
        """The promise was kept (the call was made, the offer sent)."""
        return self._promises.keep(promise_id, by=by, at=at)

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
        return self._survey.guard(customer_id, customer=customer, invitation=invitation, at=at)

    # -- time passes -------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """Do everything that has come due by ``now`` (default: the clock's now):
        break overdue promises, fire warnings, breaches and escalations, queue
        re-surveys and end their answer windows, erase what the retention
        period says, expire unanswered approval requests (releasing their
        reservations), and send due messages. Each item, each group of up to 100
        timers, each batch of 25 sends is its own transaction, so a crash loses
        at most what is in hand, and the next tick does it again.

        Several workers may tick one store at once: each claims the messages
        it sends (for the retry policy's ``claim_lease``), so they share the
        work and never send one message twice while claims hold. Delivery is
        at least once all the same: messages sent just before a crash (their
        batch unrecorded), or a send that timed out but went through, go again
        once the claim expires; channels deduplicate by ``message.idempotency_key``."""
        return self._ticker.tick(now)
