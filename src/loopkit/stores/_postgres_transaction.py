"""The PostgreSQL store's transaction: each operation of the store protocol as
SQL on one connection, its writes kept in a :class:`Journal` until they must go.

What a transaction wrote and has not sent is seen by its own reads by id
(``get_case`` and the like) from the journal; a query over many rows (lists,
due work) sends the journal first. The records of a batch's responses come in
one ``SELECT … = ANY`` (:meth:`PostgresTransaction.begin_batch`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence, Set
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import psycopg

from loopkit._input.choices import check_choice
from loopkit._input.instants import format_instant, instant_key, parse_instant
from loopkit.errors import ConflictError
from loopkit.model import Customer, FollowUpCase, Message, MessageStatus, Promise

from ._json_text import json_text  # the compact JSON of to_dict(), written directly
from ._open_policies import _PostgresOpenPolicies
from ._postgres_claims import PostgresClaims
from ._postgres_erasure import PostgresErasure
from ._postgres_known import Known
from ._postgres_ledger import PostgresLedger
from ._postgres_outcomes import PostgresOutcomes
from ._postgres_schema import SEQUENCES
from ._postgres_writes import DELETED, Journal, Write
from .records import IngestRecord, Timer

if TYPE_CHECKING:
    from .postgres import PostgresStore

T = TypeVar("T")

_US: Final = timedelta(microseconds=1)


def us(at: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch, in UTC."""
    return instant_key(at) // _US  # type: ignore[operator]


def _conflict(record: IngestRecord) -> ConflictError:
    what, kind = (
        ("response", "response") if record.response is not None else ("touchpoint signal", "signal")
    )
    return ConflictError(
        f"{what} {record.key!r} is already stored; expected a key not stored before",
        key=record.key,
        kind=kind,
    )


class _Savepoint:
    __slots__ = ("_tx",)

    def __init__(self, tx: PostgresTransaction) -> None:
        self._tx = tx

    def __enter__(self) -> None:
        self._tx._journal.begin()

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        tx = self._tx
        if tx._journal.end(tx._cursor, kind is not None):
            tx._known.clear()  # the server undid writes this transaction read back


class PostgresTransaction(
    PostgresLedger, PostgresErasure, PostgresOutcomes, _PostgresOpenPolicies, PostgresClaims
):
    """The operations of :class:`~loopkit.StoreTransaction` on one PostgreSQL
    connection (the ledger, erasure, outcomes and claims in mixins of their own)."""

    __slots__ = ("_cursor", "_journal", "_known", "_sql", "_store")

    def __init__(
        self, cursor: psycopg.Cursor[Any], sql: dict[str, bytes], store: PostgresStore
    ) -> None:
        self._cursor = cursor
        self._sql = sql
        self._journal = Journal(sql)
        self._known = Known(store._cases)
        self._store = store

    # plumbing ------------------------------------------------------------------

    def _query(self, name: str, args: Any) -> list[tuple[Any, ...]]:
        self.flush()
        return self._cursor.execute(self._sql[name], args).fetchall()

    def _get(self, name: str, args: Any) -> Any:
        row = self._cursor.execute(self._sql[name], args).fetchone()
        return None if row is None else row[0]

    def _all(self, name: str, args: Any, read: Any) -> list[Any]:
        return [read(json.loads(row[0])) for row in self._query(name, args)]

    def flush(self) -> None:
        """Send the writes not sent yet."""
        if self._journal.pending:
            self._journal.send(self._cursor, self._sent)

    def _send_all(self) -> None:
        """Send the journal, its open savepoints too, before a write that goes
        straight to the server (a savepoint block that fails must undo it)."""
        self._journal.send(self._cursor, self._sent)

    def _sent(self, write: Write) -> None:
        if write.view == "ingests":
            self._known.ingests.pop(write.key, None)  # on the server now: read it there
        elif write.view == "cases":
            self._known.case_written(write.value)
        elif write.view == "stops" or write.view == "watches":
            read = self._known.stops if write.view == "stops" else self._known.watches
            read[write.key] = None if write.value is DELETED else write.value

    def savepoint(self) -> _Savepoint:
        """A journal mark, made a ``SAVEPOINT`` on the server only when writes
        are sent while it is open."""
        return _Savepoint(self)

    def next_number(self, sequence: str) -> int:
        if sequence in SEQUENCES:  # numbers come in blocks, kept by the store
            return self._store.take_number(sequence, self._cursor)
        found = self._cursor.execute(self._sql["next_number"], (sequence,)).fetchone()
        assert found is not None
        return int(found[0])

    # responses and touchpoint signals -------------------------------------------

    def begin_batch(self, keys: Iterable[str], customer_ids: Iterable[str] = ()) -> None:
        """Prepare for a batch of ingests: lock its customers (sorted, so that
        workers whose batches share customers take turns instead of
        deadlocking), then read in one query each the records of its keys and
        the cases they may touch (the customers' open cases, and the cases of
        records stored before), locked, and the customers' survey stops and
        recovery watches, for the reads that follow."""
        customers = sorted(set(customer_ids))
        known = self._known
        wanted = [k for k in dict.fromkeys(keys) if k not in known.ingests]
        if not customers and not wanted:
            return
        self.flush()
        sql, conn = self._sql, self._cursor.connection
        # one round trip: the server runs them in order, the lock first
        with conn.pipeline():
            if customers:
                conn.cursor().execute(sql["lock_customers"], (customers,))
            records = conn.cursor().execute(sql["get_ingests"], (wanted,)) if wanted else None
            if customers:
                cases = conn.cursor().execute(sql["batch_cases"], (customers, wanted))
                stops = conn.cursor().execute(sql["batch_stops"], (customers,))
                watches = conn.cursor().execute(sql["batch_watches"], (customers,))
        if records is not None:
            found: dict[str, IngestRecord | None] = dict.fromkeys(wanted)
            for key, data in records.fetchall():
                found[key] = IngestRecord.from_dict(json.loads(data))
            known.ingests.update(found)
        if customers:
            known.read_cases(cases.fetchall(), customers)
            known.stops.update(dict.fromkeys(customers))
            known.stops.update(stops.fetchall())
            known.watches.update(dict.fromkeys(customers))
            known.watches.update(watches.fetchall())

    def get_ingest(self, response_id: str) -> IngestRecord | None:
        seen = self._journal.seen("ingests", response_id, DELETED)
        if seen is not DELETED:
            return seen  # type: ignore[no-any-return]
        if response_id in self._known.ingests:
            return self._known.ingests[response_id]
        data = self._get("get_ingest", (response_id,))
        return None if data is None else IngestRecord.from_dict(json.loads(data))

    def stored_ingests(self, keys: Sequence[str]) -> Set[str]:
        """From what this transaction wrote or read (a batch's records, read by
        :meth:`begin_batch`), and one ``= ANY`` query for the other keys."""
        found: set[str] = set()
        asked: list[str] = []
        written: dict[str, Any] = self._journal.views.get("ingests", {})
        known = self._known.ingests
        for key in dict.fromkeys(keys):
            if written.get(key) is not None or known.get(key) is not None:
                found.add(key)
            elif key not in known:  # not read, not written (unsent writes are all in views)
                asked.append(key)
        if asked:
            found.update(
                row[0] for row in self._cursor.execute(self._sql["stored_ingests"], (asked,))
            )
        return found

    def add_ingest(self, record: IngestRecord) -> None:
        key = record.key
        params = (
            key,
            record.customer_id,
            record.case_id,
            us(record.ingested_at),
            json_text(record),
        )
        known = self._known.ingests
        if self._journal.seen("ingests", key) is not None or known.get(key) is not None:
            raise _conflict(record)
        if key not in known:  # not read before: insert now, to answer now
            self._send_all()  # savepoints too: it must be undone
            cursor = self._cursor.execute(self._sql["add_ingest_checked"], params)
            if cursor.rowcount == 0:
                raise _conflict(record)
            return
        # Read as absent in this transaction: a unique key guards the insert
        # (a worker that stored it since makes the commit fail, to be retried).
        self._journal.add(Write("add_ingest", "ingests", params, "ingests", key, record))

    def ingests(self, customer_id: str | None = None) -> Sequence[IngestRecord]:
        if customer_id is None:
            return self._all("ingests", (), IngestRecord.from_dict)
        return self._all("ingests_of", (customer_id,), IngestRecord.from_dict)

    # cases ---------------------------------------------------------------------

    def get_case(self, case_id: str) -> FollowUpCase | None:
        seen = self._journal.seen("cases", case_id)
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        case = self._known.case(case_id)
        if case is not None:
            return case
        data = self._get("get_case", (case_id,))
        if data is None:
            return None
        case = self._known.cases[case_id] = self._store._cases.read(data)
        return case

    def save_case(self, case: FollowUpCase) -> None:
        params = (
            case.id,
            case.customer_id,
            case.topic,
            case.state.value,
            us(case.opened_at),
            text := json_text(case),
        )
        self._journal.add(Write("save_case", "cases", params, "cases", case.id, case))
        self._store._cases.keep(text, case)

    def find_unclosed_case(self, customer_id: str, topic: str) -> FollowUpCase | None:
        written: dict[str, FollowUpCase] = self._journal.views.get("cases", {})
        mine = [
            c
            for c in written.values()
            if c.customer_id == customer_id and c.topic == topic and not c.is_closed
        ]
        if mine:
            return max(mine, key=lambda c: (instant_key(c.opened_at), c.id))
        known = self._known.unclosed_case(customer_id, topic, written)
        if known is not False:
            return known  # type: ignore[return-value]
        row = self._cursor.execute(self._sql["find_unclosed_case"], (customer_id, topic)).fetchone()
        if row is None:
            return None
        if row[0] in written:  # written since: closed, or moved to another topic
            return None
        return self._store._cases.read(row[1])

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        rows: list[tuple[Any, ...]]
        if customer_id is None:
            rows = self._query("cases", ())
        else:
            rows = self._query("cases_of", (customer_id,))
        return [self._store._cases.read(row[0]) for row in rows]

    # timers --------------------------------------------------------------------

    def add_timer(self, timer: Timer) -> None:
        params = (timer.id, timer.case_id, us(timer.due_at), json_text(timer))
        self._journal.add(Write("add_timer", "timers", params))

    def due_timers(self, now: datetime, limit: int) -> Sequence[Timer]:
        return self._all("due_timers", (us(now), limit), Timer.from_dict)

    def delete_timer(self, timer_id: str) -> None:
        self._journal.add(Write("delete_timer", "timers", (timer_id,)))

    def delete_timers(self, case_id: str) -> None:
        self._journal.add(Write("delete_timers", "timers", (case_id,)))

    def timers(self, case_id: str) -> Sequence[Timer]:
        return self._all("timers", (case_id,), Timer.from_dict)

    # outbox --------------------------------------------------------------------

    def save_message(self, message: Message) -> None:
        due = message.next_attempt_at or message.not_before
        params = (
            message.id,
            message.case_id,
            message.status.value,
            us(message.created_at),
            us(due),
            json_text(message),
        )
        self._journal.add(
            Write("save_message", "messages", params, "messages", message.id, message)
        )

    def get_message(self, message_id: str) -> Message | None:
        seen = self._journal.seen("messages", message_id)
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        data = self._get("get_message", (message_id,))
        return None if data is None else Message.from_dict(json.loads(data))

    def due_messages(self, now: datetime, limit: int) -> Sequence[Message]:
        return self._all("due_messages", (us(now), limit), Message.from_dict)

    def claim_messages(
        self, now: datetime, limit: int, worker: str, until: datetime
    ) -> Sequence[Message]:
        rows = self._query(
            "claim_messages", {"worker": worker, "until": us(until), "now": us(now), "limit": limit}
        )
        rows.sort(key=lambda row: (row[0], row[1]))
        return [Message.from_dict(json.loads(row[2])) for row in rows]

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]:
        wanted = None if status is None else check_choice(MessageStatus, status, "status").value
        return self._all("messages", {"case": case_id, "status": wanted}, Message.from_dict)

    # promises ------------------------------------------------------------------

    def save_promise(self, promise: Promise) -> None:
        params = (
            promise.id,
            promise.case_id,
            promise.status.value,
            us(promise.made_at),
            us(promise.due_at),
            json_text(promise),
        )
        self._journal.add(
            Write("save_promise", "promises", params, "promises", promise.id, promise)
        )

    def get_promise(self, promise_id: str) -> Promise | None:
        seen = self._journal.seen("promises", promise_id)
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        data = self._get("get_promise", (promise_id,))
        return None if data is None else Promise.from_dict(json.loads(data))

    def due_promises(self, now: datetime, limit: int) -> Sequence[Promise]:
        return self._all("due_promises", (us(now), limit), Promise.from_dict)

    def promises(self, case_id: str | None = None) -> Sequence[Promise]:
        return self._all("promises", {"case": case_id}, Promise.from_dict)

    # customers -----------------------------------------------------------------

    def save_customer(self, customer: Customer) -> None:
        params = (customer.id, json_text(customer))
        self._journal.add(
            Write("save_customer", "customers", params, "customers", customer.id, customer)
        )

    def get_customer(self, customer_id: str) -> Customer | None:
        seen = self._journal.seen("customers", customer_id)
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        data = self._get("get_customer", (customer_id,))
        return None if data is None else Customer.from_dict(json.loads(data))

    # the survey-flow guard -----------------------------------------------------

    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        self._journal.add(
            Write(
                "set_survey_stop",
                "survey_stops",
                (customer_id, case_id),
                "stops",
                customer_id,
                case_id,
            )
        )

    def survey_stop(self, customer_id: str) -> str | None:
        seen = self._journal.seen("stops", customer_id)
        if seen is not None:
            return None if seen is DELETED else str(seen)
        if customer_id in self._known.stops:
            return self._known.stops[customer_id]
        data = self._get("survey_stop", (customer_id,))
        return None if data is None else str(data)

    def clear_survey_stop(self, customer_id: str) -> None:
        self._journal.add(
            Write(
                "clear_survey_stop", "survey_stops", (customer_id,), "stops", customer_id, DELETED
            )
        )

    def add_survey_invitation(self, customer_id: str, at: datetime) -> None:
        params = (customer_id, us(at), format_instant(at))
        self._journal.add(Write("add_survey_invitation", "survey_invitations", params))

    def survey_invitations(self, customer_id: str) -> Sequence[datetime]:
        rows = self._query("survey_invitations", (customer_id,))
        return [parse_instant(row[0], "survey_invitations.at") for row in rows]
