"""``loopkit migrate``: a database's layout brought up to this loopkit's before
new workers start, on SQLite and PostgreSQL; ``opened_at_version`` says what
the store found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loopkit import SQLiteStore
from loopkit.cli import main
from loopkit.stores.sqlite import _MIGRATIONS, APPLICATION_ID, SCHEMA_VERSION


def _version_one(db: Path) -> None:
    """A file as the first loopkit with a SQLite store wrote it."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(_MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    conn.close()


def _user_version(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_the_store_says_which_layout_it_found(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "new.db") as store:
        assert store.opened_at_version == 0  # a new file
    with SQLiteStore(tmp_path / "new.db") as store:
        assert store.opened_at_version == SCHEMA_VERSION
    _version_one(tmp_path / "old.db")
    with SQLiteStore(tmp_path / "old.db") as store:
        assert store.opened_at_version == 1
    assert _user_version(tmp_path / "old.db") == SCHEMA_VERSION


def test_migrate_upgrades_an_old_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "old.db"
    _version_one(db)

    assert main(["migrate", "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{db}: layout version 1 upgraded to {SCHEMA_VERSION}\n"
    assert err == ""
    assert _user_version(db) == SCHEMA_VERSION

    assert main(["migrate", "--db", str(db)]) == 0
    out, _ = capsys.readouterr()
    assert out == f"{db}: layout version {SCHEMA_VERSION}, already this loopkit's\n"


def test_migrate_creates_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "typo.db"
    assert main(["migrate", "--db", str(db)]) == 2
    _, err = capsys.readouterr()
    assert "database not found" in err
    assert not db.exists()


def test_migrate_refuses_a_file_of_a_newer_loopkit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "future.db"
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    assert main(["migrate", "--db", str(db)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "newer loopkit" in err
    assert _user_version(db) == SCHEMA_VERSION + 1  # left as it was


def test_migrate_creates_the_postgresql_layout_without_showing_the_dsn(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    from loopkit.stores.postgres import SCHEMA_VERSION as PG_VERSION

    def drop() -> None:  # the command's schema is the default one, "loopkit"
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS loopkit CASCADE")

    drop()
    try:
        assert main(["migrate", "--db", postgres_dsn]) == 0
        assert main(["migrate", "--db", postgres_dsn]) == 0
    finally:
        drop()
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"the PostgreSQL database: layout version {PG_VERSION} created",
        f"the PostgreSQL database: layout version {PG_VERSION}, already this loopkit's",
    ]
    assert postgres_dsn not in out + err
