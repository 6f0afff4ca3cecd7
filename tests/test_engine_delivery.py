"""Delivering messages: a send that hangs is a failed attempt (the tick goes
on), every attempt carries the message's idempotency key, and claims keep
workers from sending one message twice while letting a dead worker's
messages go out once its claim expires."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import loopkit
from loopkit import Message, MessageStatus, RetryPolicy, ValidationError
from loopkit.channels import SendTimeout
from loopkit.stores import MemoryStore, Store
from loopkit.testing import FakeClock, RecordingChannel

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _message(id: str, channel: str = "phone") -> Message:
    return Message(
        id=id,
        case_id="case-1",
        customer_id="c-1",
        channel=channel,
        purpose="follow_up",
        created_at=T0,
        not_before=T0,
    )


def _loop(
    channels: dict[str, object],
    *,
    store: Store | None = None,
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
) -> loopkit.Loop:
    return loopkit.Loop(
        loopkit.load_playbook(EXAMPLE),
        plugins=[loopkit.ChannelPlugin(channels)],  # type: ignore[arg-type]
        store=store or MemoryStore(),
        clock=clock or FakeClock(T0),
        retry=retry,
        rng=random.Random(7),
    )


def _owe(store: Store, *messages: Message) -> None:
    with store.transaction() as tx:
        for message in messages:
            tx.save_message(message)


def _stored(store: Store, message_id: str) -> Message:
    with store.transaction() as tx:
        found = tx.get_message(message_id)
    assert found is not None
    return found


class Hanging:
    """A channel whose sends block until ``release`` is set; keeps every key it is given."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[str] = []
        self.finished: list[str] = []

    def send(self, message: Message) -> None:
        self.started.append(message.idempotency_key)
        self.release.wait(timeout=30)
        self.finished.append(message.idempotency_key)


def test_a_send_that_never_returns_is_a_failed_attempt_and_the_tick_goes_on() -> None:
    clock = FakeClock(T0)
    hanging, email = Hanging(), RecordingChannel()
    retry = RetryPolicy(send_timeout=timedelta(seconds=0.2), base=timedelta(minutes=1))
    loop = _loop({"phone": hanging, "email": email}, clock=clock, retry=retry)
    _owe(loop.store, _message("m-1"), _message("m-2"), _message("m-3", channel="email"))

    started = time.monotonic()
    report = loop.tick()
    assert time.monotonic() - started < 10  # not for ever
    # m-1 timed out; m-2 failed at once (the channel is still stuck in m-1's send)
    assert (report.sent, report.retried, report.dead_lettered) == (1, 2, 0)
    assert [m.id for m in email.sent] == ["m-3"]
    assert hanging.started == ["m-1"]
    for message_id in ("m-1", "m-2"):
        failed = _stored(loop.store, message_id)
        assert (failed.status, failed.attempts) == (MessageStatus.PENDING, 1)
        assert failed.last_error == "SendTimeout"

    # The stuck send goes through after all; the retry sends m-1 again, with the same key.
    hanging.release.set()
    for _ in range(200):
        if hanging.finished:
            break
        time.sleep(0.01)
    assert hanging.finished == ["m-1"]
    clock.advance(minutes=2)
    assert loop.tick().sent == 2
    assert sorted(hanging.started) == ["m-1", "m-1", "m-2"]  # at least once: dedupe by key
    assert {_stored(loop.store, i).status for i in ("m-1", "m-2")} == {MessageStatus.SENT}


def test_sends_run_in_a_daemon_thread_that_ends_with_the_tick() -> None:
    seen: list[threading.Thread] = []

    class Watching:
        def send(self, message: Message) -> None:
            seen.append(threading.current_thread())

    loop = _loop({"phone": Watching()})
    _owe(loop.store, _message("m-1"), _message("m-2"))
    assert loop.tick().sent == 2
    assert len(set(seen)) == 1 and seen[0] is not threading.current_thread()
    assert seen[0].daemon and seen[0].name.startswith("loopkit-send-")
    seen[0].join(timeout=10)
    assert not seen[0].is_alive()


def test_without_a_send_timeout_the_channel_is_called_in_the_ticking_thread() -> None:
    seen: list[threading.Thread] = []

    class Watching:
        def send(self, message: Message) -> None:
            seen.append(threading.current_thread())

    loop = _loop({"phone": Watching()}, retry=RetryPolicy(send_timeout=None))
    _owe(loop.store, _message("m-1"))
    assert loop.tick().sent == 1
    assert seen == [threading.current_thread()]


def test_every_attempt_carries_the_same_idempotency_key() -> None:
    keys: list[str] = []

    class FailsOnce:
        def send(self, message: Message) -> None:
            keys.append(message.idempotency_key)
            if len(keys) == 1:
                raise loopkit.DeliveryError("gateway down")

    clock = FakeClock(T0)
    loop = _loop({"phone": FailsOnce()}, clock=clock)
    _owe(loop.store, _message("m-1"))
    assert loop.tick().retried == 1
    clock.advance(hours=1)
    assert loop.tick().sent == 1
    assert keys == ["m-1", "m-1"] == [_message("m-1").id] * 2


def test_a_dead_workers_messages_wait_for_its_claim_to_expire() -> None:
    clock = FakeClock(T0)
    phone = RecordingChannel()
    loop = _loop({"phone": phone}, clock=clock)
    _owe(loop.store, _message("m-1"), _message("m-2"))
    with loop.store.transaction() as tx:  # a worker claims m-1, then dies
        tx.claim_messages(T0, 1, "dead-worker", T0 + timedelta(minutes=5))

    assert loop.tick().sent == 1
    assert [m.id for m in phone.sent] == ["m-2"]
    clock.advance(minutes=4)
    assert loop.tick().sent == 0
    clock.advance(minutes=1)
    assert loop.tick().sent == 1
    assert [m.id for m in phone.sent] == ["m-2", "m-1"]


def test_a_message_changed_during_its_send_keeps_the_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()

    class CancelledMeanwhile:
        """Sends, while someone else cancels the message in the store."""

        def send(self, message: Message) -> None:
            with store.transaction() as tx:
                tx.save_message(attrs.evolve(message, status=MessageStatus.CANCELLED))

    loop = _loop({"phone": CancelledMeanwhile()}, store=store)
    _owe(store, _message("m-1"))
    with caplog.at_level(logging.WARNING, logger="loopkit"):
        assert loop.tick().sent == 1
    kept = _stored(store, "m-1")
    assert (kept.status, kept.attempts) == (MessageStatus.CANCELLED, 0)
    assert "m-1" in caplog.text and "not recorded" in caplog.text


def test_a_claim_running_short_hands_the_rest_back_and_nothing_is_lost() -> None:
    clock = FakeClock(T0)
    keys: list[str] = []

    class Slow:
        def send(self, message: Message) -> None:
            keys.append(message.idempotency_key)
            clock.advance(minutes=3)  # each send eats more than half the lease

    retry = RetryPolicy(send_timeout=timedelta(seconds=30), claim_lease=timedelta(minutes=5))
    loop = _loop({"phone": Slow()}, clock=clock, retry=retry)
    _owe(loop.store, *(_message(f"m-{n}") for n in range(4)))
    assert loop.tick(T0).sent == 4
    assert keys == ["m-0", "m-1", "m-2", "m-3"]
    with loop.store.transaction() as tx:
        assert [tx.claimed_by(f"m-{n}") for n in range(4)] == [None] * 4


def test_two_loops_ticking_one_store_in_threads_send_each_message_once() -> None:
    store = MemoryStore()
    lock = threading.Lock()
    sent: list[str] = []

    class Counting:
        def send(self, message: Message) -> None:
            with lock:
                sent.append(message.idempotency_key)
            time.sleep(0)  # let the other worker in

    ids = [f"m-{n:04d}" for n in range(600)]
    _owe(store, *(_message(i, channel=("phone", "email")[n % 2]) for n, i in enumerate(ids)))
    loops = [_loop({"phone": Counting(), "email": Counting()}, store=store) for _ in range(2)]
    reports: list[loopkit.TickReport] = []
    workers = [threading.Thread(target=lambda lp=lp: reports.append(lp.tick(T0))) for lp in loops]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(Counter(sent).items()) == [(i, 1) for i in ids]
    assert sum(r.sent for r in reports) == len(ids)


def test_the_claim_lease_must_outlast_the_send_timeout() -> None:
    with pytest.raises(ValidationError) as info:
        RetryPolicy(send_timeout=timedelta(minutes=10))
    assert info.value.problems[0].path == "RetryPolicy.claim_lease"
    assert "longer than send_timeout" in str(info.value)
    with pytest.raises(ValidationError, match=r"RetryPolicy\.send_timeout"):
        RetryPolicy(send_timeout=timedelta(0))
    assert RetryPolicy(send_timeout=None, claim_lease=timedelta(seconds=1)).send_timeout is None
    assert issubclass(SendTimeout, loopkit.DeliveryError)
