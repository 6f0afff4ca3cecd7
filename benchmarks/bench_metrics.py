"""NPS with its interval over scores streamed from a generator: loopkit against a
plain ``collections.Counter`` loop over the same generator (and ``numpy.bincount``
over an array, when numpy is installed), side by side in one run, with the peak
traced memory of each.

    python benchmarks/bench_metrics.py               # 1,000,000 and 10,000,000 scores
    python benchmarks/bench_metrics.py --n 300       # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator

from loopkit.metrics import NPS, nps

TABLE = [random.Random(7).randint(0, 10) for _ in range(10_007)]


def stream(n: int) -> Iterator[int]:
    table, size = TABLE, len(TABLE)
    return (table[i % size] for i in range(n))


def counter_loop(n: int) -> tuple[float, float]:
    counts: Counter[int] = Counter()
    for score in stream(n):
        counts[score] += 1
    total = sum(counts.values())
    p = (counts[9] + counts[10]) / total
    d = sum(counts[s] for s in range(7)) / total
    return 100 * (p - d), total


def with_loopkit(n: int) -> tuple[float, float]:
    result = nps(stream(n))
    interval = result.interval()
    assert interval is not None and result.score is not None
    return result.score, result.n


def timed(fn, n: int) -> tuple[float, int, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """CPU seconds of one run, then the peak traced memory of another (tracing
    slows every allocation, so it is kept out of the timed run)."""
    start = time.process_time()
    out = fn(n)
    seconds = time.process_time() - start
    tracemalloc.start()
    fn(n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, out


def run(n: int) -> None:
    print(f"\n{n:,} scores")
    base_s, base_peak, base = timed(counter_loop, n)
    ours_s, ours_peak, ours = timed(with_loopkit, n)
    assert abs(base[0] - ours[0]) < 1e-9 and base[1] == ours[1], (base, ours)
    print(f"  Counter loop      {base_s / n * 1e9:7.1f} ns/score  peak {base_peak / 1024:8.1f} KiB")
    print(f"  loopkit nps()     {ours_s / n * 1e9:7.1f} ns/score  peak {ours_peak / 1024:8.1f} KiB")
    try:
        import numpy as np
    except ImportError:
        print("  numpy.bincount    skipped: pip install numpy to compare")
    else:
        array = np.fromiter(stream(n), dtype=np.int64, count=n)
        start = time.process_time()
        bins = np.bincount(array, minlength=11)
        seconds = time.process_time() - start
        assert int(bins.sum()) == n
        print(
            f"  numpy.bincount    {seconds / n * 1e9:7.1f} ns/score  (over an array built beforehand)"
        )
    print(f"  ratio loopkit / Counter loop: {ours_s / base_s:.2f}x (target: within 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="scores (default 1,000,000)")
    parser.add_argument("--large", type=int, default=None, help="also at this size (default 10n)")
    args = parser.parse_args()
    print(f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]} (CPU time)")
    run(args.n)
    run(args.large or args.n * 10)
    assert NPS(70, 10, 20).score == 50


if __name__ == "__main__":
    main()
