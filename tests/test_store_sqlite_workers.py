"""Many processes on one SQLite file: eight workers ingesting overlapping feeds,
ticking and granting compensation against one budget at once store each
response once, open one case per customer and topic, send each message once,
grant each key once and never overspend the budget (taking turns for the
file's one writer); a process killed in the middle of a batch loses no
acknowledged response, the file stays whole (``PRAGMA integrity_check``), and
the feed run again completes without a duplicate. (The same worker drives the
PostgreSQL tests.)"""

from __future__ import annotations

import importlib.util
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import loopkit
from loopkit import MessageStatus, SQLiteStore

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


def _intact(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_eight_workers_ingest_tick_and_grant_without_duplicates_or_overspending(
    tmp_path: Path,
) -> None:
    sent, dsn = tmp_path / "sent.txt", f"sqlite:{tmp_path}"
    feed = store_worker.feed()
    SQLiteStore(tmp_path / "loop.db").close()  # the file, made once
    common = [dsn, "loop", str(POLICIES), str(sent), "work"]
    workers = [
        store_worker.spawn(*common, str(k * len(feed) // 8), str(len(feed) * 2 // 5), str(k))
        for k in range(8)
    ]
    reports = store_worker.together(workers)
    assert sum(r["errors"] for r in reports) == 0

    alone = loopkit.Loop(loopkit.load_playbook(POLICIES), store=loopkit.MemoryStore())
    alone.ingest_many(feed)
    with SQLiteStore(tmp_path / "loop.db") as store:
        cases = store_worker.check_no_duplicates(store, {r.id for r, _ in feed})
        assert sorted((c.customer_id, c.topic) for c in cases) == sorted(
            (c.customer_id, c.topic) for c in alone.cases()
        )
        with store.transaction() as tx:
            sent_rows = tx.messages(status=MessageStatus.SENT)
    for case in cases:
        fired = Counter((e.kind, e.details.get("due_at")) for e in case.events)
        assert all(n == 1 for (kind, _), n in fired.items() if kind.startswith("deadline_"))
    sends = Counter(sent.read_text().split())
    assert [key for key, n in sends.items() if n > 1] == []  # nothing sent twice
    assert len(sends) == len(sent_rows) == sum(r["sent"] for r in reports) > 0
    with SQLiteStore(tmp_path / "loop.db") as store:
        store_worker.check_grants(store, str(POLICIES), reports)
    _intact(tmp_path / "loop.db")


def test_a_process_killed_while_ingesting_loses_no_acknowledged_response(
    tmp_path: Path,
) -> None:
    acks, sent, dsn = tmp_path / "acks.txt", tmp_path / "sent.txt", f"sqlite:{tmp_path}"
    feed_ids = {r.id for r, _ in store_worker.feed()}
    server = store_worker.spawn(dsn, "-", str(POLICIES), str(sent), "crash", str(acks))
    assert server.stdout is not None and server.stdin is not None
    assert server.stdout.readline().strip() == "ready"
    rng = random.Random(15)
    rounds, killed, trials = 0, 0, 0
    name = "loop-0"
    started = time.monotonic()
    try:
        for trials in range(1, 61):
            killed += store_worker.kill_one(server, name, rng)
            path = tmp_path / f"{name}.db"
            acked = set(acks.read_text().split()) if acks.exists() else set()
            with SQLiteStore(path) as store, store.transaction() as tx:
                lost = [key for key in acked if tx.get_ingest(key) is None]
            assert lost == [], f"trial {trials}: acknowledged responses lost"
            _intact(path)
            if acked >= feed_ids:  # all in: check, then start again on a new file
                with SQLiteStore(path) as store:
                    store_worker.check_no_duplicates(store, feed_ids)
                acks.unlink()
                rounds += 1
                name = f"loop-{rounds}"
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    assert trials == 60 and killed >= 50, (trials, killed)
    assert time.monotonic() - started < 120

    with SQLiteStore(tmp_path / f"{name}.db") as store:  # the feed again, to its end
        loop = loopkit.Loop(loopkit.load_playbook(POLICIES), store=store)
        assert all(a.error is None for a in loop.ingest_many(store_worker.feed()))
        store_worker.check_no_duplicates(store, feed_ids)


def test_ticking_workers_killed_at_random_moments_record_each_send_once(
    tmp_path: Path,
) -> None:
    sent, dsn = tmp_path / "sent.txt", f"sqlite:{tmp_path}"
    with SQLiteStore(tmp_path / "loop.db", synchronous="normal") as store:
        store_worker.kill_ticks(
            dsn, "loop", str(POLICIES), str(sent), store, lambda: _intact(tmp_path / "loop.db")
        )
