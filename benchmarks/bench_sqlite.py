"""SQLite ingest: loopkit's ``Loop.ingest_many`` into an ``SQLiteStore`` file against a
hand-written raw ``sqlite3`` loop that writes the same rows in batches of the same
size, side by side in one run.

    python benchmarks/bench_sqlite.py                   # 5,000 then 100,000 responses
    python benchmarks/bench_sqlite.py --n 5000          # one size
    python benchmarks/bench_sqlite.py --n 300 --runs 1  # a smoke run

The feed is ``bench_ingest.make_feed`` with the example policy file. What the
baseline does, exactly: before timing, the feed is ingested once by a ``Loop`` on
the in-memory store, and every row loopkit would write is kept as plain values
(ids, customer, times as integer microseconds, the ``to_dict()`` of the value);
this is what a host that already knew every outcome would have in hand. Timed,
the baseline opens a new file with loopkit's own layout (every table and index
of ``SCHEMA_VERSION``, same ``PRAGMA``s: WAL, ``secure_delete`` and the same
``synchronous`` setting), and per batch of ``--batch`` responses runs ``BEGIN
IMMEDIATE``; one ``executemany`` per table inserting an ingest row per response
(its record's JSON, response included), a case row, a timer row, a message row
and the customer's row (its JSON) per opened case, a case row replaced per
response attached to an open case, a survey-stop row each time loopkit writes
one, and the two sequence counters; every JSON encoded inside the timed loop,
by one ``json.JSONEncoder`` made beforehand with loopkit's settings;
``COMMIT``. It reads nothing and decides nothing. loopkit
does all of that plus everything the baseline was handed: it classifies,
matches and decides (business-time deadlines), reads the store for replays and
open cases, numbers cases and messages, and builds its immutable values.

So the ratio prices the whole engine on SQLite against bare SQL writes. To show
what the store itself adds, the same ``ingest_many`` also runs on the
in-memory store: "SQLite on top of memory" is loopkit's SQLite cost per
response, to read against the baseline's. And for scale, ``Loop.ingest`` with
one transaction (one commit) per response runs on the first 1,000 responses,
with each ``synchronous`` setting.

Times are wall-clock (commits wait for the disk, which CPU time would not
count), best of ``--runs`` interleaved runs (``--large-runs`` above 20,000),
each into a fresh file, with Python's cyclic garbage collector paused (as
``timeit`` does); the CPU time of the same runs is printed too, as it moves
less when other work shares the machine. Both files are checked to hold the
same number of rows in every table the baseline writes. Printed for
both ``synchronous`` settings the store offers: ``full`` (the default) and
``normal``. Not a test: the figures are for reading, never for pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench_ingest import make_feed

import loopkit
from loopkit.stores import IngestOutcome
from loopkit.stores.sqlite import _MIGRATIONS, SCHEMA_VERSION, _us
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]
Feed = list[tuple[loopkit.Response, loopkit.Customer]]


# Made once, as loopkit's store does (``json.dumps`` with options builds an
# encoder per call, about 1.3 µs each: the baseline is not made to pay it).
_dumps = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode


class _Recording(loopkit.MemoryStore):
    """The in-memory store, noting the customer and survey-stop rows written
    (the rows of those tables the SQLite store writes, one each time)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, tuple[Any, ...]]] = []

    def save_customer(self, customer: loopkit.Customer) -> None:
        super().save_customer(customer)
        self.written.append(("customers", (customer.id, customer.to_dict())))

    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        super().set_survey_stop(customer_id, case_id)
        self.written.append(("survey_stops", (customer_id, case_id)))


def the_rows(feed: Feed, playbook: loopkit.Playbook) -> list[dict[str, list[tuple[Any, ...]]]]:
    """Per response, the rows loopkit writes for it, as plain values and dicts
    (worked out once, with the in-memory store, before any timing)."""
    store = _Recording()
    loop = loopkit.Loop(
        playbook, store=store, clock=FakeClock(feed[0][0].answered_at), check_channels=False
    )
    results = []
    written = []
    for r, c in feed:
        results.append(loop.ingest(r, customer=c))
        written.append(store.written)
        store.written = []
    with loop.store.transaction() as tx:
        records = {record.response_id: record for record in tx.ingests()}
        rows = []
        for result in results:
            record = records[result.response_id]
            out: dict[str, list[tuple[Any, ...]]] = {
                "ingests": [
                    (
                        record.response_id,
                        record.response.customer_id,
                        _us(record.ingested_at),
                        record.to_dict(),
                    )
                ],
                "cases": [],
                "timers": [],
                "messages": [],
                "customers": [],
                "survey_stops": [],
            }
            for table, row in written[len(rows)]:
                out[table].append(row)
            case = result.case
            if case is not None and result.outcome in (IngestOutcome.OPENED, "attached"):
                out["cases"].append(
                    (
                        case.id,
                        case.customer_id,
                        case.topic,
                        case.state.value,
                        _us(case.opened_at),
                        case.to_dict(),
                    )
                )
            if case is not None and result.outcome is IngestOutcome.OPENED:
                for timer in tx.timers(case.id)[:1]:
                    out["timers"].append(
                        (timer.id, timer.case_id, _us(timer.due_at), timer.to_dict())
                    )
                for m in tx.messages(case.id)[:1]:
                    out["messages"].append(
                        (
                            m.id,
                            m.case_id,
                            m.status.value,
                            _us(m.created_at),
                            _us(m.next_attempt_at or m.not_before),
                            m.to_dict(),
                        )
                    )
            rows.append(out)
    return rows


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """A new file with the store's layout and settings (not timed apart: both
    sides open their file inside the timed call)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("BEGIN IMMEDIATE")  # the layout in one transaction, as the store makes it
    for step in range(SCHEMA_VERSION):
        for statement in _MIGRATIONS[step].split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("COMMIT")
    return conn


_INSERTS = {
    "ingests": "INSERT INTO ingests (response_id, customer_id, ingested_us, data) VALUES (?,?,?,?)",
    "cases": "INSERT OR REPLACE INTO cases (id, customer_id, topic, state, opened_us, data)"
    " VALUES (?,?,?,?,?,?)",
    "timers": "INSERT INTO timers (id, case_id, due_us, data) VALUES (?,?,?,?)",
    "messages": "INSERT INTO messages (id, case_id, status, created_us, due_us, data)"
    " VALUES (?,?,?,?,?,?)",
    "customers": "INSERT OR REPLACE INTO customers (id, data) VALUES (?,?)",
}
_STOPS = "INSERT OR REPLACE INTO survey_stops (customer_id, case_id) VALUES (?,?)"


def raw_sqlite(
    rows: list[dict[str, list[tuple[Any, ...]]]], path: Path, batch: int, synchronous: str
) -> int:
    """The baseline: the same rows, bare ``executemany`` per table and batch."""
    conn = _connect(path, synchronous)
    numbers = {"case": 0, "message": 0}
    try:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            conn.execute("BEGIN IMMEDIATE")
            for table, sql in _INSERTS.items():
                conn.executemany(
                    sql, [(*r[:-1], _dumps(r[-1])) for one in chunk for r in one[table]]
                )
            conn.executemany(_STOPS, [r for one in chunk for r in one["survey_stops"]])
            numbers["case"] += sum(len(one["timers"]) for one in chunk)
            numbers["message"] += sum(len(one["messages"]) for one in chunk)
            conn.executemany(
                "INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)",
                list(numbers.items()),
            )
            conn.execute("COMMIT")
        return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    finally:
        conn.close()


def _opened(results: Iterable[loopkit.IngestResult]) -> int:
    """Cases opened (counted from the results: reading every case back from the
    store would time ``from_dict``, which the baseline's count does not pay)."""
    return sum(result.outcome is IngestOutcome.OPENED for result in results)


def loopkit_batches(
    feed: Feed, playbook: loopkit.Playbook, path: Path, batch: int, synchronous: str
) -> int:
    with loopkit.SQLiteStore(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        loop = loopkit.Loop(
            playbook, store=store, clock=FakeClock(feed[0][0].answered_at), check_channels=False
        )
        items = loop.ingest_many(feed, batch_size=batch)
        return _opened(item.unwrap() for item in items)


def loopkit_memory(feed: Feed, playbook: loopkit.Playbook, batch: int) -> int:
    loop = loopkit.Loop(playbook, clock=FakeClock(feed[0][0].answered_at), check_channels=False)
    return _opened(item.unwrap() for item in loop.ingest_many(feed, batch_size=batch))


def loopkit_one_by_one(feed: Feed, playbook: loopkit.Playbook, path: Path, synchronous: str) -> int:
    with loopkit.SQLiteStore(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        loop = loopkit.Loop(
            playbook, store=store, clock=FakeClock(feed[0][0].answered_at), check_channels=False
        )
        return _opened(loop.ingest(response, customer=customer) for response, customer in feed)


CPU: dict[Callable[..., int], list[float]] = {}
"""CPU seconds of each timed function's runs (the process's, user and system)."""


def timed(fn: Callable[..., int], *args: Any) -> tuple[float, int]:
    """Wall-clock seconds with the cyclic garbage collector paused (the CPU
    seconds are kept in :data:`CPU`)."""
    gc.collect()
    gc.disable()
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        result = fn(*args)
        seconds = time.perf_counter() - start
        CPU.setdefault(fn, []).append(time.process_time() - cpu)
        return seconds, result
    finally:
        gc.enable()


_TABLES = ("ingests", "cases", "timers", "messages", "customers", "survey_stops", "sequences")


def row_counts(path: Path) -> dict[str, int]:
    """Rows per table in the file at ``path`` (both sides must leave the same)."""
    conn = sqlite3.connect(path)
    try:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in _TABLES}
    finally:
        conn.close()


def one_size(n: int, args: argparse.Namespace, playbook: loopkit.Playbook, work: str) -> None:
    feed = make_feed(n)
    rows = the_rows(feed, playbook)
    runs = args.runs if n <= 20_000 else args.large_runs
    print(
        f"== {n:,} responses in batches of {args.batch}, "
        f"best of {runs} interleaved runs (wall clock, GC paused)"
    )
    files = iter(range(1_000_000))

    def fresh() -> Path:
        return Path(work, f"{n}-{next(files)}.db")

    def per(seconds: float, count: int = n) -> str:
        return f"{seconds / count * 1e6:8.2f} µs"

    CPU.clear()
    memory = min(timed(loopkit_memory, feed, playbook, args.batch)[0] for _ in range(runs))
    memory_cpu = min(CPU[loopkit_memory])
    print(f"{'loopkit ingest_many, in-memory store':44} {per(memory)} per response")
    for synchronous in ("full", "normal"):
        base: list[float] = []
        ours: list[float] = []
        cases: dict[str, int] = {}
        CPU.pop(raw_sqlite, None)
        CPU.pop(loopkit_batches, None)
        for run in range(runs):  # interleaved, so a noisy moment hurts both sides
            raw_file, our_file = fresh(), fresh()
            seconds, cases["raw"] = timed(raw_sqlite, rows, raw_file, args.batch, synchronous)
            base.append(seconds)
            seconds, cases["loopkit"] = timed(
                loopkit_batches, feed, playbook, our_file, args.batch, synchronous
            )
            ours.append(seconds)
            if run == 0:  # the same rows on both sides, table by table
                assert row_counts(raw_file) == row_counts(our_file), (
                    row_counts(raw_file),
                    row_counts(our_file),
                )
            for file in (raw_file, our_file):
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{file}{suffix}").unlink(missing_ok=True)
        assert cases["raw"] == cases["loopkit"], cases
        raw, sqlite = min(base), min(ours)
        print(f"-- synchronous={synchronous}")
        print(f"{'raw sqlite3, executemany per batch':44} {per(raw)} per response")
        print(f"{'loopkit ingest_many, SQLiteStore file':44} {per(sqlite)} per response")
        print(f"{'  of which SQLite, on top of in-memory':44} {per(sqlite - memory)} per response")
        print(
            f"ratio loopkit / raw sqlite3 at {n:,}: {sqlite / raw:.2f}x for the whole ingest, "
            f"{(sqlite - memory) / raw:.2f}x for the store's part "
            f"(target: within 2x); {cases['loopkit']:,} cases"
        )
        raw_cpu, sqlite_cpu = min(CPU[raw_sqlite]), min(CPU[loopkit_batches])
        print(
            f"  the same in CPU time (not counting waits for the disk or for a busy CPU): "
            f"{per(sqlite_cpu).strip()} / {per(raw_cpu).strip()} = {sqlite_cpu / raw_cpu:.2f}x, "
            f"store's part {(sqlite_cpu - memory_cpu) / raw_cpu:.2f}x"
        )
    if not args.no_single:
        single = min(n, 1_000)
        for synchronous in ("full", "normal"):
            seconds, _ = timed(loopkit_one_by_one, feed[:single], playbook, fresh(), synchronous)
            print(
                f"for scale: Loop.ingest, one transaction per response "
                f"(synchronous={synchronous}), first {single:,} responses: "
                f"{per(seconds, single)} per response"
            )
        args.no_single = True  # once is enough


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        type=int,
        nargs="+",
        default=[5_000, 100_000],
        help="responses, one or more sizes (default: 5,000, then 100,000)",
    )
    parser.add_argument("--batch", type=int, default=500, help="responses per transaction")
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs (default 5)")
    parser.add_argument(
        "--large-runs",
        type=int,
        default=2,
        help="best of this many runs above 20,000 responses (default 2)",
    )
    parser.add_argument(
        "--no-single", action="store_true", help="skip the one-transaction-per-response runs"
    )
    args = parser.parse_args()
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(prefix="loopkit-bench-") as work:
        for n in args.n:
            one_size(n, args, playbook, work)


if __name__ == "__main__":
    main()
