"""Replaying a whole feed creates nothing new."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import loopkit
from loopkit.testing import FakeClock, make_customer, make_response, make_touchpoint

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
KINDS = ["support_contact", "purchase", "cancellation", "delivery", "store_visit"]


def feed(n: int, seed: int = 7) -> list[tuple[loopkit.Response, loopkit.Customer]]:
    rng = random.Random(seed)
    start = FakeClock().now()
    customers = [make_customer(f"c-{i}", segment=rng.choice(["gold", None])) for i in range(n // 4)]
    out = []
    for i in range(n):
        customer = rng.choice(customers)
        at = start + timedelta(minutes=7 * i)
        response = make_response(
            rng.randint(0, 10),
            id=f"r-{i}",
            customer_id=customer.id,
            answered_at=at,
            touchpoint=make_touchpoint(rng.choice(KINDS), id=f"t-{i}", occurred_at=at),
            comment=rng.choice([None, "It took too long."]),
        )
        out.append((response, customer))
    return out


def test_ingesting_the_same_10000_responses_twice_creates_no_duplicates() -> None:
    clock = FakeClock()
    loop = loopkit.Loop(loopkit.load_policies(EXAMPLE), clock=clock)
    responses = feed(10_000)
    first = [loop.ingest(r, customer=c) for r, c in responses]
    with loop.store.transaction() as tx:
        ingested = len(tx.ingests())
    cases, messages = len(loop.cases()), len(loop.messages())
    assert ingested == 10_000
    assert cases > 100 and messages == sum(r.outcome == "opened" for r in first)

    clock.advance(days=1)
    again = [loop.ingest(r, customer=c) for r, c in responses]
    assert all(result.replayed for result in again)
    assert [a.outcome for a in again] == [f.outcome for f in first]
    with loop.store.transaction() as tx:
        assert len(tx.ingests()) == 10_000
    assert len(loop.cases()) == cases
    assert len(loop.messages()) == messages
