"""Replaying a whole feed creates nothing new."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import loopkit
from loopkit.testing import FakeClock, make_feed

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"


def feed(n: int, seed: int = 7) -> list[tuple[loopkit.Response, loopkit.Customer]]:
    return make_feed(
        n,
        seed=seed,
        customers=n // 4,
        every=timedelta(minutes=7),
        segments=("gold", None),
        comments=(None, "It took too long."),
        start=FakeClock().now(),
    )


def test_ingesting_the_same_10000_responses_twice_creates_no_duplicates() -> None:
    clock = FakeClock()
    loop = loopkit.Loop(loopkit.load_playbook(EXAMPLE), clock=clock)
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
