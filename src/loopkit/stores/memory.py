"""The in-memory store: the default, for tests, simulations and one-process hosts."""

from __future__ import annotations

import threading
from collections.abc import MutableMapping, Sequence
from datetime import datetime
from typing import Any, Final

from loopkit.errors import ConflictError
from loopkit.model import FollowUpCase, Message, MessageStatus, Promise, PromiseStatus

from .records import IngestRecord, Timer

__all__ = ["MemoryStore"]

_MISSING: Final = object()


class MemoryStore:
    """Keeps everything in dictionaries of immutable values.

    Transactions are serialised by a lock and undone on error with an undo log,
    so a failure leaves nothing half-written. Nothing survives the process.

    >>> store = MemoryStore()
    >>> with store.transaction() as tx:
    ...     tx.next_number("case")
    1
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._undo: list[tuple[MutableMapping[Any, Any], Any, Any]] | None = None
        self._sequences: dict[str, int] = {}
        self._ingests: dict[str, IngestRecord] = {}
        self._cases: dict[str, FollowUpCase] = {}
        self._active: dict[tuple[str, str], str] = {}
        self._by_customer: dict[str, tuple[str, ...]] = {}
        self._timers: dict[str, Timer] = {}
        self._messages: dict[str, Message] = {}
        self._pending: dict[str, Message] = {}
        self._promises: dict[str, Promise] = {}
        self._stops: dict[str, str] = {}
        self._invitations: dict[str, tuple[datetime, ...]] = {}

    def transaction(self) -> _Transaction:
        """Serialised by a lock; a block that raises is undone completely.
        A transaction opened inside another is part of the outer one."""
        return _Transaction(self)

    def _begin(self) -> bool:
        self._lock.acquire()
        if self._undo is not None:
            return False
        self._undo = []
        return True

    def _end(self, outermost: bool, failed: bool) -> None:
        try:
            if outermost and failed and self._undo is not None:
                for table, key, old in reversed(self._undo):
                    if old is _MISSING:
                        table.pop(key, None)
                    else:
                        table[key] = old
        finally:
            if outermost:
                self._undo = None
            self._lock.release()

    def close(self) -> None:
        pass

    def _set(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        if self._undo is None:
            raise RuntimeError("MemoryStore: writes need a transaction")
        self._undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

    def next_number(self, sequence: str) -> int:
        number = self._sequences.get(sequence, 0) + 1
        self._set(self._sequences, sequence, number)
        return number

    # responses
    def get_ingest(self, response_id: str) -> IngestRecord | None:
        return self._ingests.get(response_id)

    def add_ingest(self, record: IngestRecord) -> None:
        if record.response_id in self._ingests:
            raise ConflictError(f"response {record.response_id!r} is already stored")
        self._set(self._ingests, record.response_id, record)

    def ingests(self, customer_id: str | None = None) -> Sequence[IngestRecord]:
        found = [
            r
            for r in self._ingests.values()
            if customer_id is None or r.response.customer_id == customer_id
        ]
        return sorted(found, key=lambda r: (r.ingested_at, r.response_id))

    # cases
    def get_case(self, case_id: str) -> FollowUpCase | None:
        return self._cases.get(case_id)

    def save_case(self, case: FollowUpCase) -> None:
        old = self._cases.get(case.id)
        if old is not None and old.topic is not None:
            key = (old.customer_id, old.topic)
            if self._active.get(key) == old.id:
                self._set(self._active, key, _MISSING)
        if old is None:
            ids = self._by_customer.get(case.customer_id, ())
            self._set(self._by_customer, case.customer_id, (*ids, case.id))
        self._set(self._cases, case.id, case)
        if case.topic is not None and not case.is_closed:
            self._set(self._active, (case.customer_id, case.topic), case.id)

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
        self._set(self._timers, timer.id, timer)

    def due_timers(self, now: datetime, limit: int) -> Sequence[Timer]:
        due = sorted(
            (t for t in self._timers.values() if t.due_at <= now), key=lambda t: (t.due_at, t.id)
        )
        return due[:limit]

    def delete_timer(self, timer_id: str) -> None:
        if timer_id in self._timers:
            self._set(self._timers, timer_id, _MISSING)

    def delete_timers(self, case_id: str) -> None:
        for timer in [t for t in self._timers.values() if t.case_id == case_id]:
            self._set(self._timers, timer.id, _MISSING)

    def timers(self, case_id: str) -> Sequence[Timer]:
        found = [t for t in self._timers.values() if t.case_id == case_id]
        return sorted(found, key=lambda t: (t.due_at, t.id))

    # outbox
    def save_message(self, message: Message) -> None:
        self._set(self._messages, message.id, message)
        pending = message.status is MessageStatus.PENDING
        if pending or message.id in self._pending:
            self._set(self._pending, message.id, message if pending else _MISSING)

    def get_message(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def due_messages(self, now: datetime, limit: int) -> Sequence[Message]:
        def due_at(m: Message) -> datetime:
            return m.next_attempt_at or m.not_before

        due = sorted(
            (m for m in self._pending.values() if due_at(m) <= now),
            key=lambda m: (due_at(m), m.id),
        )
        return due[:limit]

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        found = [
            m
            for m in self._messages.values()
            if (case_id is None or m.case_id == case_id) and (status is None or m.status == status)
        ]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    # promises
    def save_promise(self, promise: Promise) -> None:
        self._set(self._promises, promise.id, promise)

    def get_promise(self, promise_id: str) -> Promise | None:
        return self._promises.get(promise_id)

    def due_promises(self, now: datetime, limit: int) -> Sequence[Promise]:
        due = sorted(
            (
                p
                for p in self._promises.values()
                if p.status is PromiseStatus.PENDING and p.due_at <= now
            ),
            key=lambda p: (p.due_at, p.id),
        )
        return due[:limit]

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        found = [p for p in self._promises.values() if case_id is None or p.case_id == case_id]
        return sorted(found, key=lambda p: (p.made_at, p.id))

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


class _Transaction:
    """The context manager :meth:`MemoryStore.transaction` returns."""

    __slots__ = ("_outermost", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._outermost = False

    def __enter__(self) -> MemoryStore:
        self._outermost = self._store._begin()
        return self._store

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._store._end(self._outermost, failed=kind is not None)
