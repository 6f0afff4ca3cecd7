"""``loopkit simulate`` over a generated JSON Lines feed, streamed from disk,
against the floor measured in the same run: for each line, parse the JSON,
classify the score, match the example policies and work out one business-time
deadline (values built without checks: the least any simulation must do).

    python benchmarks/bench_simulate.py                  # 20,000 answers
    python benchmarks/bench_simulate.py --large 1000000  # and a million
    python benchmarks/bench_simulate.py --n 300          # a smoke run (CI)
    python benchmarks/bench_simulate.py --repeat 5       # best of five, interleaved

The simulation is the command itself (``loopkit simulate FEED --policies
examples/policies.toml --staff 20 --json``): the strict reader (every field
checked, as ``loopkit ingest`` checks it), each playbook's decision, the
compensation offer and the capacity model. Neither side holds the feed: both
read it a line at a time. Memory: the peak of Python's allocations
(tracemalloc) over the first 20,000 lines and over the whole feed, in a second
pass; flat means the simulation keeps counters, not cases. Prints the time
per answer of each side, their ratio and, from the largest size, the
projection for five million answers (a large telco's year). Each side runs
``--repeat`` times (default 3), interleaved (floor, simulate, floor, ...),
and the best of each counts: wall-clock time, and the process's CPU time,
which other programs on a shared machine disturb less. Not a test: the
figures are for reading, never for pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loopkit import NPS, Customer, Response, Touchpoint, load_playbook
from loopkit._input.trusted import builder
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
ZONES = ("Europe/Stockholm", "Europe/Oslo", "Europe/London", "America/New_York", "Asia/Tokyo")
KINDS = ("support_contact", "purchase", "delivery", "cancellation", "store_visit")
CHANNELS = ("phone", "web", "email", "chat")


def write_feed(path: Path, n: int, seed: int = 16) -> None:
    """``n`` answers a minute apart, from ``n // 4`` customers, written a line at a time."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 7, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            at = (start + timedelta(minutes=i)).isoformat()
            c = rng.randrange(max(1, n // 4))
            line = {
                "response": {
                    "id": f"r-{i}",
                    "customer_id": f"c-{c}",
                    "scale": "nps",
                    "score": rng.choice((0, 2, 4, 6, 7, 8, 9, 10, 10, 9)),
                    "answered_at": at,
                    "source": "email_survey",
                    "touchpoint": {
                        "id": f"t-{i}",
                        "kind": rng.choice(KINDS),
                        "channel": rng.choice(CHANNELS),
                        "occurred_at": at,
                        "employee_id": f"emp-{rng.randrange(40)}",
                    },
                },
                "customer": {
                    "id": f"c-{c}",
                    "timezone": ZONES[c % len(ZONES)],
                    "segment": ("gold", "silver", None)[c % 3],
                    "contact": {
                        "channels": [
                            {"channel": "email", "address": f"c{c}@example.com"},
                            {"channel": "phone", "address": f"+4670{c:07d}"},
                        ],
                        "quiet_hours": "20:00-08:00",
                    },
                },
            }
            out.write(json.dumps(line) + "\n")


def floor(path: Path) -> int:
    """Parse, classify, match, one deadline: values built without any check."""
    policies = load_playbook(POLICIES).policies
    calendar = policies.calendars["support"]
    make_response, make_touchpoint = builder(Response), builder(Touchpoint)
    make_customer = builder(Customer)
    scales = {"nps": NPS}
    matched = 0
    with path.open("rb") as feed:
        for raw in feed:
            data = json.loads(raw)
            r, c, t = data["response"], data["customer"], data["response"]["touchpoint"]
            at = datetime.fromisoformat(r["answered_at"])
            touchpoint = make_touchpoint(
                id=t["id"], kind=t["kind"], channel=t["channel"], occurred_at=at,
                employee_id=t["employee_id"],
            )  # fmt: skip
            response = make_response(
                id=r["id"], customer_id=r["customer_id"], score=r["score"], answered_at=at,
                scale=scales[r["scale"]], touchpoint=touchpoint, source=r["source"],
            )  # fmt: skip
            object.__setattr__(response, "category", response.scale.classify(response.score))
            customer = make_customer(id=c["id"], timezone=c["timezone"], segment=c["segment"])
            if policies.match(response, customer, at) is not None:
                matched += 1
                calendar.add(at, timedelta(hours=4))
    return matched


def simulate(path: Path) -> dict[str, object]:
    """``loopkit simulate`` on the feed, as the command line runs it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["simulate", str(path), "--policies", str(POLICIES), "--staff", "20", "--json"])
    if code != 0:
        raise SystemExit(f"loopkit simulate exited {code}")
    result: dict[str, object] = json.loads(out.getvalue())["playbooks"][0]
    return result


def timed(work: object, *args: object) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds of ``work(*args)``, and its value."""
    started, cpu = time.perf_counter(), time.process_time()
    value = work(*args)  # type: ignore[operator]
    return time.perf_counter() - started, time.process_time() - cpu, value


def peak(work: object, *args: object) -> int:
    tracemalloc.start()
    try:
        work(*args)  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(n: int, folder: Path, repeat: int = 1) -> tuple[float, float]:
    path = folder / f"feed-{n}.jsonl"
    write_feed(path, n)
    floor_s = floor_cpu = sim_s = sim_cpu = float("inf")
    for _ in range(repeat):  # interleaved: a busy spell of the machine slows both
        wall, cpu, matched = timed(floor, path)
        floor_s, floor_cpu = min(floor_s, wall), min(floor_cpu, cpu)
        wall, cpu, result = timed(simulate, path)
        sim_s, sim_cpu = min(sim_s, wall), min(sim_cpu, cpu)
    assert isinstance(result, dict)
    print(
        f"{n:>9,} answers  floor {floor_s / n * 1e6:6.1f} us/answer  "
        f"simulate {sim_s / n * 1e6:6.1f} us/answer  ratio {sim_s / floor_s:4.1f}x  "
        f"(matched {matched:,}, cases {result['cases']:,}, met {result['met']:,})"
    )
    print(
        f"{'':>9}          CPU time: floor {floor_cpu / n * 1e6:6.1f} us/answer  "
        f"simulate {sim_cpu / n * 1e6:6.1f} us/answer  ratio {sim_cpu / floor_cpu:4.1f}x  "
        f"(best of {repeat}, interleaved)"
    )
    small = folder / "feed-prefix.jsonl"
    with path.open("rb") as whole, small.open("wb") as part:
        for i, line in enumerate(whole):
            if i >= min(n, 20_000):
                break
            part.write(line)
    first, total = peak(simulate, small), peak(simulate, path)
    print(
        f"{'':>9}          memory peak: {first / 1e6:5.1f} MB over {min(n, 20_000):,} lines, "
        f"{total / 1e6:5.1f} MB over {n:,}"
    )
    path.unlink()
    return floor_s / n, sim_s / n


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="answers in the feed")
    parser.add_argument("--large", type=int, help="also a feed of this many answers")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side, interleaved; the best counts"
    )
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        per = run(args.n, Path(folder), args.repeat)
        if args.large:
            per = run(args.large, Path(folder), args.repeat)
    floor_us, sim_us = per
    print(
        f"projection for 5,000,000 answers: simulate {sim_us * 5e6 / 60:.1f} min "
        f"(floor {floor_us * 5e6 / 60:.1f} min)"
    )


if __name__ == "__main__":
    main_bench()
