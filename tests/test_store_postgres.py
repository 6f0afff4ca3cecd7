"""The PostgreSQL store passes the store contract, keeps what it was given
across reopening, upgrades and refuses schemas, says what is wrong with a DSN
without its password, and runs the whole loop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import loopkit
from loopkit import ConflictError, StoreConnectionError, ValidationError
from loopkit.stores import Store
from loopkit.stores.postgres import SCHEMA_VERSION, PostgresStore
from loopkit.testing import (
    FakeClock,
    RecordingChannel,
    StoreContract,
    make_customer,
    make_response,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _where(self, postgres_dsn: str, postgres_schema: str) -> None:
        self.dsn, self.schema = postgres_dsn, postgres_schema

    def make_store(self) -> Store:
        return PostgresStore(self.dsn, schema=self.schema)


class TestPostgresStoreOnAGivenConnection(StoreContract):
    @pytest.fixture(autouse=True)
    def _where(self, postgres_dsn: str, postgres_schema: str) -> Iterator[None]:
        self.conn = psycopg.connect(postgres_dsn, autocommit=True)
        self.schema = postgres_schema
        yield
        self.conn.close()

    def make_store(self) -> Store:
        return PostgresStore(self.conn, schema=self.schema)


def test_a_store_on_a_pool_runs_transactions_of_several_threads(
    postgres_dsn: str, postgres_schema: str
) -> None:
    import threading

    from psycopg_pool import ConnectionPool

    with ConnectionPool(postgres_dsn, min_size=2, max_size=4, open=True) as pool:
        store = PostgresStore(pool, schema=postgres_schema)
        numbers: list[int] = []

        def count() -> None:
            for _ in range(20):
                with store.transaction() as tx:
                    numbers.append(tx.next_number("case"))

        threads = [threading.Thread(target=count) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store.close()
    assert sorted(numbers) == list(range(1, 81))


def test_what_was_committed_is_there_after_reopening(
    postgres_dsn: str, postgres_schema: str
) -> None:
    case = loopkit.FollowUpCase.open(id="case-1", customer_id="c-1", at=T0, by="system", topic="t")
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store, store.transaction() as tx:
        tx.save_case(case)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store, store.transaction() as tx:
        assert tx.get_case("case-1") == case
        assert tx.find_unclosed_case("c-1", "t") == case


def test_one_open_case_per_customer_and_topic_is_a_unique_index(
    postgres_dsn: str, postgres_schema: str
) -> None:
    def case(id: str) -> loopkit.FollowUpCase:
        return loopkit.FollowUpCase.open(id=id, customer_id="c-1", at=T0, by="system", topic="t")

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        with store.transaction() as tx:
            tx.save_case(case("case-1"))
        unique = pytest.raises(loopkit.ConcurrentWriteError, match="cases_one_unclosed")
        with unique, store.transaction() as tx:
            tx.save_case(case("case-2"))
        with store.transaction() as tx:  # the failed transaction left nothing
            assert [c.id for c in tx.cases("c-1")] == ["case-1"]


def test_a_new_schema_records_its_version_and_a_newer_one_is_refused(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.opened_at_version == 0
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.opened_at_version == SCHEMA_VERSION  # opened again: nothing to do
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.loopkit_version (version) VALUES (%s)").format(
                sql.Identifier(postgres_schema)
            ),
            (SCHEMA_VERSION + 1,),
        )
    with pytest.raises(ValidationError, match="newer loopkit: upgrade loopkit") as caught:
        PostgresStore(postgres_dsn, schema=postgres_schema)
    assert f"up to {SCHEMA_VERSION}" in str(caught.value)


def test_a_schema_with_tables_of_its_own_is_refused(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        name = sql.Identifier(postgres_schema)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        conn.execute(sql.SQL("CREATE TABLE {}.cases (id int)").format(name))
    with pytest.raises(ValidationError, match="schema of its own"):
        PostgresStore(postgres_dsn, schema=postgres_schema)


def test_a_dsn_that_cannot_connect_says_where_and_never_the_password(postgres_dsn: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(postgres_dsn)
    wrong = psycopg.conninfo.make_conninfo(postgres_dsn, password="hunter2-not-it")
    with pytest.raises(StoreConnectionError) as caught:
        PostgresStore(wrong)
    text = str(caught.value)
    assert "hunter2-not-it" not in text and str(info["password"]) not in text
    assert f"127.0.0.1:{info['port']}" in text and "password" in text  # what to check

    with pytest.raises(StoreConnectionError) as caught:  # nobody listens on port 1
        PostgresStore("postgresql://loopkit:s3cret-word@127.0.0.1:1/db", connect_timeout=2)
    assert "s3cret-word" not in str(caught.value) and "127.0.0.1:1/db" in str(caught.value)
    assert "s3cret-word" not in repr(caught.value)


def test_a_dsn_that_does_not_parse_is_not_repeated() -> None:
    with pytest.raises(ValidationError) as caught:
        PostgresStore("host=x password=s3cret-word = =")
    assert "s3cret-word" not in str(caught.value)


def test_the_store_repr_never_shows_the_password(postgres_dsn: str, postgres_schema: str) -> None:
    password = str(psycopg.conninfo.conninfo_to_dict(postgres_dsn)["password"])
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert password not in repr(store) and postgres_schema in repr(store)


def test_a_response_id_stored_twice_is_a_conflict_not_a_second_row(
    postgres_dsn: str, postgres_schema: str
) -> None:
    clock = FakeClock(T0)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        loop = loopkit.Loop(loopkit.load_playbook(EXAMPLE), store=store, clock=clock)
        response = make_response(2, id="r-1")
        first = loop.ingest(response, customer=make_customer())
        again = loop.ingest(response, customer=make_customer())
        assert again.replayed and again.case == first.case
        with pytest.raises(ConflictError):
            loop.ingest(make_response(9, id="r-1"), customer=make_customer())


def test_the_whole_loop_runs_on_postgresql(postgres_dsn: str, postgres_schema: str) -> None:
    clock = FakeClock(T0)
    channel = RecordingChannel()
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        loop = loopkit.Loop(
            loopkit.load_playbook(EXAMPLE),
            store=store,
            clock=clock,
            plugins=[loopkit.ChannelPlugin({"email": channel, "phone": channel})],
        )
        items = [
            (
                make_response(i % 11, id=f"r-{i}", customer_id=f"c-{i % 7}"),
                make_customer(f"c-{i % 7}"),
            )
            for i in range(60)
        ]
        answers = loop.ingest_many(items, batch_size=16)
        assert all(a.error is None for a in answers)
        again = loop.ingest_many(items, batch_size=16)
        assert all(a.result is not None and a.result.replayed for a in again)
        opened = [a.result.case for a in answers if a.result and a.result.case]
        assert opened
        clock.advance(timedelta(days=10))
        report = loop.tick()
        assert report.breaches + report.warnings + report.escalations + report.sent > 0
        assert len({m.idempotency_key for m in channel.sent}) == len(channel.sent)


def _database(server: str) -> Iterator[str]:
    import uuid

    name = f"cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database(postgres_dsn: str) -> Iterator[str]:
    """A database of this test's own (the command uses the schema "loopkit")."""
    yield from _database(postgres_dsn)


def _loopkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopkit", *args], capture_output=True, text=True, timeout=120
    )


def test_the_command_takes_a_postgresql_dsn_for_its_database(database: str) -> None:
    url = psycopg.conninfo.conninfo_to_dict(database)
    dsn = "postgresql://{user}:{password}@{host}:{port}/{dbname}".format(**url)
    feed = EXAMPLE.parent / "feed.jsonl"
    ingest = _loopkit("ingest", "--policies", str(EXAMPLE), "--db", dsn, str(feed))
    assert ingest.returncode == 0, ingest.stderr
    again = _loopkit("ingest", "--policies", str(EXAMPLE), "--db", dsn, str(feed))
    assert again.returncode == 0 and "0 failed" in again.stdout and "replayed" in again.stdout
    cases = _loopkit("cases", "--db", dsn)
    assert cases.returncode == 0 and "support-detractor-callback" in cases.stdout
    with PostgresStore(database) as store, store.transaction() as tx:
        assert len(tx.ingests()) == sum(1 for line in feed.read_text().splitlines() if line)

    wrong = dsn.replace(str(url["password"]), "hunter2-wrong")
    failed = _loopkit("cases", "--db", wrong)
    assert failed.returncode != 0 and "could not connect to PostgreSQL" in failed.stderr
    assert "hunter2-wrong" not in failed.stderr + failed.stdout


def test_loopkit_imports_and_runs_without_psycopg() -> None:
    # psycopg is an optional extra: without it, loopkit imports and runs on its
    # other stores, and asking for the PostgreSQL store says what to install.
    script = """
import sys
class NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name == "psycopg" or name.startswith(("psycopg.", "psycopg_")):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoPsycopg())
import loopkit
from loopkit.testing import make_customer, make_response
loop = loopkit.Loop(loopkit.load_playbook(sys.argv[1]), store=loopkit.SQLiteStore(":memory:"),
                    check_channels=False)
assert loop.ingest(make_response(1), customer=make_customer()).case is not None
try:
    import loopkit.stores.postgres
except ImportError as err:
    print(err)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'loopkit[postgres]'" in done.stdout


def test_opening_applies_the_steps_a_newer_layout_adds(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How a later table arrives: one more step in MIGRATIONS.
    from loopkit.stores import _postgres_schema as layout

    PostgresStore(postgres_dsn, schema=postgres_schema).close()  # the current version
    step = "CREATE TABLE {s}.later_things (id TEXT PRIMARY KEY, data TEXT NOT NULL)"
    monkeypatch.setitem(layout.MIGRATIONS, SCHEMA_VERSION, step)
    monkeypatch.setattr(layout, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.opened_at_version == SCHEMA_VERSION
    with psycopg.connect(postgres_dsn) as conn:
        name = sql.Identifier(postgres_schema)
        versions = conn.execute(
            sql.SQL("SELECT version FROM {}.loopkit_version ORDER BY version").format(name)
        ).fetchall()
        assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 2))
        conn.execute(sql.SQL("SELECT count(*) FROM {}.later_things").format(name))


def test_a_version_1_schema_is_upgraded_with_its_rows_kept(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Version 2 added erasures, the compensation ledger and the outcome tables.
    from loopkit.outcomes import SystemicIssue
    from loopkit.stores import _postgres_schema as layout

    case = loopkit.FollowUpCase.open(id="case-1", customer_id="c-1", at=T0, by="system", topic="t")
    with monkeypatch.context() as patch:
        patch.setattr(layout, "SCHEMA_VERSION", 1)
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            assert store.opened_at_version == 0
            with store.transaction() as tx:
                tx.save_case(case)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.opened_at_version == 1
        issue = SystemicIssue(cause="late-delivery", count=1, first_seen=T0, last_seen=T0)
        with store.transaction() as tx:
            assert tx.get_case("case-1") == case
            assert list(tx.ledger_entries()) == [] and list(tx.erasures()) == []
            tx.save_issue(issue)
            tx.set_recovery_watch("c-1", "case-1")
        with store.transaction() as tx:
            assert list(tx.issues()) == [issue]
            assert tx.recovery_watch("c-1") == "case-1"
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.opened_at_version == SCHEMA_VERSION == 2


def test_a_store_reconnects_after_the_server_dropped_its_connection(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        with store.transaction() as tx:
            pid = tx._cursor.connection.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreConnectionError) as caught, store.transaction() as tx:
            tx.next_number("check")
        assert str(psycopg.conninfo.conninfo_to_dict(postgres_dsn)["password"]) not in str(
            caught.value
        )
        with store.transaction() as tx:  # a new connection
            assert tx.next_number("check") >= 1
