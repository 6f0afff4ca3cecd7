"""Many workers grant against one budget at once: 8 threads on one memory
store, 4 processes on one SQLite file or one PostgreSQL schema, in many random
schedules. The budget is
never overspent, the ledger sums to its use, and a key granted by several
workers at once is one grant."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from loopkit import Loop, MemoryStore, SQLiteStore, Store, load_playbook
from loopkit.testing import make_customer

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("grant_worker", HERE / "grant_worker.py")
assert _spec is not None and _spec.loader is not None
grant_worker = importlib.util.module_from_spec(_spec)  # the worker module beside this test
_spec.loader.exec_module(grant_worker)

SEED = int(os.environ.get("LOOPKIT_SCHEDULE_SEED", random.randrange(1 << 30)))
THREAD_SCHEDULES = 160
PROCESS_SCHEDULES = 50
POSTGRES_SCHEDULES = 20
PLAYBOOK_DATA = {
    "version": 1,
    "policies": [
        {
            "name": "counter",
            "when": {"field": "response.source", "equals": "employee"},
            "channels": ["in_person"],
            "owner": "touchpoint.employee_id",
        }
    ],
    "staff": {
        "clerk-1": {"role": "store-clerk", "team": "stores"},
        "lead-1": {"role": "team-lead", "team": "stores"},
    },
    "authority": {"store-clerk": "150 SEK", "team-lead": "1000 SEK"},
    "budgets": {
        "stores": {
            "amount": "1500 SEK",
            "per": "month",
            "team": "stores",
            "timezone": "Europe/Stockholm",
        }
    },
}
PLAYBOOK = load_playbook(PLAYBOOK_DATA)


def _open_case(store: Store, customer: str = "c-1") -> tuple[Loop, str]:
    loop = Loop(PLAYBOOK, store=store, check_channels=False)
    case = loop.open_case(
        customer, by="lead-1", customer=make_customer(customer), at=grant_worker.NOON
    )
    return loop, case.id


def _check(loop: Loop, fresh: list[str], schedule: str) -> None:
    use = loop.compensation.budget("stores", at=grant_worker.NOON)
    ledger = loop.compensation.ledger()
    budget = PLAYBOOK.budgets["stores"]
    period = use.period
    assert use.used.amount + use.reserved.amount <= budget.amount.amount, schedule
    assert use.left.amount >= 0, schedule
    assert (use.used, use.reserved) == (
        ledger.used(budget, period),
        ledger.reserved(budget, period),
    )
    posted = sum(e.amount.amount for e in ledger if e.kind.value == "posting" and e.amount)
    reserved = sum(e.amount.amount for e in ledger if e.kind.value == "reservation" and e.amount)
    assert (posted, reserved) == (use.used.amount, use.reserved.amount), schedule
    assert sorted(fresh) == sorted({e.key for e in ledger}), schedule  # one grant per key


def _thread_schedule(schedule: int) -> None:
    loop, case_id = _open_case(MemoryStore())
    start = threading.Barrier(8, timeout=60)  # a failed thread breaks it, never hangs it
    fresh: list[list[str]] = [[] for _ in range(8)]

    def work(i: int) -> None:
        worker = Loop(PLAYBOOK, store=loop.store, check_channels=False)
        rng = random.Random(f"{SEED}-t{i}-{schedule}")
        start.wait()
        fresh[i] = grant_worker.grant_some(worker, case_id, f"t{i}", schedule, rng)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _check(loop, [k for keys in fresh for k in keys], f"seed {SEED}, schedule {schedule}")


def test_eight_threads_on_one_memory_store_never_overspend() -> None:
    for schedule in range(THREAD_SCHEDULES):
        _thread_schedule(schedule)


def test_four_processes_on_one_sqlite_file_never_overspend(tmp_path: Path) -> None:
    def open_store(schedule: int) -> tuple[Store, str]:
        db = tmp_path / f"s{schedule}.db"
        return SQLiteStore(db), str(db)

    _four_processes(tmp_path, PROCESS_SCHEDULES, open_store, {}, cases=1)


def test_four_processes_on_one_postgres_schema_never_overspend(
    tmp_path: Path, postgres_dsn: str
) -> None:
    import uuid

    import psycopg
    from psycopg import sql

    from loopkit.stores.postgres import PostgresStore

    schemas: list[str] = []

    def open_store(schedule: int) -> tuple[Store, str]:
        schemas.append(f"grants_{uuid.uuid4().hex[:10]}_{schedule}")
        return PostgresStore(postgres_dsn, schema=schemas[-1]), f"postgres:{schemas[-1]}"

    try:
        # two cases, two workers on each: grants on different cases draw on
        # one budget without waiting for each other's case row
        env = {"LOOPKIT_GRANT_DSN": postgres_dsn}
        _four_processes(tmp_path, POSTGRES_SCHEDULES, open_store, env, cases=2)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            for name in schemas:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def _four_processes(
    tmp_path: Path,
    schedules: int,
    open_store: Callable[[int], tuple[Store, str]],
    env: dict[str, str],
    *,
    cases: int,
) -> None:
    playbook_file = tmp_path / "playbook.json"
    playbook_file.write_text(json.dumps(PLAYBOOK_DATA), encoding="utf-8")
    workers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "grant_worker.py"), str(playbook_file), f"p{i}", str(SEED)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for i in range(4)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for schedule in range(schedules):
            store, db = open_store(schedule)
            try:
                loop, first = _open_case(store)
                case_ids = [first, *(_open_case(store, f"c-{n}")[1] for n in range(2, cases + 1))]
                for i, worker in enumerate(workers):  # all at once
                    assert worker.stdin is not None
                    worker.stdin.write(f"go {db} {case_ids[i % cases]} {schedule}\n")
                    worker.stdin.flush()
                fresh: list[str] = []
                for worker in workers:
                    assert worker.stdout is not None
                    line = worker.stdout.readline()
                    if not line.startswith("done "):  # the worker failed: say how
                        worker.kill()
                        assert worker.stderr is not None
                        raise AssertionError(f"{line!r} {worker.stderr.read()}")
                    fresh += json.loads(line[5:])
                _check(loop, fresh, f"seed {SEED}, schedule {schedule}")
            finally:
                store.close()
    finally:
        errors = [worker.communicate(timeout=30)[1] for worker in workers]  # closes stdin
        assert [w.returncode for w in workers] == [0] * 4, errors
