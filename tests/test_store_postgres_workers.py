"""Many workers on one PostgreSQL database: eight processes ingesting
overlapping feeds, ticking and granting compensation against one budget at
once store each response once, open one case per customer and topic, send each
message once, grant each key once and never overspend the budget; a process
killed in the middle of a batch loses no acknowledged response, and the feed
run again completes without a duplicate."""

from __future__ import annotations

import importlib.util
import random
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import loopkit
from loopkit import MessageStatus
from loopkit.stores.postgres import PostgresStore
from loopkit.testing import FakeClock

HERE = Path(__file__).resolve().parent
POLICIES = HERE.parent / "examples" / "policies.toml"


def _load_worker() -> Any:
    """The worker module beside this test (run as a script by the workers)."""
    spec = importlib.util.spec_from_file_location("store_worker", HERE / "store_worker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


store_worker = _load_worker()


def test_eight_workers_ingest_tick_and_grant_without_duplicates_or_overspending(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path
) -> None:
    sent = tmp_path / "sent.txt"
    feed = store_worker.feed()
    PostgresStore(postgres_dsn, schema=postgres_schema).close()  # the schema, made once
    common = [postgres_dsn, postgres_schema, str(POLICIES), str(sent), "work"]
    # each worker takes 40% of the feed from its own start: every response is
    # ingested by three or four workers, in a different order by each
    workers = [
        store_worker.spawn(*common, str(k * len(feed) // 8), str(len(feed) * 2 // 5), str(k))
        for k in range(8)
    ]
    reports = store_worker.together(workers)
    assert sum(r["errors"] for r in reports) == 0

    # the same feed on the memory store, one process: the same cases
    alone = loopkit.Loop(loopkit.load_playbook(POLICIES), store=loopkit.MemoryStore())
    alone.ingest_many(feed)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        cases = store_worker.check_no_duplicates(store, {r.id for r, _ in feed})
        expected = alone.cases()
        assert sorted((c.customer_id, c.topic) for c in cases) == sorted(
            (c.customer_id, c.topic) for c in expected
        )
        assert sorted(r for c in cases for r in c.response_ids) == sorted(
            r for c in expected for r in c.response_ids
        )
        with store.transaction() as tx:
            sent_rows = tx.messages(status=MessageStatus.SENT)
            pending = tx.messages(status=MessageStatus.PENDING)
    # each timer fired once: at most one warning, one breach, one escalation per level
    for case in cases:
        fired = Counter((e.kind, e.details.get("due_at")) for e in case.events)
        assert all(n == 1 for (kind, _), n in fired.items() if kind.startswith("deadline_"))
    assert any(e.kind == "deadline_breached" for c in cases for e in c.events)
    sends = Counter(sent.read_text().split())
    assert [key for key, n in sends.items() if n > 1] == []  # nothing sent twice
    assert len(sends) == len(sent_rows) == sum(r["sent"] for r in reports) > 0
    assert {m.attempts for m in sent_rows} == {1}
    assert not [m for m in pending if m.next_attempt_at is None and m.attempts]
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        store_worker.check_grants(store, str(POLICIES), reports)


def test_four_workers_tick_one_database_and_share_the_work(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path
) -> None:
    sent = tmp_path / "sent.txt"
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        clock = FakeClock(datetime(2026, 11, 20, 15, 30, tzinfo=UTC))  # the workers' ingest time
        loop = loopkit.Loop(
            loopkit.load_playbook(POLICIES), store=store, clock=clock, check_channels=False
        )
        assert all(a.error is None for a in loop.ingest_many(store_worker.feed()))
        with store.transaction() as tx:
            due = len(tx.messages(status=MessageStatus.PENDING))
    common = [postgres_dsn, postgres_schema, str(POLICIES), str(sent), "tick"]
    reports = store_worker.together([store_worker.spawn(*common) for _ in range(4)])

    sends = Counter(sent.read_text().split())
    assert [key for key, n in sends.items() if n > 1] == []
    assert len(sends) == sum(r["sent"] for r in reports) == due > 0
    assert sum(1 for r in reports if r["sent"]) >= 2  # the work was shared
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store, store.transaction() as tx:
        assert tx.messages(status=MessageStatus.PENDING) == []
        cases = tx.cases()
        breached = [c for c in cases if any(e.kind == "deadline_breached" for e in c.events)]
        assert len(breached) == sum(r["breaches"] for r in reports) > 0
        for case in cases:
            kinds = Counter(e.kind for e in case.events)
            assert kinds["deadline_breached"] <= 1 and kinds["deadline_warning"] <= 1


def test_a_process_killed_while_ingesting_loses_no_acknowledged_response(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path
) -> None:
    # A fork server (imports done once) forks a child per trial, which ingests
    # the feed in batches and acknowledges each batch after ingest_many
    # returned; the child is killed at a random moment. When a child got the
    # whole feed in before its kill, the next trials start on a fresh schema.
    acks, sent = tmp_path / "acks.txt", tmp_path / "sent.txt"
    feed_ids = {r.id for r, _ in store_worker.feed()}
    server = store_worker.spawn(postgres_dsn, "-", str(POLICIES), str(sent), "crash", str(acks))
    assert server.stdout is not None and server.stdin is not None
    assert server.stdout.readline().strip() == "ready"
    rng = random.Random(15)
    rounds, killed, trials = 0, 0, 0
    schema = f"{postgres_schema}_0"
    schemas = [schema]
    store = PostgresStore(postgres_dsn, schema=schema)
    started = time.monotonic()
    try:
        for trials in range(1, 61):
            killed += store_worker.kill_one(server, schema, rng)
            acked = set(acks.read_text().split()) if acks.exists() else set()
            with store.transaction() as tx:
                tx.begin_batch(acked)
                lost = [key for key in acked if tx.get_ingest(key) is None]
            assert lost == [], f"trial {trials}: acknowledged responses lost"
            if acked >= feed_ids:  # all in: check, then start again on a new schema
                store_worker.check_no_duplicates(store, feed_ids)
                store.close()
                acks.unlink()
                rounds += 1
                schema = f"{postgres_schema}_{rounds}"
                schemas.append(schema)
                store = PostgresStore(postgres_dsn, schema=schema)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    assert trials == 60 and killed >= 50, (trials, killed)
    assert time.monotonic() - started < 90

    # the feed run again, to its end: everything in, once
    loop = loopkit.Loop(loopkit.load_playbook(POLICIES), store=store)
    answers = loop.ingest_many(store_worker.feed())
    assert all(a.error is None for a in answers)
    store_worker.check_no_duplicates(store, feed_ids)
    store.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for name in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def test_ticking_workers_killed_at_random_moments_record_each_send_once(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path
) -> None:
    sent = tmp_path / "sent.txt"
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        store_worker.kill_ticks(
            postgres_dsn, postgres_schema, str(POLICIES), str(sent), store, lambda: None
        )
