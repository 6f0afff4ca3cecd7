"""Sends are recorded in batches: a tick claims a few messages, sends each,
and records what the sends did in one transaction (one commit on SQLite, not
one per message). What was sent stays recorded whatever happens later in the
batch (a failing send, an interrupt), messages not sent are handed back, and
a slow channel's sends are recorded as they go."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import loopkit
from loopkit import Message, MessageStatus, RetryPolicy
from loopkit.stores import MemoryStore, Store
from loopkit.testing import FakeClock, RecordingChannel

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _message(n: int) -> Message:
    return Message(
        id=f"m-{n}",
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="follow_up",
        created_at=T0,
        not_before=T0 + timedelta(seconds=n),  # sent in this order
    )


def _loop(
    channel: object,
    store: Store,
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
) -> loopkit.Loop:
    return loopkit.Loop(
        loopkit.load_playbook(EXAMPLE),
        plugins=[loopkit.ChannelPlugin({"phone": channel})],  # type: ignore[dict-item]
        store=store,
        clock=clock or FakeClock(T0 + timedelta(minutes=1)),
        retry=retry,
        rng=random.Random(7),
    )


def _owe(store: Store, count: int) -> None:
    with store.transaction() as tx:
        for n in range(count):
            tx.save_message(_message(n))


def _state(store: Store, count: int) -> list[tuple[MessageStatus, int, bool]]:
    """Each message's status, attempts, and whether a worker claims it."""
    with store.transaction() as tx:
        found = [tx.get_message(f"m-{n}") for n in range(count)]
        claimed = [tx.claimed_by(f"m-{n}") is not None for n in range(count)]
    return [(m.status, m.attempts, c) for m, c in zip(found, claimed, strict=True) if m]


PENDING, SENT = MessageStatus.PENDING, MessageStatus.SENT


def test_a_batchs_sends_are_recorded_together_once_the_batch_is_done(
    story_store: Store | None,
) -> None:
    store = story_store or MemoryStore()
    seen: list[list[tuple[MessageStatus, int, bool]]] = []

    class Looking(RecordingChannel):
        """Sends, and looks at what the store holds of the batch meanwhile."""

        def send(self, message: Message) -> None:
            super().send(message)
            seen.append(_state(store, 4))

    channel = Looking()
    _owe(store, 4)
    assert _loop(channel, store).tick().sent == 4
    # while the batch is sent, all of it stays claimed, nothing recorded yet
    assert seen == [[(PENDING, 0, True)] * 4] * 4
    assert _state(store, 4) == [(SENT, 1, False)] * 4  # then all at once
    assert [m.id for m in channel.sent] == ["m-0", "m-1", "m-2", "m-3"]


def test_a_failed_send_keeps_the_record_of_the_sends_around_it(
    story_store: Store | None,
) -> None:
    store = story_store or MemoryStore()

    class FailsOnTheSecond(RecordingChannel):
        def send(self, message: Message) -> None:
            if message.id == "m-1":
                raise loopkit.DeliveryError("gateway down")
            super().send(message)

    _owe(store, 3)
    report = _loop(FailsOnTheSecond(), store).tick()
    assert (report.sent, report.retried) == (2, 1)
    assert _state(store, 3) == [(SENT, 1, False), (PENDING, 1, False), (SENT, 1, False)]
    with store.transaction() as tx:
        failed = tx.get_message("m-1")
    assert failed is not None and failed.last_error == "DeliveryError"
    assert failed.next_attempt_at is not None


def test_an_interrupt_mid_batch_keeps_what_was_sent_and_hands_back_the_rest(
    story_store: Store | None,
) -> None:
    store = story_store or MemoryStore()
    clock = FakeClock(T0 + timedelta(minutes=1))

    class Interrupted(RecordingChannel):
        def __init__(self) -> None:
            super().__init__()
            self.interrupt = True

        def send(self, message: Message) -> None:
            if message.id == "m-2" and self.interrupt:
                self.interrupt = False
                raise KeyboardInterrupt
            super().send(message)

    channel = Interrupted()
    loop = _loop(channel, store, clock)
    _owe(store, 5)
    with pytest.raises(KeyboardInterrupt):
        loop.tick()
    # m-0 and m-1 were sent: recorded. m-2 may have gone out when the interrupt
    # came: it keeps its claim, and goes again when the claim runs out. The
    # rest are handed back at once.
    assert _state(store, 5) == [
        (SENT, 1, False),
        (SENT, 1, False),
        (PENDING, 0, True),
        (PENDING, 0, False),
        (PENDING, 0, False),
    ]
    assert loop.tick().sent == 2
    clock.advance(minutes=5)  # the claim's lease
    assert loop.tick().sent == 1
    assert [m.id for m in channel.sent] == ["m-0", "m-1", "m-3", "m-4", "m-2"]
    assert _state(store, 5) == [(SENT, 1, False)] * 5


def test_a_slow_channels_sends_are_recorded_as_they_go() -> None:
    store = MemoryStore()
    seen: list[list[tuple[MessageStatus, int, bool]]] = []

    class Slow(RecordingChannel):
        def send(self, message: Message) -> None:
            seen.append(_state(store, 3))
            super().send(message)
            time.sleep(0.3)  # longer than a send waits for its record

    _owe(store, 3)
    assert _loop(Slow(), store).tick().sent == 3
    assert seen == [
        [(PENDING, 0, True)] * 3,
        [(SENT, 1, False), (PENDING, 0, True), (PENDING, 0, True)],
        [(SENT, 1, False), (SENT, 1, False), (PENDING, 0, True)],
    ]
    assert _state(store, 3) == [(SENT, 1, False)] * 3
