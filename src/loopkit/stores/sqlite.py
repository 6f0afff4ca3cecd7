"""The embedded SQLite store: loopkit's state in one file, with nothing to install.

Every value is kept as the JSON of its ``to_dict()`` and read back with
``from_dict()``; what queries filter or sort on (ids, customer, case, status,
due times) sits beside it in indexed columns. Times in those columns are
integer microseconds since the Unix epoch in UTC, so rows sort by the instant
they name whatever offset they were written with.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar

from loopkit._input.choices import check_choice
from loopkit._input.instants import format_instant, instant_key, parse_instant
from loopkit.errors import ConflictError, ValidationError, describe
from loopkit.model import Customer, FollowUpCase, Message, MessageStatus, Promise, PromiseStatus

from .records import IngestRecord, Timer

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

T = TypeVar("T")

SCHEMA_VERSION: Final = 3
"""The layout this loopkit writes (``PRAGMA user_version``); older files are upgraded."""

APPLICATION_ID: Final = 0x6C6F6F70  # "loop": marks the file as a loopkit database
_US: Final = timedelta(microseconds=1)
_SYNCHRONOUS: Final = {"full": "PRAGMA synchronous = FULL", "normal": "PRAGMA synchronous = NORMAL"}

_SCHEMA: Final = """
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE ingests (
    response_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    ingested_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ingests_by_time ON ingests (ingested_us, response_id);
CREATE INDEX ingests_by_customer ON ingests (customer_id, ingested_us, response_id);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    topic TEXT,
    state TEXT NOT NULL,
    opened_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX cases_by_time ON cases (opened_us, id);
CREATE INDEX cases_by_customer ON cases (customer_id, opened_us, id);
CREATE INDEX cases_unclosed ON cases (customer_id, topic) WHERE state <> 'closed';
CREATE TABLE timers (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    due_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX timers_by_due ON timers (due_us, id);
CREATE INDEX timers_by_case ON timers (case_id);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    due_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX messages_by_time ON messages (created_us, id);
CREATE INDEX messages_by_case ON messages (case_id, created_us, id);
CREATE INDEX messages_pending ON messages (due_us, id) WHERE status = 'pending';
CREATE TABLE promises (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    made_us INTEGER NOT NULL,
    due_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX promises_by_time ON promises (made_us, id);
CREATE INDEX promises_by_case ON promises (case_id, made_us, id);
CREATE INDEX promises_pending ON promises (due_us, id) WHERE status = 'pending';
CREATE TABLE survey_stops (
    customer_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE survey_invitations (
    customer_id TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX survey_invitations_by_customer ON survey_invitations (customer_id, at_us);
"""

_TABLES: Final = frozenset(
    {
        "sequences",
        "ingests",
        "cases",
        "timers",
        "messages",
        "promises",
        "survey_stops",
        "survey_invitations",
        "customers",
    }
)

_CLAIMS: Final = """
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN claimed_until_us INTEGER;
"""
"""Version 2: a worker claims the messages it is about to send (saving a
message writes the row anew, which releases the claim)."""

_CUSTOMERS: Final = """
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
) WITHOUT ROWID;
"""
"""Version 3: the latest copy of each customer a case was opened for."""

_MIGRATIONS: Final[dict[int, str]] = {0: _SCHEMA, 1: _CLAIMS, 2: _CUSTOMERS}
"""The script that takes a file from version ``n`` to ``n + 1``."""


def _us(at: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch, in UTC."""
    return instant_key(at) // _US  # type: ignore[operator]


_ENCODE: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode
"""Compact JSON, made once (``json.dumps`` with options builds an encoder per call).
``to_dict()`` gives trees of plain values, so the circular-reference check is skipped."""

_NEXT_NUMBER: Final = (
    "INSERT INTO sequences (name, value) VALUES (?, 1)"
    " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
    if sqlite3.sqlite_version_info >= (3, 35)
    else None
)
"""One statement that counts and answers (SQLite 3.35+ has ``RETURNING``)."""


def _json(value: Any) -> str:
    return _ENCODE(value.to_dict())


class SQLiteStore:
    """Keeps the loop's state in an SQLite database file (stdlib ``sqlite3`` only).

    ``path`` is a file (created with its schema if new) or ``":memory:"``.
    Each ``with store.transaction() as tx:`` block is one SQLite transaction,
    begun with ``BEGIN IMMEDIATE``: it takes the database's write lock at once,
    so transactions of several processes on one file run one after the other
    (a process waits up to ``timeout`` seconds for the lock). A block that
    raises is rolled back completely; a transaction opened inside another is
    part of the outer one.

    ``synchronous`` chooses how hard a commit waits for the disk (SQLite's
    ``PRAGMA synchronous``), and so what a crash can take back:

    - ``"full"`` (the default): a commit returns only after the write-ahead
      log is synced to disk. A committed transaction survives a killed
      process, an operating-system crash and a power cut.
    - ``"normal"``: the log is synced only when it is checkpointed into the
      database, not at each commit, which makes a commit several times
      cheaper. A committed transaction still survives a killed process (the
      operating system has the data), and the file is never corrupted, but
      an operating-system crash or a power cut may roll back the last
      transactions before the crash. Choose it when the feed can be ingested
      again after such a crash (ingesting is idempotent by response id), or
      for files you can rebuild. ``":memory:"`` databases ignore it.

    One store holds one connection. It may be shared by the threads of one
    process: the connection is opened with ``check_same_thread=False`` and a
    lock lets one thread at a time run a transaction (the others wait), which
    is what makes sharing it safe. For parallel work, give each worker process
    its own store on the same file.

    >>> store = SQLiteStore(":memory:")
    >>> with store.transaction() as tx:
    ...     tx.next_number("case"), tx.next_number("case")
    (1, 2)
    >>> store.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        timeout: float = 30.0,
        synchronous: Literal["full", "normal"] = "full",
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise ValidationError(
                "synchronous", "'full' or 'normal'", describe(synchronous), source=os.fspath(path)
            )
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._depth = 0
        self._decoded = _Decoded()
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            _patiently(self._open_schema, timeout)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        if self.synchronous == "full":
            return f"SQLiteStore({self.path!r})"
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------

    def _open_schema(self) -> None:
        conn = self._connection()
        try:
            app = conn.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError):
                raise
            raise self._not_ours("a SQLite database", "a file of another kind") from None
        if app not in (0, APPLICATION_ID):
            raise self._not_ours("a loopkit database", f"application_id {app}")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(_SYNCHRONOUS[self.synchronous])
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValidationError(
                    "user_version",
                    f"a loopkit schema version up to {SCHEMA_VERSION}",
                    str(version),
                    hint="the file was written by a newer loopkit: upgrade loopkit to open it",
                    source=self.path,
                )
            if version == 0:
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if names & _TABLES:
                    raise self._not_ours(
                        "an empty file or a loopkit database",
                        f"tables {sorted(names & _TABLES)} without a loopkit schema version",
                    )
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _not_ours(self, expected: str, got: str) -> ValidationError:
        return ValidationError("database", expected, got, source=self.path)

    # -- transactions ------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is closed")
        return self._conn

    def transaction(self) -> _Transaction:
        """One SQLite transaction (``BEGIN IMMEDIATE``); a block that raises is
        rolled back completely. A transaction opened inside another is part of
        the outer one."""
        return _Transaction(self)

    def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class _Transaction:
    """The context manager :meth:`SQLiteStore.transaction` returns."""

    __slots__ = ("_outermost", "_store", "_tx")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._outermost = False
        self._tx: SQLiteTransaction | None = None

    def __enter__(self) -> SQLiteTransaction:
        store = self._store
        store._lock.acquire()
        try:
            conn = store._connection()
            if store._depth == 0:
                _patiently(lambda: conn.execute("BEGIN IMMEDIATE"), store.timeout)
                self._outermost = True
            store._depth += 1
        except BaseException:
            store._lock.release()
            raise
        self._tx = SQLiteTransaction(conn, store._decoded)
        return self._tx

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        try:
            store._depth -= 1
            if self._tx is not None:
                self._tx._conn = _ENDED
            if self._outermost:
                conn = store._connection()
                if kind is None:
                    try:
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                elif conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            store._lock.release()


class _Savepoint:
    """The context manager :meth:`SQLiteTransaction.savepoint` returns."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("SAVEPOINT loopkit_item")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None:
            self._conn.execute("ROLLBACK TO loopkit_item")
        self._conn.execute("RELEASE loopkit_item")


def _busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite said "busy" or "locked": another connection holds a lock."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(error)
    return "locked" in text or "busy" in text


def _patiently(action: Callable[[], T], timeout: float) -> T:
    """Run ``action``, again and again while SQLite answers "busy", for up to
    ``timeout`` seconds in all.

    SQLite's busy timeout makes a statement wait for a lock, but not always:
    where waiting could deadlock (two connections that both read, then both
    want to write, as when new files switch to the write-ahead log) SQLite
    answers "database is locked" at once. Starting over is then safe: the
    action holds nothing when it fails.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            return action()
        except sqlite3.OperationalError as err:
            left = deadline - time.monotonic()
            if not _busy(err) or left <= 0:
                raise
        # jittered, so that retries of several processes do not collide
        time.sleep(min(left, delay * (0.5 + random.random())))
        delay = min(delay * 2, 0.1)


class _Ended:
    """Stands in for the connection once a transaction block has ended."""

    def execute(self, *args: object) -> sqlite3.Cursor:
        raise RuntimeError("SQLiteStore: this transaction has ended; open a new one")


_ENDED: Final[Any] = _Ended()


class _Decoded:
    """Values this store wrote or read lately, by their JSON text: a row whose
    text is unchanged is the same value, so it is not decoded (and checked)
    again. Bounded; a text written by another process is simply not found."""

    __slots__ = ("_values",)

    _SIZE: Final = 4096

    def __init__(self) -> None:
        self._values: dict[tuple[Callable[[Any], Any], str], Any] = {}

    def read(self, text: str, read: Callable[[Any], T]) -> T:
        key = (read, text)
        value = self._values.get(key)
        if value is None:
            value = read(json.loads(text))
            self.keep(text, read, value)
        return value

    def keep(self, text: str, read: Callable[[Any], Any], value: Any) -> None:
        values = self._values
        if len(values) >= self._SIZE:  # drop the older half
            for key in list(itertools.islice(values, self._SIZE // 2)):
                del values[key]
        values[(read, text)] = value


class SQLiteTransaction:
    """The operations of :class:`~loopkit.StoreTransaction` on one SQLite connection.

    Parameters always go in as ``?`` placeholders, never formatted into SQL.
    """

    __slots__ = ("_conn", "_decoded")

    def __init__(self, conn: sqlite3.Connection, decoded: _Decoded) -> None:
        self._conn = conn
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
        return _Savepoint(self._conn)

    def next_number(self, sequence: str) -> int:
        if _NEXT_NUMBER is not None:
            return int(self._conn.execute(_NEXT_NUMBER, (sequence,)).fetchone()[0])
        row = self._conn.execute(
            "SELECT value FROM sequences WHERE name = ?", (sequence,)
        ).fetchone()
        number = 1 if row is None else row[0] + 1
        self._conn.execute(
            "INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)", (sequence, number)
        )
        return int(number)

    # responses
    def get_ingest(self, response_id: str) -> IngestRecord | None:
        return self._one(
            "SELECT data FROM ingests WHERE response_id = ?", (response_id,), IngestRecord.from_dict
        )

    def add_ingest(self, record: IngestRecord) -> None:
        try:
            self._conn.execute(
                "INSERT INTO ingests (response_id, customer_id, ingested_us, data)"
                " VALUES (?, ?, ?, ?)",
                (record.key, record.customer_id, _us(record.ingested_at), _json(record)),
            )
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
        return self._one("SELECT data FROM cases WHERE id = ?", (case_id,), FollowUpCase.from_dict)

    def save_case(self, case: FollowUpCase) -> None:
        text = _json(case)
        self._conn.execute(
            "INSERT OR REPLACE INTO cases (id, customer_id, topic, state, opened_us, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (case.id, case.customer_id, case.topic, case.state.value, _us(case.opened_at), text),
        )
        self._decoded.keep(text, FollowUpCase.from_dict, case)

    def find_unclosed_case(self, customer_id: str, topic: str) -> FollowUpCase | None:
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
        self._conn.execute(
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
        self._conn.execute(
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
        self._conn.execute(
            "INSERT OR REPLACE INTO customers (id, data) VALUES (?, ?)",
            (customer.id, _json(customer)),
        )

    def get_customer(self, customer_id: str) -> Customer | None:
        return self._one(
            "SELECT data FROM customers WHERE id = ?", (customer_id,), Customer.from_dict
        )

    # the survey-flow guard
    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO survey_stops (customer_id, case_id) VALUES (?, ?)",
            (customer_id, case_id),
        )

    def survey_stop(self, customer_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT case_id FROM survey_stops WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def clear_survey_stop(self, customer_id: str) -> None:
        self._conn.execute("DELETE FROM survey_stops WHERE customer_id = ?", (customer_id,))

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
