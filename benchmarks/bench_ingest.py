"""Ingest throughput: loopkit's Loop with the in-memory store against a hand-written
loop doing the same work (classify, decide with the example policies, compute the
business-time deadline, build the case and its message), side by side in one run.

    python benchmarks/bench_ingest.py            # 20,000 responses
    python benchmarks/bench_ingest.py --n 300    # a smoke run

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
import sys
import time
from datetime import timedelta
from pathlib import Path

import loopkit
from loopkit import testing
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]


def make_feed(n: int) -> list[tuple[loopkit.Response, loopkit.Customer]]:
    """The benchmarks' feed: ``n`` answers three minutes apart from ``n // 3``
    customers (the same every run)."""
    return testing.make_feed(n, start=FakeClock().now())


def hand_written(
    feed: list[tuple[loopkit.Response, loopkit.Customer]], playbook: loopkit.Playbook
) -> int:
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


def with_loopkit(
    feed: list[tuple[loopkit.Response, loopkit.Customer]], playbook: loopkit.Playbook
) -> int:
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
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.in_gc += time.perf_counter() - self._started
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="responses (default 20,000)")
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs")
    args = parser.parse_args()
    playbook = loopkit.load_policies(ROOT / "examples" / "policies.toml")
    feed = make_feed(args.n)
    print(
        f"{platform.machine()} {platform.system()}, Python {sys.version.split()[0]}, "
        f"{args.n:,} responses, best of {args.runs} interleaved runs (CPU time)"
    )
    base: list[Timing] = []
    ours: list[Timing] = []
    cases = {}
    for _ in range(args.runs):  # interleaved, so a noisy moment hurts both sides
        timing, cases["hand-written"] = timed(hand_written, feed, playbook)
        base.append(timing)
        timing, cases["loopkit"] = timed(with_loopkit, feed, playbook)
        ours.append(timing)
    assert cases["hand-written"] == cases["loopkit"], cases

    def per(seconds: float) -> str:
        return f"{seconds / args.n * 1e6:7.2f} µs"

    def best(timings: list[Timing], *, gc_paused: bool) -> float:
        return min(t.total - t.in_gc if gc_paused else t.total for t in timings)

    print(f"{'':20} {'GC paused':>11} {'GC running':>11}  full collections")
    for name, timings in (("hand-written loop", base), ("loopkit Loop.ingest", ours)):
        print(
            f"{name:20} {per(best(timings, gc_paused=True)):>11} "
            f"{per(best(timings, gc_paused=False)):>11}  "
            f"{min(t.full_collections for t in timings)}"
        )
    paused = best(ours, gc_paused=True) / best(base, gc_paused=True)
    running = best(ours, gc_paused=False) / best(base, gc_paused=False)
    print(
        f"ratio loopkit / hand-written: {paused:.2f}x with GC paused (as timeit measures), "
        f"{running:.2f}x with GC running (target: within 3x); {cases['loopkit']:,} cases"
    )


if __name__ == "__main__":
    main()
