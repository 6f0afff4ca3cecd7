"""Granting compensation on the pure ledger: loopkit's ``grant`` + ``Ledger.append``
side by side with a hand-written loop doing the same bookkeeping (authority check,
budget per team and month, reservation above authority, one entry tuple per fact).

Run:
    .venv/bin/python benchmarks/bench_ledger.py            # 5,000 grants
    .venv/bin/python benchmarks/bench_ledger.py --n 300    # a quick smoke run

Both sides make the same decisions for every grant (checked): two teams, five
employees (one unknown), amounts from 25 to 900 SEK, a quarter of them above the
employee's authority; one grant in eight is a replay of an earlier key. The ledger is
immutable, so each append copies its indexes: the cost per grant grows with the
ledger's length (the engine keeps the ledger in its store; this is the pure core).
Figures are the median of ``--repeat`` runs. Not a test: nothing fails on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loopkit import FollowUpCase
from loopkit.compensation import (
    BudgetExceeded,
    Empowerment,
    Ledger,
    Money,
    Offer,
    OfferKind,
    grant,
    period_of,
)

EMPOWERMENT = Empowerment.from_dict(
    {
        "staff": {
            "clerk-1": {"role": "store-clerk", "team": "stores"},
            "clerk-2": {"role": "store-clerk", "team": "stores"},
            "agent-1": {"role": "agent", "team": "support"},
            "lead-1": {"role": "team-lead", "team": "support"},
        },
        "authority": {"store-clerk": "150 SEK", "agent": "200 SEK", "team-lead": "1000 SEK"},
        "budgets": {
            "stores": {
                "amount": "400000 SEK",
                "per": "month",
                "team": "stores",
                "timezone": "Europe/Stockholm",
            },
            "support": {
                "amount": "400000 SEK",
                "per": "month",
                "team": "support",
                "timezone": "Europe/Stockholm",
            },
        },
    }
)
EMPLOYEES = ("clerk-1", "clerk-2", "agent-1", "lead-1", "temp-9")
AMOUNTS = (25, 75, 100, 150, 200, 300, 900)
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def workload(n: int, seed: int = 7) -> list[tuple[str, str, int, datetime]]:
    rng = random.Random(seed)
    rows: list[tuple[str, str, int, datetime]] = []
    for i in range(n):
        if rows and rng.random() < 0.125:
            rows.append(rows[rng.randrange(len(rows))])  # a replay
            continue
        at = START + timedelta(minutes=7 * i)
        rows.append((f"k-{i}", rng.choice(EMPLOYEES), rng.choice(AMOUNTS), at))
    return rows


def run_loopkit(rows: list[tuple[str, str, int, datetime]]) -> list[str]:
    case = FollowUpCase(id="case-1", customer_id="c-1", opened_at=START)
    offers = {a: Offer(kind=OfferKind.REFUND, value=Money.parse(f"{a} SEK")) for a in AMOUNTS}
    ledger, out = Ledger(), []
    for key, employee, amount, at in rows:
        try:
            result = grant(
                ledger, EMPOWERMENT, key=key, case=case, by=employee, at=at, offer=offers[amount]
            )
        except BudgetExceeded:
            out.append("refused")
            continue
        ledger = ledger.append(result.entries)
        out.append(result.status.value)
    return out


def run_hand(rows: list[tuple[str, str, int, datetime]]) -> list[str]:
    limits = {"store-clerk": 150, "agent": 200, "team-lead": 1000}
    staff = {m.id: (m.role, m.team) for m in EMPOWERMENT.staff}
    budgets = {b.team: b for b in EMPOWERMENT.budgets.values()}
    spent: dict[tuple[str, datetime], Decimal] = {}
    entries: list[tuple[object, ...]] = []
    seen: dict[str, str] = {}
    out = []
    for key, employee, amount, at in rows:
        if key in seen:
            out.append(seen[key])
            continue
        role, team = staff.get(employee, (None, None))
        budget = budgets.get(team) if team else None
        value = Decimal(amount)
        slot = None
        if budget is not None:
            slot = (budget.name, period_of(budget, at).start)
            if spent.get(slot, Decimal(0)) + value > budget.amount.amount:
                out.append("refused")
                continue
            spent[slot] = spent.get(slot, Decimal(0)) + value
        within = role is not None and value <= limits[role]
        status = "granted" if within else "pending"
        kinds = ("grant", "posting") if within else ("reservation",)
        entries.extend((key, kind, employee, value, slot, at) for kind in kinds)
        seen[key] = status
        out.append(status)
    return out


def best_of(repeat: int, fn, rows):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(rows)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=5000, help="grants to make")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = workload(args.n)
    print(f"python {sys.version.split()[0]} ({platform.python_implementation()}) on {machine()}")
    t_hand, hand = best_of(args.repeat, run_hand, rows)
    t_loop, loop = best_of(args.repeat, run_loopkit, rows)
    assert hand == loop, "loopkit and the hand-written loop disagree"
    counts = {s: loop.count(s) for s in sorted(set(loop))}
    print(f"{len(rows):,} grant requests: {counts}")
    print(f"{'':<40}{'us/grant':>12}{'vs hand':>10}")
    print(f"{'hand-written loop':<40}{t_hand * 1e6 / len(rows):>12,.1f}{1:>10.2f}")
    print(
        f"{'loopkit grant + Ledger.append':<40}{t_loop * 1e6 / len(rows):>12,.1f}"
        f"{t_loop / t_hand:>10.1f}"
    )


if __name__ == "__main__":
    main()
