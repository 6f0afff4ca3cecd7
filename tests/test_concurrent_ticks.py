"""Several worker processes ticking one SQLite file share the work: every due
message is sent exactly once, and opening a new file together never fails."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loopkit import MessageStatus, SQLiteStore

HERE = Path(__file__).resolve().parent
WORKER = HERE / "tick_worker.py"
POLICIES = HERE.parent / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
MESSAGES = 1_000


def _load_worker() -> Any:
    """The worker module beside this test, for its outbox."""
    spec = importlib.util.spec_from_file_location("store_worker", HERE / "store_worker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


store_worker = _load_worker()


def _outbox(db: Path, n: int) -> list[str]:
    with SQLiteStore(db) as store:
        return store_worker.fill_outbox(store, n)


def _run_together(args: list[list[str]], timeout: float = 60, exit_code: int = 0) -> list[str]:
    """Start one worker per argument list, let them all go at once, and return
    what each printed last after the go-ahead."""
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *a],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        answers = []
        for worker in workers:
            out, err = worker.communicate(timeout=timeout)
            assert worker.returncode == exit_code, err
            answers.append(out.strip().rpartition("\n")[2])  # the last line, if any
        return answers
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_ticks_send_every_message_exactly_once(tmp_path: Path, workers: int) -> None:
    db, sent = tmp_path / "loop.db", tmp_path / "sent.txt"
    ids = _outbox(db, MESSAGES)
    now = (T0 + timedelta(minutes=1)).isoformat()
    reports = [
        json.loads(line)
        for line in _run_together([[str(db), str(POLICIES), str(sent), now]] * workers)
    ]

    sends = Counter(sent.read_text().split())
    assert [key for key, count in sends.items() if count > 1] == []  # nothing sent twice
    assert sorted(sends) == ids  # nothing left out
    assert sum(r["sent"] for r in reports) == MESSAGES and sum(r["retried"] for r in reports) == 0
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert tx.messages(status=MessageStatus.PENDING) == []
        assert {m.attempts for m in tx.messages(status=MessageStatus.SENT)} == {1}


def test_six_processes_open_one_new_file_without_lock_errors(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    answers = _run_together([[str(db), str(POLICIES), "-", "-", "open"]] * 6)
    assert answers == ["opened"] * 6
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert tx.next_number("check") == 1  # one schema, made once, and usable


def test_a_worker_that_dies_mid_send_leaves_its_claims_to_expire(tmp_path: Path) -> None:
    # The one window of at-least-once delivery: a batch's sends are recorded
    # together when the batch is done, so messages sent just before a crash
    # are sent again once the dead worker's claim has run out; recorded ones
    # never are.
    db, sent = tmp_path / "loop.db", tmp_path / "sent.txt"
    ids = _outbox(db, 100)
    args = [str(db), str(POLICIES), str(sent)]
    now = T0 + timedelta(minutes=1)
    assert _run_together([[*args, now.isoformat(), "die-after", "5"]], exit_code=3) == [""]
    dead = sent.read_text().split()
    assert len(dead) == 5
    with SQLiteStore(db) as store, store.transaction() as tx:
        recorded = {m.id for m in tx.messages(status=MessageStatus.SENT)}
    # fast sends: recorded with their batch, so none was (unless the machine
    # stalled for a quarter of a second in the middle), never the last one
    assert recorded <= set(dead[:-1])

    # Before the claims expire, another worker sends everything else, once.
    [report] = _run_together([[*args, (now + timedelta(minutes=4)).isoformat()]])
    claimed_by_the_dead = 25  # one claim's worth
    assert json.loads(report)["sent"] == 100 - claimed_by_the_dead
    # After the lease (5 minutes by default), the dead worker's messages go
    # out: all of its claim but the sends it recorded.
    [report] = _run_together([[*args, (now + timedelta(minutes=5)).isoformat()]])
    assert json.loads(report)["sent"] == claimed_by_the_dead - len(recorded)

    sends = Counter(sent.read_text().split())
    assert sorted(sends) == ids
    twice = sorted(key for key, count in sends.items() if count > 1)
    assert twice == sorted(set(dead) - recorded) and dead[-1] in twice
    assert max(sends.values()) == 2
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert tx.messages(status=MessageStatus.PENDING) == []
        assert {m.attempts for m in tx.messages(status=MessageStatus.SENT)} == {1}


def test_two_loopkit_tick_commands_share_the_outbox(tmp_path: Path) -> None:
    # The command a cron job runs, twice at once: the ticks' "sent" counts add
    # up to the outbox (each message is sent by one of them).
    db = tmp_path / "loop.db"
    _outbox(db, 400)
    loopkit_command = [sys.executable, "-m", "loopkit", "tick", "--policies", str(POLICIES)]
    now = (T0 + timedelta(minutes=1)).isoformat()
    ticks = [
        subprocess.Popen(
            [*loopkit_command, "--db", str(db), "--now", now],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    sent = 0
    for tick in ticks:
        out, err = tick.communicate(timeout=60)
        assert tick.returncode == 0, err
        [summary] = [line for line in out.splitlines() if line.startswith("tick: ")]
        sent += int(summary.split()[1])
    assert sent == 400
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert len(tx.messages(status=MessageStatus.SENT)) == 400
