"""Touchpoint signals side by side with responses: matching a touchpoint with no
response (`PolicySet.match_touchpoint`, its own compiled function) against
matching responses about the same touchpoints (`PolicySet.match`, the hot path),
and a whole in-memory `Loop.ingest_touchpoint` against `Loop.ingest`.

Run:
    .venv/bin/python benchmarks/bench_signals.py            # 50,000 items
    .venv/bin/python benchmarks/bench_signals.py --n 300    # a quick smoke run

The policies are the signal stories' (seed 002 "last impressions last", seed 003 the
welcome for a rival's travellers) plus a detractor rule that reads the response. Figures
are the best of ``--runs`` interleaved runs of CPU time; the machine is noisy, so read
the ratios, not the digits. Not a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from loopkit import NPS, Customer, Loop, MemoryStore, Response, Touchpoint, load_playbook
from loopkit.testing import FakeClock, make_customer, make_touchpoint

PLAYBOOK = {
    "version": 1,
    "calendars": {
        "support": {
            "timezone": "Europe/Stockholm",
            "hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-17:00"),
        }
    },
    "policies": [
        {
            "name": "detractor-call",
            "when": {"field": "response.category", "equals": "detractor"},
            "channels": ["phone"],
            "owner": "touchpoint.employee_id",
        },
        {
            "name": "last-impression",
            "topic": "offboarding",
            "when": {
                "all": [
                    {"field": "touchpoint.kind", "equals": "cancellation"},
                    {"not": {"field": "response.category", "equals": "promoter"}},
                ]
            },
            "channels": ["phone"],
            "owner": "team:retention",
            "deadline": {"within": "8h", "calendar": "support"},
        },
        {
            "name": "welcome-switcher",
            "when": {
                "all": [
                    {"field": "touchpoint.kind", "equals": "booking"},
                    {"field": "touchpoint.attributes.switched_from", "exists": True},
                ]
            },
            "channels": ["email"],
            "owner": "team:loyalty",
            "deadline": {"within": "4h", "calendar": "support"},
        },
    ],
}
KINDS = ("cancellation", "booking", "purchase", "support_contact")


def synthetic(n: int, seed: int = 7) -> list[tuple[Touchpoint, Response, Customer]]:
    """``n`` touchpoints, each with a promoter's response about it and a customer
    of its own (so every item that matches opens a case: no attaching)."""
    rng = random.Random(seed)
    base = make_touchpoint().occurred_at
    out = []
    for i in range(n):
        kind = rng.choice(KINDS)
        attributes = {"switched_from": "rival"} if rng.random() < 0.5 else {}
        tp = make_touchpoint(
            kind, id=f"t-{i}", occurred_at=base + timedelta(minutes=i), attributes=attributes
        )
        response = Response(
            id=f"r-{i}",
            customer_id=f"c-{i}",
            scale=NPS,
            score=rng.choice((2, 5, 8)),  # never a promoter: the same policies can match
            answered_at=tp.occurred_at + timedelta(minutes=30),
            touchpoint=tp,
        )
        out.append((tp, response, make_customer(f"c-{i}")))
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="items (default 50,000)")
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs")
    args = parser.parse_args()
    items = synthetic(args.n)
    policies = load_playbook(PLAYBOOK).policies
    now = items[-1][1].answered_at

    def match_responses() -> None:
        match = policies.match
        for _, r, c in items:
            match(r, c, now)

    def match_signals() -> None:
        match = policies.match_touchpoint
        for tp, _, c in items:
            match(tp, c, now)

    def ingest_responses() -> None:
        loop = Loop(load_playbook(PLAYBOOK), store=MemoryStore(), clock=FakeClock(now))
        for _, r, c in items:
            loop.ingest(r, customer=c)

    def ingest_signals() -> None:
        loop = Loop(load_playbook(PLAYBOOK), store=MemoryStore(), clock=FakeClock(now))
        for tp, _, c in items:
            loop.ingest_touchpoint(tp, customer=c)

    # The two must pick the same policy wherever the response does not decide.
    for tp, r, c in items:
        by_signal = policies.match_touchpoint(tp, c, now)
        by_response = policies.match(r, c, now)
        if by_signal is not None:
            assert by_response is not None and by_response.name in (
                by_signal.name,
                "detractor-call",
            )
    policies.match_touchpoint(items[0][0], items[0][2], now)  # compile before timing

    runs: dict[str, list[float]] = {name: [] for name in ("mr", "ms", "ir", "is")}
    for _ in range(args.runs):
        runs["mr"].append(timed(match_responses))
        runs["ms"].append(timed(match_signals))
        runs["ir"].append(timed(ingest_responses))
        runs["is"].append(timed(ingest_signals))
    best = {name: min(values) for name, values in runs.items()}
    per = {name: best[name] / args.n * 1e9 for name in best}
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"{args.n:,} items, best of {args.runs} interleaved runs (CPU time)"
    )
    print(f"match, response (baseline)      {per['mr']:>10,.0f} ns/item   1.00x")
    print(
        f"match_touchpoint, signal        {per['ms']:>10,.0f} ns/item   {best['ms'] / best['mr']:.2f}x"
    )
    print(f"Loop.ingest, response (baseline){per['ir']:>10,.0f} ns/item   1.00x")
    print(
        f"Loop.ingest_touchpoint, signal  {per['is']:>10,.0f} ns/item   {best['is'] / best['ir']:.2f}x"
    )


if __name__ == "__main__":
    main()
