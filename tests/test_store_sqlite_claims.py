"""The SQLite store under contention: claims survive an upgrade from a file
written before them, and opening a file waits for another connection's lock
(up to ``timeout``) instead of failing at once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loopkit import Message, SQLiteStore
from loopkit.stores.sqlite import _MIGRATIONS, APPLICATION_ID, SCHEMA_VERSION

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _message(id: str) -> Message:
    return Message(
        id=id,
        case_id="case-1",
        customer_id="c-1",
        channel="email",
        purpose="follow_up",
        created_at=T0,
        not_before=T0,
    )


def test_a_file_from_before_claims_is_upgraded_and_its_messages_can_be_claimed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "v1.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(_MIGRATIONS[0])  # the version 1 layout, without claims
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    us = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    conn.execute(
        "INSERT INTO messages (id, case_id, status, created_us, due_us, data)"
        " VALUES (?, ?, 'pending', ?, ?, ?)",
        ("m-1", "case-1", us, us, json.dumps(_message("m-1").to_dict())),
    )
    conn.close()

    with SQLiteStore(db) as store, store.transaction() as tx:
        assert tx.claim_messages(T0, 10, "w-1", T0 + timedelta(minutes=5)) == [_message("m-1")]
        assert tx.claimed_by("m-1") == "w-1"
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 4


def _hold_write_lock(db: Path, release: threading.Event) -> threading.Thread:
    """Another connection takes the file's write lock (before the file uses
    the write-ahead log) and keeps it until ``release`` is set."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")

    def hold() -> None:
        release.wait(timeout=30)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_opening_a_new_file_waits_while_another_connection_writes(tmp_path: Path) -> None:
    # SQLite's busy timeout does not cover this case by itself: switching a
    # new file to the write-ahead log while another connection holds the
    # write lock answers "database is locked" at once.
    db = tmp_path / "new.db"
    release = threading.Event()
    holder = _hold_write_lock(db, release)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    with SQLiteStore(db, timeout=20) as store, store.transaction() as tx:
        assert tx.next_number("n") == 1
    waited = time.monotonic() - started
    holder.join()
    assert 0.2 < waited < 20


def test_opening_gives_up_after_the_timeout(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    release = threading.Event()
    holder = _hold_write_lock(db, release)
    started = time.monotonic()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            SQLiteStore(db, timeout=0.3)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert 0.25 < waited < 10  # waited for the lock, then gave up while it was still held
    SQLiteStore(db).close()  # free again: opens
