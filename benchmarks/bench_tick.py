"""Tick throughput: one `Loop.tick` that finds every case overdue, at a size
and at four times that size in the same run, on the in-memory store and on
one SQLite file; and the sends alone (a tick over an outbox of due messages).

    python benchmarks/bench_tick.py                  # 5,000 and 20,000 responses
    python benchmarks/bench_tick.py --n 300          # a smoke run
    python benchmarks/bench_tick.py --store memory   # one store only
    python benchmarks/bench_tick.py --store postgres # PostgreSQL (not in "both")

Each case opened by the feed has a warning, a breach, perhaps an escalation
and a follow-up message due, so one tick does several items per case. The
figure to read is the cost per item at both sizes: a tick that scales with
the work stays near 1x between them; one that rescans the store for every
item grows with the size (before the in-memory store kept what comes due in
heaps, four times the cases cost 3.4x as much per item, and a tick over 8,000
responses took 16 s). The memory store's figures are CPU time; SQLite's are
wall-clock time, since what a commit costs there is waiting for the disk
(``synchronous="full"``, the default: each commit syncs the log). Not a test:
the figures are for reading, never pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from bench_ingest import ROOT, make_feed

import loopkit
from loopkit.channels import Channel
from loopkit.testing import FakeClock, RecordingChannel

Store = Callable[[], loopkit.Store]


def _loop(playbook: loopkit.Playbook, store: loopkit.Store, start: datetime) -> loopkit.Loop:
    channel: Channel = RecordingChannel()
    return loopkit.Loop(
        playbook,
        store=store,
        clock=FakeClock(start),
        plugins=[loopkit.ChannelPlugin({"phone": channel, "email": channel})],
    )


def one_tick(
    n: int, playbook: loopkit.Playbook, store: Store, timer: Callable[[], float]
) -> tuple[float, int]:
    """Seconds for one tick after ingesting ``n`` responses, and the number
    of items it handled."""
    feed = make_feed(n)
    loop = _loop(playbook, store(), feed[0][0].answered_at)
    loop.ingest_many(feed)
    gc.collect()
    start = timer()
    report = loop.tick(feed[-1][0].answered_at + timedelta(days=30))
    seconds = timer() - start
    loop.store.close()
    return seconds, report.sent + report.warnings + report.breaches + report.escalations


def sends(
    n: int, playbook: loopkit.Playbook, store: Store, timer: Callable[[], float]
) -> tuple[float, int]:
    """Seconds for one tick that only delivers ``n`` due messages, and ``n``."""
    at = FakeClock().now()
    opened = store()
    with opened.transaction() as tx:
        for i in range(n):
            tx.save_message(
                loopkit.Message(
                    id=f"m-{i}",
                    case_id=f"case-{i % 97}",
                    customer_id=f"c-{i % 89}",
                    channel=("phone", "email")[i % 2],
                    purpose="follow_up",
                    created_at=at,
                    not_before=at,
                )
            )
    loop = _loop(playbook, opened, at)
    gc.collect()
    start = timer()
    report = loop.tick(at + timedelta(minutes=1))
    seconds = timer() - start
    opened.close()
    assert report.sent == n
    return seconds, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="responses (default 5,000)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--store",
        choices=["memory", "sqlite", "postgres", "both"],
        default="both",
        help="both: memory and sqlite (the default); postgres: a server of"
        " LOOPKIT_POSTGRES_DSN, or one started as the tests do",
    )
    args = parser.parse_args()
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"best of {args.runs}"
    )
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        files = iter(range(1 << 30))

        def sqlite() -> loopkit.Store:
            return loopkit.SQLiteStore(Path(folder) / f"tick-{next(files)}.db")

        stores: list[tuple[str, Store, Callable[[], float]]] = [
            ("memory (CPU time)", loopkit.MemoryStore, time.process_time),
            ("sqlite (wall time)", sqlite, time.perf_counter),
        ]
        if args.store == "postgres":
            postgres = stack.enter_context(_postgres())
            if postgres is None:
                return
            stores.append(("postgres (wall time)", postgres, time.perf_counter))
        for name, store, timer in stores:
            if args.store not in ("both", name.split()[0]) or (
                args.store == "both" and name.startswith("postgres")
            ):
                continue
            report(name, store, timer, args.n, args.runs, playbook)


def report(
    name: str, store: Store, timer: Callable[[], float], n: int, runs: int, pb: loopkit.Playbook
) -> None:
    """Print one store's figures: the tick at ``n`` and ``4 * n``, then the sends alone."""
    print(f"{name}:")
    per_item = []
    for size in (n, 4 * n):
        seconds, items = min(one_tick(size, pb, store, timer) for _ in range(runs))
        per_item.append(seconds / items)
        print(
            f"{size:>7,} responses: one tick, {items:,} items, {seconds / items * 1e6:7.2f} µs/item"
        )
    print(f"cost per item at 4x the size: {per_item[1] / per_item[0]:.2f}x (linear: about 1x)")
    for size in (n, 4 * n):
        seconds, _ = min(sends(size, pb, store, timer) for _ in range(runs))
        print(
            f"{size:>7,} due messages: one tick sends them, {seconds / size * 1e6:7.2f} µs/message"
        )


@contextlib.contextmanager
def _postgres() -> Iterator[Store | None]:
    """New schemas on a PostgreSQL server (see ``bench_postgres.server_dsn``)."""
    from bench_postgres import _drop, server_dsn

    dsn, stop = server_dsn()
    if dsn is None:
        print(f"postgres: skipped: {stop}")
        yield None
        return
    from loopkit.stores.postgres import PostgresStore

    schemas: list[str] = []

    def fresh() -> loopkit.Store:
        schemas.append(f"bench_tick_{os.getpid()}_{len(schemas)}")
        return PostgresStore(dsn, schema=schemas[-1])

    try:
        yield fresh
    finally:
        for schema in schemas:
            _drop(dsn, schema)
        if stop is not None:
            stop[0].stop(stop[1])


if __name__ == "__main__":
    main()
