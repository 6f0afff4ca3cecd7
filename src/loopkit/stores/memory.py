"""The in-memory store: the default, for tests, simulations and one-process hosts."""

from __future__ import annotations

import threading
from collections.abc import Iterable, MutableMapping, Sequence, Set
from datetime import datetime, timedelta
from typing import Any

from loopkit._input.choices import check_choice
from loopkit._input.instants import instant_key
from loopkit.errors import ConflictError
from loopkit.model import (
    Customer,
    Erasure,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    Response,
    Touchpoint,
)
from loopkit.outcomes import SystemicIssue

from ._memory_due import _DueQueue, _message_due, _promise_due, _timer_due
from ._memory_ledger import _MemoryLedger
from ._memory_outcomes import _OutcomeTables
from ._memory_rows import (
    _CASE_ID,
    _STATUS,
    _build_ingest,
    _build_timer,
    _IngestRow,
    _message,
    _message_row,
    _TimerRow,
)
from ._memory_undo import _MISSING, _Transaction
from ._open_policies import _MemoryOpenPolicies
from .records import IngestOutcome, IngestRecord, Timer, TimerKind

__all__ = ["MemoryStore"]


class MemoryStore(_MemoryLedger, _OutcomeTables, _MemoryOpenPolicies):
    """Keeps everything in dictionaries of immutable values.

    Transactions are serialised by a lock and undone on error with an undo log
    of the tables' writes (the indexes are then rebuilt from the tables), so a
    failure leaves nothing half-written. Nothing survives the process.

    >>> store = MemoryStore()
    >>> with store.transaction() as tx:
    ...     tx.next_number("case")
    1
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._undo: list[tuple[MutableMapping[Any, Any], Any, Any]] | None = None
        self._sequences: dict[str, int] = {}
        # Ingest records, timers and messages are kept as rows of plain values
        # (like a database would), not as the objects handed in: rows of
        # strings, numbers and datetimes are invisible to Python's cyclic
        # garbage collector, which otherwise rescans every one of them.
        self._responses: dict[str, Response] = {}
        self._signals: dict[str, tuple[Touchpoint, str]] = {}  # key: (touchpoint, customer id)
        self._ingests: dict[str, _IngestRow] = {}
        self._cases: dict[str, FollowUpCase] = {}
        self._active: dict[tuple[str, str], str] = {}
        self._by_customer: dict[str, tuple[str, ...]] = {}
        self._timers: dict[str, _TimerRow] = {}
        self._messages: dict[str, tuple[Any, ...]] = {}
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._claims: dict[str, tuple[str, timedelta]] = {}  # id: (worker, until)
        self._case_messages: dict[str, tuple[str, ...]] = {}
        self._case_timers: dict[str, tuple[str, ...]] = {}
        self._promises: dict[str, Promise] = {}
        self._due_timers = _DueQueue(self._timers, _timer_due)
        self._due_messages = _DueQueue(self._pending, _message_due)
        self._due_promises = _DueQueue(self._promises, _promise_due)
        self._customers: dict[str, Customer] = {}
        self._stops: dict[str, str] = {}
        self._invitations: dict[str, tuple[datetime, ...]] = {}
        self._erasures: dict[int, Erasure] = {}  # in the order recorded
        self._init_ledger()
        self._issues: dict[str, SystemicIssue] = {}
        self._watches: dict[str, str] = {}  # customer id: closed case awaiting an answer
        self._transaction = _Transaction(self)
        self._savepoints = 0  # while > 0, index writes are logged too

    def transaction(self) -> _Transaction:
        """Serialised by a lock; a block that raises is undone completely.
        A transaction opened inside another is part of the outer one."""
        return self._transaction

    def close(self) -> None:
        pass

    def _reindex(self) -> None:
        """Rebuild every index from the tables (after a failed transaction)."""
        self._active.clear()
        self._by_customer.clear()
        for case_id, case in self._cases.items():
            ids = self._by_customer.get(case.customer_id, ())
            self._by_customer[case.customer_id] = (*ids, case_id)
            if case.topic is not None and not case.is_closed:
                self._active[(case.customer_id, case.topic)] = case_id
        self._pending.clear()
        self._case_messages.clear()
        for message_id, row in self._messages.items():
            if row[_STATUS] == MessageStatus.PENDING.value:
                self._pending[message_id] = row
            ids = self._case_messages.get(row[_CASE_ID], ())
            self._case_messages[row[_CASE_ID]] = (*ids, message_id)
        self._case_timers.clear()
        for timer_id, timer_row in self._timers.items():
            ids = self._case_timers.get(timer_row[0], ())
            self._case_timers[timer_row[0]] = (*ids, timer_id)
        for queue in (self._due_timers, self._due_messages, self._due_promises):
            queue.rebuild()

    def next_number(self, sequence: str) -> int:
        number = self._sequences.get(sequence, 0) + 1
        self._index(self._sequences, sequence, number)
        return number

    # responses
    def get_ingest(self, response_id: str) -> IngestRecord | None:
        row = self._ingests.get(response_id)
        if row is None:
            return None
        outcome, case_id, policy, reason, ingested_at = row
        response = self._responses.get(response_id)
        if response is None:  # a touchpoint signal
            touchpoint, customer_id = self._signals[response_id]
            return IngestRecord(
                touchpoint=touchpoint,
                customer_id=customer_id,
                outcome=IngestOutcome(outcome),
                case_id=case_id,
                policy=policy,
                reason=reason,
                ingested_at=ingested_at,
            )
        return _build_ingest(
            response=response,
            outcome=IngestOutcome(outcome),
            case_id=case_id,
            policy=policy,
            reason=reason,
            ingested_at=ingested_at,
        )

    def stored_ingests(self, keys: Sequence[str]) -> Set[str]:
        return {key for key in keys if key in self._ingests}

    def add_ingest(self, record: IngestRecord) -> None:
        response = record.response
        key = record.key
        if key in self._ingests:
            what, kind = (
                ("response", "response")
                if response is not None
                else ("touchpoint signal", "signal")
            )
            raise ConflictError(
                f"{what} {key!r} is already stored; expected a key not stored before",
                key=key,
                kind=kind,
            )
        if response is not None:
            self._set(self._responses, key, response)
        else:
            assert record.touchpoint is not None  # a record is a response or a signal
            self._set(self._signals, key, (record.touchpoint, record.customer_id))
        self._set(
            self._ingests,
            key,
            (
                str(record.outcome),  # a StrEnum: str() is its value, as a plain str
                record.case_id,
                record.policy,
                record.reason,
                record.ingested_at,
            ),
        )

    def ingests(self, customer_id: str | None = None) -> Sequence[IngestRecord]:
        found = [
            record
            for key in self._ingests
            if customer_id is None or self._customer_of(key) == customer_id
            if (record := self.get_ingest(key)) is not None
        ]
        return sorted(found, key=lambda r: (r.ingested_at, r.key))

    def _customer_of(self, key: str) -> str:
        response = self._responses.get(key)
        return response.customer_id if response is not None else self._signals[key][1]

    # cases
    def get_case(self, case_id: str) -> FollowUpCase | None:
        return self._cases.get(case_id)

    def save_case(self, case: FollowUpCase) -> None:
        old = self._cases.get(case.id)
        key = None if case.topic is None else (case.customer_id, case.topic)
        if old is None:
            ids = self._by_customer.get(case.customer_id, ())
            self._index(self._by_customer, case.customer_id, (*ids, case.id))
        elif old.topic is not None:
            old_key = (old.customer_id, old.topic)
            if (old_key != key or case.is_closed) and self._active.get(old_key) == case.id:
                self._index(self._active, old_key, _MISSING)
        self._set(self._cases, case.id, case)
        if key is not None and not case.is_closed and self._active.get(key) != case.id:
            self._index(self._active, key, case.id)

    def find_unclosed_case(self, customer_id: str, topic: str) -> FollowUpCase | None:
        case_id = self._active.get((customer_id, topic))
        return None if case_id is None else self._cases[case_id]

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        if customer_id is None:
            found = list(self._cases.values())
        else:
            found = [self._cases[i] for i in self._by_customer.get(customer_id, ())]
        return sorted(found, key=lambda c: (c.opened_at, c.id))

    # timers
    def add_timer(self, timer: Timer) -> None:
        row = (timer.case_id, str(timer.kind), timer.due_at, timer.level, timer.to, timer.later)
        if timer.id not in self._timers:
            ids = self._case_timers.get(timer.case_id, ())
            self._index(self._case_timers, timer.case_id, (*ids, timer.id))
        self._set(self._timers, timer.id, row)
        self._due_timers.note(timer.id)

    def _timer(self, timer_id: str, row: _TimerRow) -> Timer:
        case_id, kind, due_at, level, to, later = row
        return _build_timer(
            id=timer_id,
            case_id=case_id,
            kind=TimerKind(kind),
            due_at=due_at,
            level=level,
            to=to,
            later=later,
        )

    def due_timers(self, now: datetime, limit: int) -> Sequence[Timer]:
        due = self._due_timers.take(now, limit)
        return [self._timer(timer_id, self._timers[timer_id]) for timer_id in due]

    def delete_timer(self, timer_id: str) -> None:
        row = self._timers.get(timer_id)
        if row is not None:
            self._set(self._timers, timer_id, _MISSING)
            ids = tuple(i for i in self._case_timers.get(row[0], ()) if i != timer_id)
            self._index(self._case_timers, row[0], ids or _MISSING)

    def delete_timers(self, case_id: str) -> None:
        for timer_id in self._case_timers.get(case_id, ()):
            self._set(self._timers, timer_id, _MISSING)
        self._index(self._case_timers, case_id, _MISSING)

    def timers(self, case_id: str) -> Sequence[Timer]:
        found = [self._timer(i, self._timers[i]) for i in self._case_timers.get(case_id, ())]
        return sorted(found, key=lambda t: (instant_key(t.due_at), t.id))

    # outbox
    def save_message(self, message: Message) -> None:
        row = _message_row(message)
        if message.id not in self._messages:
            ids = self._case_messages.get(message.case_id, ())
            self._index(self._case_messages, message.case_id, (*ids, message.id))
        self._set(self._messages, message.id, row)
        pending = message.status is MessageStatus.PENDING
        if pending or message.id in self._pending:
            self._index(self._pending, message.id, row if pending else _MISSING)
        if pending:
            self._due_messages.note(message.id)
        if message.id in self._claims:
            self._set(self._claims, message.id, _MISSING)

    def get_message(self, message_id: str) -> Message | None:
        row = self._messages.get(message_id)
        return None if row is None else _message(row)

    def due_messages(self, now: datetime, limit: int) -> Sequence[Message]:
        due = self._due_messages.take(now, limit)
        return [_message(self._pending[message_id]) for message_id in due]

    def claim_messages(
        self, now: datetime, limit: int, worker: str, until: datetime
    ) -> Sequence[Message]:
        claims = self._claims
        at, ends = instant_key(now), instant_key(until)
        assert at is not None and ends is not None
        claim = (worker, ends)

        def held(message_id: str) -> bool:
            found = claims.get(message_id)
            return found is not None and found[1] > at

        due = self._due_messages.take(now, limit, skip=held if claims else None)
        for message_id in due:
            self._set(claims, message_id, claim)
        return [_message(self._pending[message_id]) for message_id in due]

    def claimed_by(self, message_id: str) -> str | None:
        found = self._claims.get(message_id)
        return None if found is None else found[0]

    def claims(self, message_ids: Iterable[str]) -> dict[str, str]:
        """Optional (see :mod:`loopkit.stores.protocol`): ``claimed_by`` of many."""
        claims = self._claims
        return {i: claims[i][0] for i in message_ids if i in claims}

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        if case_id is None:
            rows: Iterable[tuple[Any, ...]] = self._messages.values()
        else:
            rows = (self._messages[i] for i in self._case_messages.get(case_id, ()))
        wanted = None if status is None else check_choice(MessageStatus, status, "status").value
        found = [_message(row) for row in rows if wanted is None or row[_STATUS] == wanted]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    # promises
    def save_promise(self, promise: Promise) -> None:
        self._set(self._promises, promise.id, promise)
        self._due_promises.note(promise.id)

    def get_promise(self, promise_id: str) -> Promise | None:
        return self._promises.get(promise_id)

    def due_promises(self, now: datetime, limit: int) -> Sequence[Promise]:
        due = self._due_promises.take(now, limit)
        return [self._promises[promise_id] for promise_id in due]

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        found = [p for p in self._promises.values() if case_id is None or p.case_id == case_id]
        return sorted(found, key=lambda p: (p.made_at, p.id))

    # customers
    def save_customer(self, customer: Customer) -> None:
        if self._customers.get(customer.id) is not customer:
            self._set(self._customers, customer.id, customer)

    def get_customer(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    # the survey-flow guard
    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        self._set(self._stops, customer_id, case_id)

    def survey_stop(self, customer_id: str) -> str | None:
        return self._stops.get(customer_id)

    def clear_survey_stop(self, customer_id: str) -> None:
        if customer_id in self._stops:
            self._set(self._stops, customer_id, _MISSING)

    def add_survey_invitation(self, customer_id: str, at: datetime) -> None:
        times = (*self._invitations.get(customer_id, ()), at)
        self._set(self._invitations, customer_id, tuple(sorted(times)))

    def survey_invitations(self, customer_id: str) -> Sequence[datetime]:
        return self._invitations.get(customer_id, ())

    # erasure
    def erase_ingest(self, record: IngestRecord) -> None:
        key = record.key
        if key not in self._ingests:
            raise ConflictError(
                f"no ingest {key!r} is stored; expected the key of a stored one",
                key=key,
                kind="response" if record.response is not None else "signal",
            )
        if record.response is not None:
            self._set(self._responses, key, record.response)
        else:
            assert record.touchpoint is not None  # a record is a response or a signal
            self._set(self._signals, key, (record.touchpoint, record.customer_id))

    def add_erasure(self, erasure: Erasure) -> None:
        self._set(self._erasures, len(self._erasures), erasure)

    def erasures(self, customer_id: str | None = None) -> Sequence[Erasure]:
        return [
            e
            for e in self._erasures.values()
            if customer_id is None or e.customer_id == customer_id
        ]
