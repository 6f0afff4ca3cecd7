"""The SQLite store's transaction: each operation of the store protocol as SQL
on one connection, with savepoints, message claims and the cache of decoded rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence, Set
from datetime import datetime
from typing import Any, Final, TypeVar

from loopkit._input.choices import check_choice
from loopkit._input.instants import format_instant, parse_instant
from loopkit.errors import ConflictError
from loopkit.model import (
    Customer,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    PromiseStatus,
)

from ._json_text import json_text as _json
from ._open_policies import _SQLiteOpenPolicies
from ._sqlite_batch import MISSING, _Batch
from ._sqlite_codec import _Decoded, _us
from ._sqlite_erasure import _Erasures
from ._sqlite_ledger import _SQLiteLedger
from ._sqlite_outcomes import _OutcomeStatements
from .records import IngestRecord, Timer

T = TypeVar("T")

_ADD_INGEST: Final = (
    "INSERT INTO ingests (response_id, customer_id, ingested_us, data) VALUES (?, ?, ?, ?)"
)

_CHUNK: Final = 500
"""Keys per ``IN (...)`` look-up: well under SQLite's limit on parameters."""


class _Savepoint:
    """The context manager :meth:`SQLiteTransaction.savepoint` returns (a mark
    in the batch; see ``_sqlite_batch``)."""

    __slots__ = ("_batch",)

    def __init__(self, batch: _Batch) -> None:
        self._batch = batch

    def __enter__(self) -> None:
        self._batch.enter()

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._batch.leave(kind is not None)


class _Ended:
    """Stands in for the connection once a transaction block has ended."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (hasattr, doctest's finder) is no use
            raise AttributeError(name)
        raise RuntimeError("SQLiteStore: this transaction has ended; open a new one")


_ENDED: Final[Any] = _Ended()


class SQLiteTransaction(_Erasures, _SQLiteLedger, _OutcomeStatements, _SQLiteOpenPolicies):
    """The operations of :class:`~loopkit.StoreTransaction` on one SQLite connection.

    Parameters always go in as ``?`` placeholders, never formatted into SQL.
    """

    __slots__ = ("_batch", "_conn", "_decoded")

    def __init__(self, batch: _Batch, decoded: _Decoded) -> None:
        self._conn = batch  # every statement through the batch (see _sqlite_batch)
        self._batch = batch
        self._decoded = decoded

    def _one(self, sql: str, args: tuple[Any, ...], read: Callable[[Any], T]) -> T | None:
        row = self._conn.execute(sql, args).fetchone()
        return None if row is None else self._decoded.read(row[0], read)

    def _all(self, sql: str, args: tuple[Any, ...], read: Callable[[Any], T]) -> list[T]:
        decode = self._decoded.read
        return [decode(row[0], read) for row in self._conn.execute(sql, args)]

    def savepoint(self) -> _Savepoint:
        """An SQLite ``SAVEPOINT``: released when the block ends, rolled back
        to (then released) when it raises."""
        return _Savepoint(self._batch)

    def begin_batch(self, keys: Sequence[str], customer_ids: Sequence[str]) -> None:
        """Read what the ingests of ``customer_ids`` look up, one query per
        table (optional hook the engine calls; see ``_sqlite_batch``)."""
        self._batch.prepare(customer_ids, self._read_case)

    def _read_case(self, text: str) -> FollowUpCase:
        return self._decoded.read(text, FollowUpCase.from_dict)

    def next_number(self, sequence: str) -> int:
        # Counted in memory from the first read, written once at the end.
        batch = self._batch
        number = batch.numbers.get(sequence)
        if number is None:
            row = self._conn.execute(
                "SELECT value FROM sequences WHERE name = ?", (sequence,)
            ).fetchone()
            number = 0 if row is None else int(row[0])
        # a failing savepoint gives its numbers back (as SQLite's own rollback
        # did): the number was used by nothing that is kept
        batch.set(batch.numbers, sequence, number + 1)  # written by batch.flush_all
        return number + 1

    # responses
    def get_ingest(self, response_id: str) -> IngestRecord | None:
        return self._one(
            "SELECT data FROM ingests WHERE response_id = ?", (response_id,), IngestRecord.from_dict
        )

    def stored_ingests(self, keys: Sequence[str]) -> Set[str]:
        found = self._stored_ingests(keys)
        self._batch.absent.update(dict.fromkeys(key for key in keys if key not in found))
        return found

    def _stored_ingests(self, keys: Sequence[str]) -> Set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self._conn.execute(
                    f"SELECT response_id FROM ingests WHERE response_id IN ({marks})",
                    tuple(chunk),
                )
            )
        return found

    def add_ingest(self, record: IngestRecord) -> None:
        batch = self._batch
        row = (record.key, record.customer_id, _us(record.ingested_at), _json(record))
        if record.key in batch.absent:  # known not stored: no conflict to detect now
            batch.forget(batch.absent, record.key)
            batch.defer("ingests", _ADD_INGEST, row)
            return
        try:
            self._conn.execute(_ADD_INGEST, row)
        except sqlite3.IntegrityError:
            what, kind = (
                ("response", "response")
                if record.response is not None
                else ("touchpoint signal", "signal")
            )
            raise ConflictError(
                f"{what} {record.key!r} is already stored; expected a key not stored before",
                key=record.key,
                kind=kind,
            ) from None

    def ingests(self, customer_id: str | None = None) -> Sequence[IngestRecord]:
        if customer_id is None:
            return self._all(
                "SELECT data FROM ingests ORDER BY ingested_us, response_id",
                (),
                IngestRecord.from_dict,
            )
        return self._all(
            "SELECT data FROM ingests WHERE customer_id = ? ORDER BY ingested_us, response_id",
            (customer_id,),
            IngestRecord.from_dict,
        )

    # cases
    def get_case(self, case_id: str) -> FollowUpCase | None:
        known = self._batch.case(case_id)
        if known is not None:  # saved or read in this transaction: no read, no flush
            return known
        return self._one("SELECT data FROM cases WHERE id = ?", (case_id,), FollowUpCase.from_dict)

    def save_case(self, case: FollowUpCase) -> None:
        text = _json(case)
        self._batch.defer(
            "cases",
            "INSERT OR REPLACE INTO cases (id, customer_id, topic, state, opened_us, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (case.id, case.customer_id, case.topic, case.state.value, _us(case.opened_at), text),
        )
        self._batch.case_saved(case)
        self._decoded.keep(text, FollowUpCase.from_dict, case)

    def find_unclosed_case(self, customer_id: str, topic: str) -> FollowUpCase | None:
        batch = self._batch
        if customer_id in batch.covered:
            known = batch.unclosed_case((customer_id, topic))
            if known is not MISSING:
                return known
        return self._one(
            "SELECT data FROM cases WHERE customer_id = ? AND topic = ? AND state <> 'closed'"
            " ORDER BY opened_us DESC, id DESC LIMIT 1",
            (customer_id, topic),
            FollowUpCase.from_dict,
        )

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        if customer_id is None:
            return self._all(
                "SELECT data FROM cases ORDER BY opened_us, id", (), FollowUpCase.from_dict
            )
        return self._all(
            "SELECT data FROM cases WHERE customer_id = ? ORDER BY opened_us, id",
            (customer_id,),
            FollowUpCase.from_dict,
        )

    # timers
    def add_timer(self, timer: Timer) -> None:
        self._batch.defer(
            "timers",
            "INSERT OR REPLACE INTO timers (id, case_id, due_us, data) VALUES (?, ?, ?, ?)",
            (timer.id, timer.case_id, _us(timer.due_at), _json(timer)),
        )

    def due_timers(self, now: datetime, limit: int) -> Sequence[Timer]:
        return self._all(
            "SELECT data FROM timers WHERE due_us <= ? ORDER BY due_us, id LIMIT ?",
            (_us(now), limit),
            Timer.from_dict,
        )

    def delete_timer(self, timer_id: str) -> None:
        self._conn.execute("DELETE FROM timers WHERE id = ?", (timer_id,))

    def delete_timers(self, case_id: str) -> None:
        self._conn.execute("DELETE FROM timers WHERE case_id = ?", (case_id,))

    def timers(self, case_id: str) -> Sequence[Timer]:
        return self._all(
            "SELECT data FROM timers WHERE case_id = ? ORDER BY due_us, id",
            (case_id,),
            Timer.from_dict,
        )

    # outbox
    def save_message(self, message: Message) -> None:
        due = message.next_attempt_at or message.not_before
        self._batch.defer(
            "messages",
            "INSERT OR REPLACE INTO messages (id, case_id, status, created_us, due_us, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                message.id,
                message.case_id,
                message.status.value,
                _us(message.created_at),
                _us(due),
                _json(message),
            ),
        )

    def get_message(self, message_id: str) -> Message | None:
        return self._one("SELECT data FROM messages WHERE id = ?", (message_id,), Message.from_dict)

    def due_messages(self, now: datetime, limit: int) -> Sequence[Message]:
        return self._all(
            "SELECT data FROM messages WHERE status = 'pending' AND due_us <= ?"
            " ORDER BY due_us, id LIMIT ?",
            (_us(now), limit),
            Message.from_dict,
        )

    def claim_messages(
        self, now: datetime, limit: int, worker: str, until: datetime
    ) -> Sequence[Message]:
        # The transaction began with BEGIN IMMEDIATE: no other connection can
        # write between this select and the update.
        rows = self._conn.execute(
            "SELECT id, data FROM messages WHERE status = 'pending' AND due_us <= ?1"
            " AND (claimed_until_us IS NULL OR claimed_until_us <= ?1)"
            " ORDER BY due_us, id LIMIT ?2",
            (_us(now), limit),
        ).fetchall()
        claim = _us(until)
        self._conn.executemany(
            "UPDATE messages SET claimed_by = ?, claimed_until_us = ? WHERE id = ?",
            [(worker, claim, row[0]) for row in rows],
        )
        decode = self._decoded.read
        return [decode(row[1], Message.from_dict) for row in rows]

    def claimed_by(self, message_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT claimed_by FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def claims(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Optional (see :mod:`loopkit.stores.protocol`): ``claimed_by`` of many."""
        found: dict[str, str] = {}
        for start in range(0, len(message_ids), _CHUNK):
            chunk = tuple(message_ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, claimed_by FROM messages WHERE id IN ({marks})"
            found.update((row[0], row[1]) for row in self._conn.execute(sql, chunk) if row[1])
        return found

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        return self._all(
            "SELECT data FROM messages WHERE (?1 IS NULL OR case_id = ?1)"
            " AND (?2 IS NULL OR status = ?2) ORDER BY created_us, id",
            (
                case_id,
                None if status is None else check_choice(MessageStatus, status, "status").value,
            ),
            Message.from_dict,
        )

    # promises
    def save_promise(self, promise: Promise) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO promises (id, case_id, status, made_us, due_us, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                promise.id,
                promise.case_id,
                promise.status.value,
                _us(promise.made_at),
                _us(promise.due_at),
                _json(promise),
            ),
        )

    def get_promise(self, promise_id: str) -> Promise | None:
        return self._one("SELECT data FROM promises WHERE id = ?", (promise_id,), Promise.from_dict)

    def due_promises(self, now: datetime, limit: int) -> Sequence[Promise]:
        return self._all(
            "SELECT data FROM promises WHERE status = ? AND due_us <= ?"
            " ORDER BY due_us, id LIMIT ?",
            (PromiseStatus.PENDING.value, _us(now), limit),
            Promise.from_dict,
        )

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        return self._all(
            "SELECT data FROM promises WHERE (?1 IS NULL OR case_id = ?1) ORDER BY made_us, id",
            (case_id,),
            Promise.from_dict,
        )

    # customers
    def save_customer(self, customer: Customer) -> None:
        self._batch.defer(
            "customers",
            "INSERT OR REPLACE INTO customers (id, data) VALUES (?, ?)",
            (customer.id, _json(customer)),
        )

    def get_customer(self, customer_id: str) -> Customer | None:
        return self._one(
            "SELECT data FROM customers WHERE id = ?", (customer_id,), Customer.from_dict
        )

    # the survey-flow guard
    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        batch = self._batch
        batch.defer(
            "survey_stops",
            "INSERT OR REPLACE INTO survey_stops (customer_id, case_id) VALUES (?, ?)",
            (customer_id, case_id),
        )
        if customer_id in batch.covered:
            batch.set(batch.stops, customer_id, case_id)

    def survey_stop(self, customer_id: str) -> str | None:
        if customer_id in self._batch.covered:
            return self._batch.stops[customer_id]
        row = self._conn.execute(
            "SELECT case_id FROM survey_stops WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def clear_survey_stop(self, customer_id: str) -> None:
        batch = self._batch
        batch.defer(
            "survey_stops", "DELETE FROM survey_stops WHERE customer_id = ?", (customer_id,)
        )
        if customer_id in batch.covered:
            batch.set(batch.stops, customer_id, None)

    def add_survey_invitation(self, customer_id: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO survey_invitations (customer_id, at_us, at) VALUES (?, ?, ?)",
            (customer_id, _us(at), format_instant(at)),
        )

    def survey_invitations(self, customer_id: str) -> Sequence[datetime]:
        rows = self._conn.execute(
            "SELECT at FROM survey_invitations WHERE customer_id = ? ORDER BY at_us, rowid",
            (customer_id,),
        )
        return [parse_instant(row[0], "survey_invitations.at") for row in rows]
