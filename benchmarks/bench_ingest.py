"""Ingest throughput: loopkit's Loop with the in-memory store against a hand-written
loop doing the same work (classify, decide with the example policies, compute the
business-time deadline, build the case and its message), side by side in one run.

    python benchmarks/bench_ingest.py                    # 20,000 responses, two feeds
    python benchmarks/bench_ingest.py --large 1000000    # and a million, as a host would
    python benchmarks/bench_ingest.py --n 300            # a smoke run

Prints the machine, Python, both timings per response and their ratio, twice:
without the time spent in Python's cyclic garbage collector (the convention of
``timeit``, which pauses it) and with it. The collector's full collections are
triggered by heap growth thresholds, so at one feed size a side may pay for one
or two full scans of the whole heap (the feed included) and at another for
none; the GC-paused figure is the stable one. Not a test: the figures are for
reading, never for pass/fail.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import loopkit
from loopkit import testing
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]


Feed = list[tuple[loopkit.Response, loopkit.Customer]]


def make_feed(n: int) -> Feed:
    """The benchmarks' first feed: ``n`` NPS answers three minutes apart from
    ``n // 3`` customers (the same every run). About half open a case."""
    return testing.make_feed(n, start=FakeClock().now())


ZONES = ("Europe/Stockholm", "Europe/Oslo", "Europe/London", "America/New_York", "Asia/Tokyo")
KINDS = ("support_contact", "purchase", "delivery", "cancellation", "store_visit", "onboarding")


def make_realistic_feed(n: int, seed: int = 2) -> Feed:
    """A mix closer to what a host sees: NPS and CSAT mixed, about a quarter of
    the answers unhappy, customers in five time zones, and touchpoint kinds no
    policy knows (``store_visit``, ``onboarding``). About a third open a case,
    so the cost of answers that match nothing shows."""
    rng = random.Random(seed)
    people = [
        testing.make_customer(
            f"c-{i}", timezone=rng.choice(ZONES), segment=rng.choice(("gold", "silver", None))
        )
        for i in range(max(1, n // 3))
    ]
    start = FakeClock().now()
    feed = []
    for i in range(n):
        at = start + timedelta(minutes=3 * i)
        scale = loopkit.NPS if rng.random() < 0.6 else loopkit.CSAT
        if rng.random() < 0.25:  # unhappy: NPS 0-6, CSAT 1-2
            score = rng.randint(0, 6) if scale is loopkit.NPS else rng.randint(1, 2)
        else:
            score = rng.randint(7, 10) if scale is loopkit.NPS else rng.randint(3, 5)
        customer = rng.choice(people)
        response = testing.make_response(
            score,
            id=f"r-{i}",
            scale=scale,
            customer_id=customer.id,
            answered_at=at,
            touchpoint=testing.make_touchpoint(rng.choice(KINDS), id=f"t-{i}", occurred_at=at),
            comment=rng.choice((None, None, "Slow delivery")),
        )
        feed.append((response, customer))
    return feed


def hand_written(feed: Feed, playbook: loopkit.Playbook) -> int:
    """What a developer would write by hand for the example policy file, producing
    the same outputs: an idempotency record per response, one open case per
    customer and policy, deadline, warning, escalation time and first contact
    (when support is open and the customer's quiet hours allow it), an opened
    event and an outbox row, the survey stop a detractor's answer sets, and the
    copy of the customer a case keeps. It uses loopkit's own calendar and contact window,
    so the comparison measures the engine, not business-time arithmetic."""
    support = playbook.calendars["support"]
    quiet = playbook.contact.quiet_hours
    hours4, hours8, hours16 = timedelta(hours=4), timedelta(hours=8), timedelta(hours=16)
    windows: dict[str, loopkit.ContactWindow] = {}
    open_cases: dict[tuple[str, str], dict[str, object]] = {}
    seen: dict[str, tuple[str, str | None]] = {}
    outbox = []
    stops: dict[str, str] = {}
    customers: dict[str, loopkit.Customer] = {}
    for response, customer in feed:
        if response.id in seen:
            continue
        category = response.category.value  # classified on the response's own scale
        if category == "detractor" and stops.get(customer.id, "response:").startswith("r"):
            # A stop held by the answer alone; a case's id replaces it below.
            stops[customer.id] = f"response:{response.id}"
        touchpoint = response.touchpoint
        kind = touchpoint.kind if touchpoint else None
        escalate_to = None
        if response.source == "employee" and touchpoint and touchpoint.channel == "in_person":
            name, owner, channels, within = (
                "complaint-in-person",
                touchpoint.employee_id,
                ("in_person",),
                None,
            )
        elif category == "detractor" and kind == "support_contact":
            name, owner, channels, within = (
                "support-detractor-callback",
                touchpoint.employee_id if touchpoint else None,
                ("phone", "email"),
                hours4,
            )
            escalate_to = "team:support-leads"
        elif kind == "cancellation" and category in ("detractor", "passive"):
            name, owner, channels, within = "offboarding", "team:retention", ("phone",), hours8
        elif category == "detractor" and kind in ("purchase", "delivery"):
            name, owner, channels, within = "purchase", "team:ecommerce", ("email",), hours8
        elif category == "passive" and (customer.segment == "gold" or response.comment):
            name, owner, channels, within = "passive", "team:cx", ("email",), hours16
        else:
            seen[response.id] = ("no_follow_up", None)
            continue
        channel = next((c for c in channels if customer.contact.address_for(c)), None)
        if channel is None:
            seen[response.id] = ("suppressed", None)
            continue
        key = (customer.id, name)
        if key in open_cases:
            open_cases[key]["responses"].append(response.id)  # type: ignore[attr-defined]
            seen[response.id] = ("attached", str(open_cases[key]["id"]))
            if category == "detractor":
                stops[customer.id] = str(open_cases[key]["id"])
            continue
        at = response.answered_at
        assert within is not None  # the in-person policy never matches this feed
        due = support.add(at, within)
        warn = support.add(at, within * 0.75)
        escalation = support.add(due, hours4) if escalate_to else None
        window = windows.get(customer.timezone)
        if window is None:
            window = windows[customer.timezone] = loopkit.ContactWindow(
                timezone=customer.timezone, quiet_hours=quiet
            )
        first = at  # the first instant support is open and the customer may be called
        for _ in range(50):
            opened = support.next_open(first)
            first = window.next_allowed(opened)
            if first == opened:
                break
        case_id = f"case-{len(open_cases) + 1}"
        case = {
            "id": case_id,
            "customer": customer.id,
            "policy": name,
            "owner": owner,
            "channel": channel,
            "due": due,
            "warn": warn,
            "escalation": escalation,
            "responses": [response.id],
            "state": "open",
            "events": [{"at": at, "by": "system", "kind": "opened"}],
        }
        open_cases[key] = case
        seen[response.id] = ("opened", case_id)
        customers[customer.id] = customer
        if category == "detractor":
            stops[customer.id] = case_id
        outbox.append(
            {
                "case": case_id,
                "channel": channel,
                "not_before": first,
                "to": customer.contact.address_for(channel),
                "status": "pending",
            }
        )
    return len(open_cases)


def with_loopkit(feed: Feed, playbook: loopkit.Playbook) -> int:
    loop = loopkit.Loop(playbook, clock=FakeClock(feed[0][0].answered_at), check_channels=False)
    for response, customer in feed:
        loop.ingest(response, customer=customer)
    return len(loop.cases())


class Timing:
    """One timed run: CPU time in total and the part spent in Python's cyclic
    garbage collector (measured with ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total = self.in_gc = 0.0
        self.full_collections = 0
        self._started = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        # The same clock as the total: CPU time of this process.
        if phase == "start":
            self._started = time.process_time()
        else:
            self.in_gc += time.process_time() - self._started
            self.full_collections += info["generation"] == 2


def timed(fn, *args) -> tuple[Timing, int]:  # type: ignore[no-untyped-def]
    gc.collect()  # every run starts from the same collector state
    timing = Timing()
    gc.callbacks.append(timing.on_gc)
    try:
        start = time.process_time()
        result = fn(*args)
        timing.total = time.process_time() - start
    finally:
        gc.callbacks.remove(timing.on_gc)
    return timing, result


def compare(name: str, feed: Feed, playbook: loopkit.Playbook, runs: int) -> None:
    """Time both loops on one feed, interleaved, and print the figures.

    The feed is frozen out of the collector's sight first (``gc.freeze``): a
    real process reads its feed from a file and does not hold it, so the heap
    a full collection walks, and the growth that triggers one, is what the
    loop itself keeps. Held in memory and tracked, a million-response feed
    would hide the loop's collections (they are triggered when what survives
    grows by a quarter of the heap)."""
    n = len(feed)
    gc.collect()
    gc.freeze()
    try:
        _compare(name, feed, playbook, runs, n)
    finally:
        gc.unfreeze()


def _compare(name: str, feed: Feed, playbook: loopkit.Playbook, runs: int, n: int) -> None:
    base: list[Timing] = []
    ours: list[Timing] = []
    cases = {}
    for _ in range(runs):  # interleaved, so a noisy moment hurts both sides
        timing, cases["hand-written"] = timed(hand_written, feed, playbook)
        base.append(timing)
        timing, cases["loopkit"] = timed(with_loopkit, feed, playbook)
        ours.append(timing)
    assert cases["hand-written"] == cases["loopkit"], cases

    def per(seconds: float) -> str:
        return f"{seconds / n * 1e6:7.2f} µs"

    def best(timings: list[Timing], *, gc_paused: bool) -> float:
        return min(t.total - t.in_gc if gc_paused else t.total for t in timings)

    print(f"\n{name}: {n:,} responses, {cases['loopkit']:,} cases ({cases['loopkit'] / n:.0%})")
    print(f"{'':20} {'GC paused':>11} {'GC running':>11}  full collections")
    for label, timings in (("hand-written loop", base), ("loopkit Loop.ingest", ours)):
        print(
            f"{label:20} {per(best(timings, gc_paused=True)):>11} "
            f"{per(best(timings, gc_paused=False)):>11}  "
            f"{min(t.full_collections for t in timings)}"
        )
    paused = best(ours, gc_paused=True) / best(base, gc_paused=True)
    running = best(ours, gc_paused=False) / best(base, gc_paused=False)
    print(
        f"ratio loopkit / hand-written: {paused:.2f}x with GC paused (as timeit measures), "
        f"{running:.2f}x with GC running (target: within 3x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="responses (default 20,000)")
    parser.add_argument(
        "--large", type=int, default=None, help="also at this size (e.g. 1000000), one run"
    )
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs")
    args = parser.parse_args()
    playbook = loopkit.load_playbook(ROOT / "examples" / "policies.toml")
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"best of {args.runs} interleaved runs (CPU time, the collector's share too)"
    )
    compare("half open a case", make_feed(args.n), playbook, args.runs)
    compare("realistic mix", make_realistic_feed(args.n), playbook, args.runs)
    if args.large:
        compare("realistic mix, large", make_realistic_feed(args.large), playbook, 1)


if __name__ == "__main__":
    main()
