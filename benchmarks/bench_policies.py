"""Matching responses against the example policy set: loopkit's compiled conditions
side by side with a hand-written function making the same decisions, and with venmo
`business-rules` and `rule-engine` evaluating the same conditions.

Run:
    .venv/bin/python benchmarks/bench_policies.py            # 200,000 responses
    .venv/bin/python benchmarks/bench_policies.py --n 2000   # a quick smoke run

The two rule engines are optional (``pip install business-rules rule-engine``); each is
skipped with a note when missing. They are 100x slower, so they evaluate a sample
(``--engine-n``, default 20,000) and their figures are per response. Every approach must
pick the same policy for every response it sees, or the run fails. Figures are the
median of ``--repeat`` runs; the machine is noisy, so read the ratios, not the digits.
Not a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from loopkit import CSAT, NPS, Category, Customer, Response, load_playbook
from loopkit.testing import STOCKHOLM, make_customer, make_touchpoint

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "policies.toml"
KINDS = ("support_contact", "cancellation", "purchase", "delivery", "store_visit", "campaign")
SEGMENTS = (None, "gold", "silver", "bronze")
COMMENTS = (None, None, "slow", "Nobody-called-back", "great", "")


# -- data -------------------------------------------------------------------------


def synthetic(n: int, seed: int = 7) -> list[tuple[Response, Customer]]:
    """``n`` responses with customers: mixed scales, kinds, segments and comments."""
    rng = random.Random(seed)
    base = make_touchpoint().occurred_at
    customers = [make_customer(f"c-{i}", segment=rng.choice(SEGMENTS)) for i in range(min(n, 2000))]
    touchpoints = [
        make_touchpoint(
            kind,
            id=f"t-{kind}-{i}",
            occurred_at=base + timedelta(hours=i),
            employee_id=rng.choice((None, "emp-1", "emp-2")),
        )
        for kind in KINDS
        for i in range(50)
    ]
    out = []
    for i in range(n):
        scale = NPS if rng.random() < 0.7 else CSAT
        customer = rng.choice(customers)
        tp = rng.choice(touchpoints)
        response = Response(
            id=f"r-{i}",
            customer_id=customer.id,
            scale=scale,
            score=rng.randint(scale.minimum, scale.maximum),
            comment=rng.choice(COMMENTS),
            answered_at=tp.occurred_at + timedelta(minutes=rng.randint(5, 600)),
            touchpoint=tp,
        )
        out.append((response, customer))
    return out


# -- the hand-written baseline --------------------------------------------------------

DETRACTOR, PASSIVE = Category.DETRACTOR, Category.PASSIVE


def hand_written(r: Response, c: Customer) -> int:
    """The example file's five policies, written by hand: the index of the first match."""
    t = r.touchpoint
    kind = None if t is None else t.kind
    category = r.category
    if r.source == "employee" and t is not None and t.channel == "in_person":
        return 0
    if category is DETRACTOR and kind == "support_contact":
        return 1
    if kind == "cancellation" and category in (DETRACTOR, PASSIVE):
        return 2
    if category is DETRACTOR and kind in ("purchase", "delivery"):
        return 3
    if category is PASSIVE and (
        c.segment == "gold" or (r.comment is not None and r.comment.strip() != "")
    ):
        return 4
    return -1


# -- the engines --------------------------------------------------------------------


def flat(r: Response, c: Customer) -> dict[str, Any]:
    """What the engines see: a flat row (built before timing, in their favour)."""
    t = r.touchpoint
    return {
        "category": r.category.value,
        "score": r.score,
        "kind": "" if t is None else t.kind,
        "channel": "" if t is None else t.channel,
        "source": r.source or "",
        "segment": c.segment or "",
        "comment": (r.comment or "").strip(),
    }


def business_rules_matcher() -> Callable[[dict[str, Any]], int] | None:
    try:
        from business_rules import run_all
        from business_rules.actions import BaseActions, rule_action
        from business_rules.fields import FIELD_NUMERIC
        from business_rules.variables import (
            BaseVariables,
            numeric_rule_variable,
            string_rule_variable,
        )
    except ImportError:
        return None

    class Row(BaseVariables):  # type: ignore[misc]
        def __init__(self, row: dict[str, Any]) -> None:
            self.row = row

        @string_rule_variable  # type: ignore[misc]
        def category(self) -> str:
            return self.row["category"]  # type: ignore[no-any-return]

        @numeric_rule_variable  # type: ignore[misc]
        def score(self) -> int:
            return self.row["score"]  # type: ignore[no-any-return]

        @string_rule_variable  # type: ignore[misc]
        def kind(self) -> str:
            return self.row["kind"]  # type: ignore[no-any-return]

        @string_rule_variable  # type: ignore[misc]
        def channel(self) -> str:
            return self.row["channel"]  # type: ignore[no-any-return]

        @string_rule_variable  # type: ignore[misc]
        def source(self) -> str:
            return self.row["source"]  # type: ignore[no-any-return]

        @string_rule_variable  # type: ignore[misc]
        def segment(self) -> str:
            return self.row["segment"]  # type: ignore[no-any-return]

        @string_rule_variable  # type: ignore[misc]
        def comment(self) -> str:
            return self.row["comment"]  # type: ignore[no-any-return]

    class Choose(BaseActions):  # type: ignore[misc]
        def __init__(self) -> None:
            self.chosen = -1

        @rule_action(params={"index": FIELD_NUMERIC})  # type: ignore[misc]
        def choose(self, index: int) -> None:
            self.chosen = int(index)

    def eq(name: str, value: object) -> dict[str, Any]:
        return {"name": name, "operator": "equal_to", "value": value}

    def rule(index: int, conditions: dict[str, Any]) -> dict[str, Any]:
        return {
            "conditions": conditions,
            "actions": [{"name": "choose", "params": {"index": index}}],
        }

    rules = [
        rule(0, {"all": [eq("source", "employee"), eq("channel", "in_person")]}),
        rule(1, {"all": [eq("category", "detractor"), eq("kind", "support_contact")]}),
        rule(
            2,
            {
                "all": [
                    eq("kind", "cancellation"),
                    {"any": [eq("category", "detractor"), eq("category", "passive")]},
                ]
            },
        ),
        rule(
            3,
            {
                "all": [
                    eq("category", "detractor"),
                    {"any": [eq("kind", "purchase"), eq("kind", "delivery")]},
                ]
            },
        ),
        rule(
            4,
            {
                "all": [
                    eq("category", "passive"),
                    {
                        "any": [
                            eq("segment", "gold"),
                            {"name": "comment", "operator": "non_empty", "value": None},
                        ]
                    },
                ]
            },
        ),
    ]

    def match(row: dict[str, Any]) -> int:
        actions = Choose()
        run_all(
            rule_list=rules,
            defined_variables=Row(row),
            defined_actions=actions,
            stop_on_first_trigger=True,
        )
        return actions.chosen

    return match


def rule_engine_matcher() -> Callable[[dict[str, Any]], int] | None:
    try:
        import rule_engine
    except ImportError:
        return None
    texts = [
        "source == 'employee' and channel == 'in_person'",
        "category == 'detractor' and kind == 'support_contact'",
        "kind == 'cancellation' and category in ['detractor', 'passive']",
        "category == 'detractor' and kind in ['purchase', 'delivery']",
        "category == 'passive' and (segment == 'gold' or comment != '')",
    ]
    rules = [rule_engine.Rule(text) for text in texts]

    def match(row: dict[str, Any]) -> int:
        for i, rule in enumerate(rules):
            if rule.matches(row):
                return i
        return -1

    return match


# -- timing -------------------------------------------------------------------------


def best_of(repeat: int, run: Callable[[], list[int]]) -> tuple[float, list[int]]:
    times, result = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="responses (default 200,000)")
    parser.add_argument("--engine-n", type=int, default=20_000, help="sample for the engines")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]} ({platform.python_implementation()}) on {machine()}")
    playbook = load_playbook(EXAMPLE)
    policies = playbook.policies
    data = synthetic(args.n)
    print(f"{len(data):,} synthetic responses, {len(policies)} policies from {EXAMPLE.name}")

    ns_per = 1e9 / len(data)

    def run_hand() -> list[int]:
        return [hand_written(r, c) for r, c in data]

    names = {p.name: i for i, p in enumerate(policies)}

    def run_loopkit() -> list[Any]:
        match = policies.match
        return [match(r, c, r.answered_at) for r, c in data]

    def run_compiled() -> list[Any]:
        first = policies._first  # the one function PolicySet.match calls
        return [first(r, r.touchpoint, c, r.answered_at) for r, c in data]

    def run_decide() -> list[int]:
        out = []
        for r, c in data:
            decision = policies.decide(r, c, r.answered_at)
            out.append(-1 if decision.policy is None else names[decision.policy.name])
        return out

    t_hand, expected = best_of(args.repeat, run_hand)
    t_first, first_policies = best_of(args.repeat, run_compiled)
    got = [-1 if p is None else names[p.name] for p in first_policies]
    assert got == expected, "loopkit's compiled function and the hand-written one disagree"
    t_loop, chosen_policies = best_of(args.repeat, run_loopkit)
    got = [-1 if p is None else names[p.name] for p in chosen_policies]
    assert got == expected, "loopkit and the hand-written function disagree"
    t_decide, got = best_of(1 if len(data) > 50_000 else args.repeat, run_decide)
    assert got == expected, "decide() and the hand-written function disagree"
    share = {i: expected.count(i) for i in sorted(set(expected))}
    print(f"chosen policy index -> count: {share}")
    print()
    print(f"{'matching only':<44}{'ns/response':>14}{'vs hand':>10}")
    print(f"{'hand-written Python function':<44}{t_hand * ns_per:>14,.0f}{1:>10.2f}")
    print(
        f"{'loopkit compiled policy set (the function)':<44}{t_first * ns_per:>14,.0f}{t_first / t_hand:>10.2f}"
    )
    print(
        f"{'loopkit PolicySet.match (public method)':<44}{t_loop * ns_per:>14,.0f}{t_loop / t_hand:>10.2f}"
    )

    sample = data[: args.engine_n]
    rows = [flat(r, c) for r, c in sample]
    engines = [
        ("venmo business-rules", "business-rules", business_rules_matcher()),
        ("rule-engine", "rule-engine", rule_engine_matcher()),
    ]
    for label, package, matcher in engines:
        if matcher is None:
            print(f"{label:<44}{'skipped: pip install ' + package:>24}")
            continue
        engine_match = matcher
        t_engine, chosen = best_of(1, lambda m=engine_match: [m(row) for row in rows])  # type: ignore[misc]
        assert chosen == expected[: len(rows)], f"{label} disagrees with the hand-written function"
        per = t_engine * 1e9 / len(rows)
        print(
            f"{label + f' (n={len(rows):,})':<44}{per:>14,.0f}{per / (t_hand * ns_per):>10.1f}"
            f"   ({per / (t_loop * ns_per):,.0f}x loopkit)"
        )
    print()
    print(f"{'full decision':<44}{'ns/response':>14}{'vs hand':>10}")
    print(
        f"{'loopkit PolicySet.decide (deadline, window...)':<44}"
        f"{t_decide * ns_per:>14,.0f}{t_decide / t_hand:>10.1f}"
    )
    print()
    print(
        f"matching: loopkit's compiled set is {t_first / t_hand:.2f}x the hand-written "
        f"function, PolicySet.match {t_loop / t_hand:.2f}x (target: within 1.5x); decide() is {t_decide / t_loop:.0f}x matching alone "
        "(business-time deadlines, warning, escalation and contact window per case)"
    )
    _ = STOCKHOLM  # the synthetic data's zone (make_customer's default)


if __name__ == "__main__":
    main()
