"""PostgreSQL: loopkit's ``Loop.ingest_many`` into a ``PostgresStore`` against raw
psycopg ``executemany`` of the same rows in batches of the same size, side by side
in one run; then ``Loop.tick`` throughput with 1, 2 and 4 worker processes.

    LOOPKIT_TEST_POSTGRES_DSN=postgresql://... python benchmarks/bench_postgres.py
    python benchmarks/bench_postgres.py --n 300    # a smoke run

The server is the one ``LOOPKIT_TEST_POSTGRES_DSN`` (or ``LOOPKIT_POSTGRES_DSN``)
names; without one, a throwaway cluster is started with ``tests/postgres_server.py``
when PostgreSQL is installed, and otherwise the benchmark says so and exits.

The feed is ``bench_ingest.make_feed`` with the example policy file. The
baseline, exactly: before timing, the feed is ingested once by a ``Loop`` on the
in-memory store and every row loopkit would write is kept as plain values (ids,
customer, times as integer microseconds, the ``to_dict()`` of the value). Timed,
per batch of ``--batch`` responses, it runs one transaction with one
``executemany`` per table (psycopg pipelines it: one round trip per table) into
loopkit's own tables and indexes: an ingest row per response; a case row, a timer
row, a message row and the customer's row per opened case; a case row upserted
per response attached to an open case; and the survey stop an answer set (when
it still holds at the end); every JSON ``json.dumps``-ed inside the timed loop. It
reads nothing and decides nothing. loopkit does all of that plus everything the
baseline was handed: it locks the batch's customers, reads the batch's earlier
records in one query, looks up open cases, classifies, matches and decides,
numbers cases and messages, and builds its values. The in-memory store's
``ingest_many`` is printed too, for what the engine alone costs.

``tick`` throughput: the feed is ingested into a fresh schema per run; then 1, 2
or 4 worker processes (each its own connection) run ``Loop.tick`` at once, at
an instant when every timer and message is due, with a channel that sends
nothing anywhere; the figure is items done (messages sent, warnings, breaches,
escalations) per second of wall clock, from the go-ahead to the last worker's
end. Not a test: the figures are for reading, never for pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_ingest import make_feed

import loopkit
from loopkit.stores import IngestOutcome
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]
Feed = list[tuple[loopkit.Response, loopkit.Customer]]


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def server_dsn() -> tuple[str | None, Any]:
    """A DSN, and what to stop afterwards (or None and the reason)."""
    given = os.environ.get("LOOPKIT_TEST_POSTGRES_DSN") or os.environ.get("LOOPKIT_POSTGRES_DSN")
    if given:
        return given, None
    helper = ROOT / "tests" / "postgres_server.py"
    if not helper.exists():
        return None, "no LOOPKIT_TEST_POSTGRES_DSN, and no tests/postgres_server.py to start one"
    sys.path.insert(0, str(helper.parent))
    import postgres_server  # type: ignore[import-not-found]

    where = Path(tempfile.mkdtemp(prefix="loopkit-bench-pg-")) / "cluster"
    try:
        return postgres_server.start(where), (postgres_server, where)
    except (RuntimeError, OSError) as err:
        return None, str(err)


def the_rows(feed: Feed, playbook: loopkit.Playbook) -> list[dict[str, list[tuple[Any, ...]]]]:
    """Per response, the rows loopkit writes for it (worked out once, before timing)."""
    from loopkit.stores import _postgres_transaction as pgtx

    us = pgtx.us
    loop = loopkit.Loop(playbook, clock=FakeClock(feed[0][0].answered_at), check_channels=False)
    results = [loop.ingest(r, customer=c) for r, c in feed]
    rows = []
    with loop.store.transaction() as tx:
        records = {record.key: record for record in tx.ingests()}
        for result in results:
            record = records[result.response_id]
            out: dict[str, list[tuple[Any, ...]]] = {
                "ingests": [
                    (
                        record.key,
                        record.customer_id,
                        record.case_id,
                        us(record.ingested_at),
                        record.to_dict(),
                    )
                ],
                "cases": [],
                "timers": [],
                "messages": [],
                "customers": [],
                "survey_stops": [],
            }
            case = result.case
            stop = tx.survey_stop(record.customer_id)
            if stop is not None and stop in (f"response:{record.key}", getattr(case, "id", None)):
                out["survey_stops"].append((record.customer_id, stop))
            if case is not None and result.outcome in (IngestOutcome.OPENED, "attached"):
                out["cases"].append(
                    (
                        case.id,
                        case.customer_id,
                        case.topic,
                        case.state.value,
                        us(case.opened_at),
                        case.to_dict(),
                    )
                )
            if case is not None and result.outcome is IngestOutcome.OPENED:
                customer = tx.get_customer(case.customer_id)
                if customer is not None:
                    out["customers"].append((customer.id, customer.to_dict()))
                for timer in tx.timers(case.id)[:1]:
                    out["timers"].append(
                        (timer.id, timer.case_id, us(timer.due_at), timer.to_dict())
                    )
                for m in tx.messages(case.id)[:1]:
                    out["messages"].append(
                        (
                            m.id,
                            m.case_id,
                            m.status.value,
                            us(m.created_at),
                            us(m.next_attempt_at or m.not_before),
                            m.to_dict(),
                        )
                    )
            rows.append(out)
    return rows


def _schema(dsn: str) -> str:
    """A new schema with loopkit's tables (made by opening a store on it)."""
    from loopkit.stores.postgres import PostgresStore

    name = f"bench_{uuid.uuid4().hex[:10]}"
    PostgresStore(dsn, schema=name).close()
    return name


def _drop(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def raw_psycopg(
    rows: list[dict[str, list[tuple[Any, ...]]]], dsn: str, schema: str, batch: int
) -> int:
    """The baseline: the same rows, bare ``executemany`` per table and batch."""
    import psycopg

    from loopkit.stores import _postgres_statements

    sql = _postgres_statements.statements(f'"{schema}"')
    inserts = {
        "ingests": sql["add_ingest"],
        "cases": sql["save_case"],
        "timers": sql["add_timer"],
        "messages": sql["save_message"],
        "customers": sql["save_customer"],
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.cursor()
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            with conn.transaction():
                for table, statement in inserts.items():
                    params = [(*r[:-1], _dumps(r[-1])) for one in chunk for r in one[table]]
                    if params:
                        cursor.executemany(statement, params)
                stops = [r for one in chunk for r in one["survey_stops"]]
                if stops:
                    cursor.executemany(sql["set_survey_stop"], stops)
        found = conn.execute(f'SELECT count(*) FROM "{schema}".cases'.encode()).fetchone()
        return int(found[0]) if found else 0


def loopkit_postgres(
    feed: Feed, playbook: loopkit.Playbook, dsn: str, schema: str, batch: int
) -> int:
    from loopkit.stores.postgres import PostgresStore

    with PostgresStore(dsn, schema=schema) as store:
        loop = loopkit.Loop(
            playbook, store=store, clock=FakeClock(feed[0][0].answered_at), check_channels=False
        )
        items = loop.ingest_many(feed, batch_size=batch)
        return sum(item.unwrap().outcome is IngestOutcome.OPENED for item in items)


def loopkit_memory(feed: Feed, playbook: loopkit.Playbook, batch: int) -> int:
    loop = loopkit.Loop(playbook, clock=FakeClock(feed[0][0].answered_at), check_channels=False)
    return sum(
        item.unwrap().outcome is IngestOutcome.OPENED
        for item in loop.ingest_many(feed, batch_size=batch)
    )


def timed(fn: Any, *args: Any) -> tuple[float, int]:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn(*args)
        return time.perf_counter() - start, int(result)
    finally:
        gc.enable()


# -- tick throughput -----------------------------------------------------------


class _Nowhere:
    def send(self, message: object) -> None:
        pass


def tick_worker(dsn: str, schema: str, now: str) -> None:
    """One worker process: build the loop, say ready, tick on the go-ahead, report."""
    from datetime import datetime

    from loopkit.stores.postgres import PostgresStore

    at = datetime.fromisoformat(now)
    nowhere = _Nowhere()
    loop = loopkit.Loop(
        loopkit.load_playbook(ROOT / "examples" / "policies.toml"),
        store=PostgresStore(dsn, schema=schema),
        clock=FakeClock(at),
        plugins=[loopkit.ChannelPlugin({"phone": nowhere, "email": nowhere})],
    )
    print("ready", flush=True)
    sys.stdin.readline()
    report = loop.tick(at)
    print(
        json.dumps({"done": report.sent + report.warnings + report.breaches + report.escalations}),
        flush=True,
    )


def tick_run(dsn: str, feed: Feed, playbook: loopkit.Playbook, workers: int) -> tuple[float, int]:
    schema = _schema(dsn)
    try:
        loopkit_postgres(feed, playbook, dsn, schema, 500)
        now = (feed[-1][0].answered_at + timedelta(days=30)).isoformat()
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--tick-worker", dsn, schema, now],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        done = 0
        for p in procs:
            out, _ = p.communicate(timeout=600)
            done += json.loads(out.strip().splitlines()[-1])["done"]
        return time.perf_counter() - start, done
    finally:
        _drop(dsn, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="responses (default 20,000)")
    parser.add_argument("--batch", type=int, default=500, help="responses per transaction")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--tick-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tick_worker:
        tick_worker(*args.tick_worker)
        return
    try:
        import psycopg
    except ImportError:
        print("bench_postgres: skipped: psycopg is not installed (pip install 'loopkit[postgres]')")
        return
    dsn, stop = server_dsn()
    if dsn is None:
        print(f"bench_postgres: skipped: no PostgreSQL server could be started ({stop})")
        return
    try:
        run(args, dsn, psycopg.__version__)
    finally:
        if stop is not None:
            module, where = stop
            module.stop(where)


def run(args: argparse.Namespace, dsn: str, version: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        server = conn.info.parameter_status("server_version") or "?"
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    feed = make_feed(args.n)
    rows = the_rows(feed, playbook)
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"PostgreSQL {server} on 127.0.0.1, psycopg {version}, {args.n:,} responses in "
        f"batches of {args.batch}, best of {args.runs} interleaved runs (wall clock, GC paused)"
    )
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(args.runs):
        for name in ("raw psycopg executemany", "loopkit PostgresStore"):
            schema = _schema(dsn)
            try:
                if name.startswith("raw"):
                    seconds, n = timed(raw_psycopg, rows, dsn, schema, args.batch)
                else:
                    seconds, n = timed(loopkit_postgres, feed, playbook, dsn, schema, args.batch)
            finally:
                _drop(dsn, schema)
            best[name] = min(best.get(name, seconds), seconds)
            counts[name] = n
        seconds, n = timed(loopkit_memory, feed, playbook, args.batch)
        best["loopkit MemoryStore"] = min(best.get("loopkit MemoryStore", seconds), seconds)
    raw = best["raw psycopg executemany"]
    print(
        f"cases: raw {counts['raw psycopg executemany']:,}, loopkit opened {counts['loopkit PostgresStore']:,}"
    )
    for name, seconds in best.items():
        print(
            f"  {name:<26} {seconds / args.n * 1e6:8.2f} µs a response   {seconds / raw:5.2f}x raw"
        )
    print(
        "  PostgreSQL on top of memory: "
        f"{(best['loopkit PostgresStore'] - best['loopkit MemoryStore']) / args.n * 1e6:.2f} µs a response"
    )
    print("tick throughput (every timer and message due; a channel that sends nowhere):")
    for workers in (1, 2, 4):
        seconds, done = tick_run(dsn, feed, playbook, workers)
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}  {done:6,} items in {seconds:6.2f} s   {done / seconds:8.0f} items/s"
        )


if __name__ == "__main__":
    main()
