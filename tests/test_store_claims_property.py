"""Claims against a model: whatever workers claim, save and hand back, in any
order and at any time, a store's claims agree with a plain dictionary, so no
message is ever held by two live claims."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopkit import Message, MessageStatus, SQLiteStore
from loopkit.stores import MemoryStore, Store

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
IDS = [f"m-{n}" for n in range(6)]
WORKERS = ["w-1", "w-2", "w-3"]
minutes = st.integers(min_value=0, max_value=12)


def _message(id: str, due: int) -> Message:
    at = T0 + timedelta(minutes=due)
    return Message(
        id=id,
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="follow_up",
        created_at=T0,
        not_before=at,
    )


claim = st.tuples(
    st.just("claim"), st.sampled_from(WORKERS), minutes, st.integers(1, 4), st.integers(1, 6)
)
save = st.tuples(
    st.just("save"), st.sampled_from(IDS), minutes, st.sampled_from(["pending", "sent"])
)
STORES: dict[str, Callable[[], Store]] = {
    "memory": MemoryStore,
    "sqlite": lambda: SQLiteStore(":memory:"),
}


@pytest.mark.parametrize("make_store", STORES.values(), ids=list(STORES))
@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.one_of(claim, save), max_size=25))
def test_claims_agree_with_a_model(
    make_store: Callable[[], Store], ops: list[tuple[Any, ...]]
) -> None:
    store = make_store()
    messages = {i: _message(i, n) for n, i in enumerate(IDS)}
    claims: dict[str, tuple[str, datetime]] = {}
    with store.transaction() as tx:
        for message in messages.values():
            tx.save_message(message)
    for op in ops:
        if op[0] == "claim":
            _, worker, at, limit, lease = op
            now = T0 + timedelta(minutes=at)
            until = now + timedelta(minutes=lease)
            free = sorted(
                (m.not_before, m.id)
                for m in messages.values()
                if m.status is MessageStatus.PENDING
                and m.not_before <= now
                and (m.id not in claims or claims[m.id][1] <= now)
            )
            expected = [message_id for _, message_id in free[:limit]]
            with store.transaction() as tx:
                got = [m.id for m in tx.claim_messages(now, limit, worker, until)]
            assert got == expected
            claims.update(dict.fromkeys(got, (worker, until)))
        else:
            _, message_id, due, status = op
            message = attrs.evolve(
                _message(message_id, due),
                status=MessageStatus(status),
                sent_at=T0 if status == "sent" else None,
            )
            with store.transaction() as tx:
                tx.save_message(message)
            messages[message_id] = message
            claims.pop(message_id, None)
        with store.transaction() as tx:
            assert {i: tx.claimed_by(i) for i in IDS} == {
                i: claims[i][0] if i in claims else None for i in IDS
            }
    store.close()
