"""Tick throughput: one `Loop.tick` that finds every case overdue, with the
in-memory store, at a size and at four times that size in the same run.

    python benchmarks/bench_tick.py            # 5,000 and 20,000 responses
    python benchmarks/bench_tick.py --n 300    # a smoke run

Each case opened by the feed has a warning, a breach, perhaps an escalation
and a follow-up message due, so one tick does several items per case. The
figure to read is the cost per item at both sizes: a tick that scales with
the work stays near 1x between them; one that rescans the store for every
item grows with the size (before the in-memory store kept what comes due in
heaps, four times the cases cost 3.4x as much per item, and a tick over 8,000
responses took 16 s). Not a test: the figures are for reading, never pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from datetime import timedelta

from bench_ingest import ROOT, make_feed

import loopkit
from loopkit.testing import FakeClock, RecordingChannel


def one_tick(n: int, playbook: loopkit.Playbook) -> tuple[float, int]:
    """Seconds of CPU for one tick after ingesting ``n`` responses, and the
    number of items it handled."""
    feed = make_feed(n)
    channel = RecordingChannel()
    loop = loopkit.Loop(
        playbook,
        clock=FakeClock(feed[0][0].answered_at),
        plugins=[loopkit.ChannelPlugin({"phone": channel, "email": channel})],
    )
    for response, customer in feed:
        loop.ingest(response, customer=customer)
    gc.collect()
    start = time.process_time()
    report = loop.tick(feed[-1][0].answered_at + timedelta(days=30))
    seconds = time.process_time() - start
    items = report.sent + report.warnings + report.breaches + report.escalations
    return seconds, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="responses (default 5,000)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"best of {args.runs} (CPU time)"
    )
    per_item = []
    for n in (args.n, 4 * args.n):
        runs = [one_tick(n, playbook) for _ in range(args.runs)]
        seconds, items = min(runs)
        per_item.append(seconds / items)
        print(f"{n:>7,} responses: one tick, {items:,} items, {seconds / items * 1e6:7.2f} µs/item")
    print(f"cost per item at 4x the size: {per_item[1] / per_item[0]:.2f}x (linear: about 1x)")


if __name__ == "__main__":
    main()
