"""Fixtures shared by the PostgreSQL tests: a server, and a fresh schema per test.

The server is the one ``LOOPKIT_TEST_POSTGRES_DSN`` names (CI starts one), or
else a throwaway cluster started for the session when PostgreSQL is installed
(``initdb`` and ``pg_ctl``). Without either, the PostgreSQL tests skip, saying
why; with ``LOOPKIT_REQUIRE_POSTGRES=1`` (set by CI) they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _server_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("postgres_server", HERE / "postgres_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests skipped: the server could not start ({reason})"
    if os.environ.get("LOOPKIT_REQUIRE_POSTGRES"):
        pytest.fail(message.replace("skipped", "required (LOOPKIT_REQUIRE_POSTGRES)"))
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of a PostgreSQL server the tests may create schemas in."""
    given = os.environ.get("LOOPKIT_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[dev]'")
    server = _server_module()
    where = Path(tempfile.mkdtemp(prefix="loopkit-pg-")) / "cluster"
    try:
        dsn = server.start(where)
    except (RuntimeError, OSError) as err:
        shutil.rmtree(where.parent, ignore_errors=True)
        _unavailable(str(err))
    try:
        yield dsn
    finally:
        server.stop(where)
        shutil.rmtree(where.parent, ignore_errors=True)


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name of this test's own, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def story_store(request: pytest.FixtureRequest) -> Iterator[object]:
    """The store a story runs on: ``None`` (the loop's own memory store), an
    in-memory SQLite database, or a fresh PostgreSQL schema; closed afterwards."""
    if request.param == "memory":
        yield None
        return
    import loopkit

    store: loopkit.Store
    if request.param == "sqlite":
        store = loopkit.SQLiteStore(":memory:")
    else:
        from loopkit.stores.postgres import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        store = PostgresStore(dsn, schema=request.getfixturevalue("postgres_schema"))
    yield store
    store.close()
