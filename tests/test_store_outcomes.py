"""The outcome tables in the SQLite store: a file of schema version 3 (before
issues and re-survey watches) is upgraded, its cases kept, and the new tables work."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from loopkit import FollowUpCase, SQLiteStore
from loopkit.outcomes import SystemicIssue
from loopkit.stores.sqlite import _MIGRATIONS, APPLICATION_ID, SCHEMA_VERSION

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def test_a_version_3_file_is_upgraded_with_the_outcome_tables(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    conn = sqlite3.connect(db)
    for step in range(3):
        conn.executescript(_MIGRATIONS[step])
    conn.execute("PRAGMA user_version = 3")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    conn.commit()
    conn.close()
    with SQLiteStore(db) as store:
        with store.transaction() as tx:
            tx.save_case(FollowUpCase.open(id="case-1", customer_id="c-1", at=T0, by="x"))
            tx.save_issue(SystemicIssue(cause="late_delivery", count=1, first_seen=T0))
            tx.set_recovery_watch("c-1", "case-1")
        with store.transaction() as tx:
            assert [i.cause for i in tx.issues()] == ["late_delivery"]
            assert tx.recovery_watch("c-1") == "case-1"
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_upgrading_twice_is_harmless(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.executescript(_MIGRATIONS[3])  # CREATE TABLE IF NOT EXISTS: nothing happens
    conn.close()
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert list(tx.issues()) == []
