"""What a failing item costs in ``Loop.ingest_many``: a batch where every other
item fails inside the batch's write, against a clean batch of the same size,
side by side in one run, on the in-memory store and on SQLite (a file, with
``synchronous="normal"``).

    python benchmarks/bench_batch_failures.py            # 2,000 and 8,000 responses
    python benchmarks/bench_batch_failures.py --n 300    # a smoke run (300 and 1,200)

The failing items fail where it costs most: a store wrapper refuses the ingest
record of every other response (``add_ingest``, the last write of an item, after
its case, timer and outbox message are written), so each failure has to undo
real writes. Each response is from a customer of its own, so the failing run does
the same work per item as the clean one. Both runs go through the same wrapper (the clean run refuses
nothing), so the wrapper's own cost is on both sides. Each item runs in a
savepoint of its own: a failure undoes that item only, so the ratio should stay
near 1 and the same at both sizes (before savepoints, each failure reran the
whole batch: the cost grew with the square of the batch size). Wall-clock time,
best of ``--runs``. Not a test: the figures are for reading, never for pass/fail.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import loopkit
from loopkit import testing
from loopkit.stores import IngestRecord, StoreTransaction
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]


class _Refusing:
    """A transaction that passes every call through, except that ``add_ingest``
    refuses the responses in ``refused``."""

    def __init__(self, tx: StoreTransaction, refused: frozenset[str]) -> None:
        self._tx = tx
        self._refused = refused

    def add_ingest(self, record: IngestRecord) -> None:
        if record.response_id in self._refused:
            raise loopkit.ValidationError("response.id", "an id the host accepts", "a refused one")
        self._tx.add_ingest(record)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class RefusingStore:
    """A store wrapper whose transactions refuse some responses' ingest records."""

    def __init__(self, inner: loopkit.Store, refused: frozenset[str]) -> None:
        self.inner = inner
        self.refused = refused

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        @contextmanager
        def wrapped() -> Iterator[StoreTransaction]:
            with self.inner.transaction() as tx:
                yield _Refusing(tx, self.refused)  # type: ignore[misc]

        return wrapped()

    def close(self) -> None:
        self.inner.close()


def run(
    feed: list[tuple[loopkit.Response, loopkit.Customer]],
    playbook: loopkit.Playbook,
    make_store: Callable[[], loopkit.Store],
    refused: frozenset[str],
) -> tuple[float, int]:
    """Seconds to ingest ``feed`` on a fresh store; and how many items failed."""
    store = RefusingStore(make_store(), refused)
    loop = loopkit.Loop(playbook, store=store, clock=FakeClock())
    try:
        start = time.perf_counter()
        items = loop.ingest_many(feed)
        seconds = time.perf_counter() - start
    finally:
        store.close()
    failed = sum(not item.ok for item in items)
    assert failed == len(refused), (failed, len(refused))
    return seconds, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000, help="responses (default 2,000)")
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs")
    args = parser.parse_args()
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}, "
        f"best of {args.runs} interleaved runs (wall clock), batches of 500"
    )
    print(f"{'store':8} {'responses':>9} {'clean':>12} {'50% failing':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="loopkit-bench-") as work:
        counter = iter(range(1_000_000))

        def sqlite_file() -> loopkit.Store:
            # "normal": synced at checkpoints, so the disk's noise does not drown the ratio
            return loopkit.SQLiteStore(Path(work, f"loop-{next(counter)}.db"), synchronous="normal")

        stores: dict[str, Callable[[], loopkit.Store]] = {
            "memory": loopkit.MemoryStore,
            "sqlite": sqlite_file,
        }
        for n in (args.n, 4 * args.n):
            # one customer per response: what an item does never depends on whether
            # an earlier one failed (a failed opener would make the next answer of
            # its customer open a case instead of attaching to it: more work)
            feed = testing.make_feed(n, start=FakeClock().now(), customers=n)
            refused = frozenset(response.id for response, _ in feed[1::2])
            for name, make_store in stores.items():
                clean: list[float] = []
                failing: list[float] = []
                for _ in range(args.runs):  # interleaved, so a noisy moment hurts both
                    clean.append(run(feed, playbook, make_store, frozenset())[0])
                    failing.append(run(feed, playbook, make_store, refused)[0])
                base, bad = min(clean), min(failing)
                print(
                    f"{name:8} {n:>9,} {base / n * 1e6:9.1f} µs {bad / n * 1e6:9.1f} µs "
                    f"{bad / base:5.2f}x"
                )
    print("µs per response; ratio = 50% failing / clean (target: at most 2x at every size)")


if __name__ == "__main__":
    main()
