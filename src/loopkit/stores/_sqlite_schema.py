"""The SQLite store's file: its layout, the steps that upgrade an older one, and
opening it while other processes may hold its lock.

The layout's version is the file's ``PRAGMA user_version``; its
``PRAGMA application_id`` marks it as a loopkit database. Times are kept as
integer microseconds since the Unix epoch in UTC (see ``_sqlite_transaction``).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import Final, TypeVar

from loopkit.errors import ValidationError

from ._sqlite_ledger import LEDGER_TABLE_NAMES, LEDGER_TABLES

T = TypeVar("T")

SCHEMA_VERSION: Final = 6
"""The layout this loopkit writes (``PRAGMA user_version``); older files are upgraded."""

APPLICATION_ID: Final = 0x6C6F6F70  # "loop": marks the file as a loopkit database
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
        "erasures",
        *LEDGER_TABLE_NAMES,
        "issues",
        "recovery_watches",
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

_ERASURES: Final = """
CREATE TABLE IF NOT EXISTS erasures (
    customer_id TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS erasures_by_customer ON erasures (customer_id, at_us);
"""
"""Version 4: the record of each erasure of personal data (no personal data in it)."""

_OUTCOME_TABLES: Final = """
CREATE TABLE IF NOT EXISTS issues (
    cause TEXT PRIMARY KEY,
    first_us INTEGER,
    data TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recovery_watches (
    customer_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL
) WITHOUT ROWID;
"""
"""Version 6 (outcomes): systemic issues by root cause, and each customer's
closed case waiting for their next answer (the re-survey's bookkeeping)."""

_MIGRATIONS: Final[dict[int, str]] = {
    0: _SCHEMA,
    1: _CLAIMS,
    2: _CUSTOMERS,
    3: _ERASURES,
    4: LEDGER_TABLES,  # version 5, compensation: the ledger (stores/_sqlite_ledger.py)
    5: _OUTCOME_TABLES,
}
"""The script that takes a file from version ``n`` to ``n + 1``."""


def _open_schema(conn: sqlite3.Connection, path: str, synchronous: str) -> int:
    """Check that the file at ``path`` is empty or loopkit's, then create or
    upgrade its layout to :data:`SCHEMA_VERSION` in one transaction; the
    version it had (0 for a new file)."""
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as err:
        if isinstance(err, sqlite3.OperationalError):
            raise
        raise _not_ours(path, "a SQLite database", "a file of another kind") from None
    if app not in (0, APPLICATION_ID):
        raise _not_ours(path, "a loopkit database", f"application_id {app}")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(_SYNCHRONOUS[synchronous])
    # Freed space is overwritten with zeros, so erased personal data does not
    # linger in the file's free pages or in the unused part of a page.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValidationError(
                "user_version",
                f"a loopkit schema version up to {SCHEMA_VERSION}",
                str(version),
                hint="the file was written by a newer loopkit: upgrade loopkit to open it",
                source=path,
            )
        if version == 0:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if names & _TABLES:
                raise _not_ours(
                    path,
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
    return int(version)


def _not_ours(path: str, expected: str, got: str) -> ValidationError:
    return ValidationError("database", expected, got, source=path)


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
