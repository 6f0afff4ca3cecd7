"""The in-memory store: the default, for tests, simulations and one-process hosts."""

from __future__ import annotations

import heapq
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import attrs

from loopkit._input.choices import check_choice
from loopkit._input.instants import instant_key
from loopkit._input.trusted import builder
from loopkit.errors import ConflictError
from loopkit.model import (
    Customer,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    PromiseStatus,
    Response,
    Touchpoint,
)

from .records import IngestOutcome, IngestRecord, Later, Timer, TimerKind

__all__ = ["MemoryStore"]

_MISSING: Final = object()


class MemoryStore:
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
        self._transaction = _Transaction(self)
        self._savepoints = 0  # while > 0, index writes are logged too

    def transaction(self) -> _Transaction:
        """Serialised by a lock; a block that raises is undone completely.
        A transaction opened inside another is part of the outer one."""
        return self._transaction

    def close(self) -> None:
        pass

    def _set(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        undo = self._undo
        if undo is None:
            raise RuntimeError("MemoryStore: writes need a transaction")
        undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

    def _index(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        """Write to an index or a sequence: not logged, because a failed
        transaction rebuilds the indexes from the tables (:meth:`_reindex`)
        and a sequence may skip a number but never reuses one."""
        undo = self._undo
        if undo is None:
            raise RuntimeError("MemoryStore: writes need a transaction")
        if self._savepoints and table is not self._sequences:  # undone without a reindex
            undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

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

    def savepoint(self) -> _Savepoint:
        """A block whose writes (tables and indexes) are undone when it raises;
        only inside a transaction. Sequence numbers taken in it stay taken."""
        return _Savepoint(self)

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
                record.outcome._value_,  # the plain str (.value is a slow property)
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
        row = (timer.case_id, timer.kind._value_, timer.due_at, timer.level, timer.to, timer.later)
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


_IngestRow = tuple[str, str | None, str | None, str, datetime]
_TimerRow = tuple[str, str, datetime, int, str | None, Later]

_build_ingest: Final = builder(IngestRecord)
_build_timer: Final = builder(Timer)
_build_message: Final = builder(Message)
# A message row: its plain fields (attrgetter, in C), then its data as
# (key, value) pairs and its status as a string, so the row holds no object
# the garbage collector must follow.
_MESSAGE_FIELDS: Final = tuple(
    f.name for f in attrs.fields(Message) if f.name not in ("data", "status")
)
_plain_fields: Final = operator.attrgetter(*_MESSAGE_FIELDS)
_CASE_ID: Final = _MESSAGE_FIELDS.index("case_id")
_NOT_BEFORE: Final = _MESSAGE_FIELDS.index("not_before")
_NEXT_ATTEMPT: Final = _MESSAGE_FIELDS.index("next_attempt_at")
_DATA: Final = len(_MESSAGE_FIELDS)
_STATUS: Final = _DATA + 1


def _message_row(message: Message) -> tuple[Any, ...]:
    return (*_plain_fields(message), tuple(message.data.items()), message.status._value_)


def _message(row: tuple[Any, ...]) -> Message:
    fields = dict(zip(_MESSAGE_FIELDS, row, strict=False))
    return _build_message(
        **fields, data=MappingProxyType(dict(row[_DATA])), status=MessageStatus(row[_STATUS])
    )


def _timer_due(row: _TimerRow) -> timedelta:
    return instant_key(row[2])  # type: ignore[return-value]


def _message_due(row: tuple[Any, ...]) -> timedelta:
    return instant_key(row[_NEXT_ATTEMPT] or row[_NOT_BEFORE])  # type: ignore[return-value]


def _promise_due(promise: Promise) -> timedelta | None:
    pending = promise.status is PromiseStatus.PENDING
    return instant_key(promise.due_at) if pending else None


class _DueQueue:
    """What comes due in one table, as a heap of ``(instant, id)``.

    A write only notes the id; the heap is brought up to date when it is read,
    so ingesting stays cheap and a tick costs O(log n) per item instead of a
    sort of the whole table. An entry whose item was deleted, done or
    rescheduled since is stale: it is dropped when it surfaces.
    """

    __slots__ = ("_due_of", "_heap", "_noted", "_table")

    def __init__(self, table: Mapping[str, Any], due_of: Callable[[Any], timedelta | None]) -> None:
        self._table = table
        self._due_of = due_of
        self._heap: list[tuple[timedelta, str]] = []
        self._noted: list[str] = []

    def note(self, item_id: str) -> None:
        self._noted.append(item_id)

    def rebuild(self) -> None:
        """Start again from the table (after a failed transaction)."""
        self._noted.clear()
        self._heap[:] = [
            (key, i) for i, item in self._table.items() if (key := self._due_of(item)) is not None
        ]
        heapq.heapify(self._heap)

    def take(
        self, now: datetime, limit: int, skip: Callable[[str], bool] | None = None
    ) -> list[str]:
        """The ids of up to ``limit`` items due by ``now``, earliest first, passing
        over those ``skip`` says to; they all stay queued until they are deleted
        or no longer due."""
        heap, table, due_of = self._heap, self._table, self._due_of
        for item_id in self._noted:
            item = table.get(item_id)
            if item is not None and (key := due_of(item)) is not None:
                heapq.heappush(heap, (key, item_id))
        self._noted.clear()
        until = instant_key(now)
        assert until is not None
        found: list[str] = []
        seen: set[str] = set()
        taken: list[tuple[timedelta, str]] = []
        while heap and len(found) < limit and heap[0][0] <= until:
            entry = heapq.heappop(heap)
            key, item_id = entry
            item = table.get(item_id)
            if item is None or due_of(item) != key or item_id in seen:
                continue
            seen.add(item_id)
            taken.append(entry)
            if skip is None or not skip(item_id):
                found.append(item_id)
        for entry in taken:
            heapq.heappush(heap, entry)
        return found


class _Transaction:
    """The context manager :meth:`MemoryStore.transaction` returns: one per
    store, entered only by the thread holding the store's lock, which counts
    how deep it is nested and undoes the writes when the outermost block fails."""

    __slots__ = ("_depth", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._depth = 0

    def __enter__(self) -> MemoryStore:
        store = self._store
        store._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            store._undo = []
        return store

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        try:
            if kind is not None and self._depth == 1 and store._undo:
                for table, key, old in reversed(store._undo):
                    if old is _MISSING:
                        table.pop(key, None)
                    else:
                        table[key] = old
                store._reindex()
        finally:
            self._depth -= 1
            if self._depth == 0:
                store._undo = None
            store._lock.release()


class _Savepoint:
    """The context manager :meth:`MemoryStore.savepoint` returns: it marks the
    undo log, and when its block raises, undoes the writes logged since."""

    __slots__ = ("_mark", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._mark = 0

    def __enter__(self) -> None:
        store = self._store
        if store._undo is None:
            raise RuntimeError("MemoryStore: a savepoint needs a transaction")
        self._mark = len(store._undo)
        store._savepoints += 1

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        store._savepoints -= 1
        undo = store._undo
        if kind is not None and undo is not None and len(undo) > self._mark:
            for table, key, old in reversed(undo[self._mark :]):
                if old is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = old
            del undo[self._mark :]
