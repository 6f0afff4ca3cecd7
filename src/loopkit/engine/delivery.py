"""Delivering outgoing messages: sends with a time limit, retries with exponential
backoff and full jitter, then dead letters."""

from __future__ import annotations

import os
import queue
import random
import secrets
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from loopkit.channels import PermanentDeliveryError, SendTimeout
from loopkit.errors import ValidationError, describe
from loopkit.model import Message, MessageStatus

if TYPE_CHECKING:
    from loopkit.channels import Channel

__all__ = ["RetryPolicy", "Sender", "worker_token"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(
            f"RetryPolicy.{attribute.name}", "a positive timedelta", describe(value)
        )


def _attempts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError("RetryPolicy.max_attempts", "an integer >= 1", describe(value))


def _send_timeout(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _positive(instance, attribute, value)


def _claim_lease(
    instance: RetryPolicy, attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    _positive(instance, attribute, value)
    if instance.send_timeout is not None and value <= instance.send_timeout:
        raise ValidationError(
            "RetryPolicy.claim_lease",
            f"a timedelta longer than send_timeout ({instance.send_timeout})",
            str(value),
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the loop delivers messages: how long a send may take, how often and
    how long to retry one a channel failed to send, how long a claim lasts.

    After the n-th failed attempt the next one is due after a random delay
    between zero and ``min(cap, base * 2 ** (n - 1))`` ("full jitter"); after
    ``max_attempts`` failures the message is dead-lettered (kept, status
    ``dead``, for a person to look at). A channel that raises
    :class:`~loopkit.channels.PermanentDeliveryError` (an HTTP 4xx, an SMTP
    5xx: no retry can succeed) has its message dead-lettered at once. The
    engine never sleeps: a retry is a due time that a later
    :meth:`~loopkit.Loop.tick` picks up.

    ``send_timeout`` (30 seconds by default) bounds one ``channel.send``: the
    send runs in a worker thread, and one that has not returned by then is a
    failed attempt (``last_error`` ``"SendTimeout"``), retried like any other.
    Python cannot stop a thread, so the stuck send goes on in the background
    and may still deliver the message (which a retry may then deliver again:
    delivery is at least once). Until it returns, further sends through that
    channel fail at once with :class:`~loopkit.channels.SendTimeout`, so a
    hung channel holds one thread, not one per message. ``None`` calls
    ``send`` directly in the ticking thread, with no limit.

    ``claim_lease`` (5 minutes by default) is how long a worker's claim on the
    messages it is about to send lasts: other workers leave them alone until
    then, and take them over afterwards if the worker died. A worker starts a
    send only while its claim has more than ``send_timeout`` left, and hands
    the rest back otherwise; the lease must be longer than ``send_timeout``.

    >>> policy = RetryPolicy(max_attempts=3, base=timedelta(minutes=1))
    >>> policy.ceiling(3)
    datetime.timedelta(seconds=240)
    >>> RetryPolicy(send_timeout=None).send_timeout is None
    True
    """

    max_attempts: int = attrs.field(default=5, validator=_attempts)
    base: timedelta = attrs.field(default=timedelta(minutes=1), validator=_positive)
    cap: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    send_timeout: timedelta | None = attrs.field(
        default=timedelta(seconds=30), validator=_send_timeout
    )
    claim_lease: timedelta = attrs.field(default=timedelta(minutes=5), validator=_claim_lease)

    def ceiling(self, failures: int) -> timedelta:
        """The longest delay after ``failures`` failed attempts."""
        ceiling: timedelta = min(self.cap, self.base * 2 ** (failures - 1))
        return ceiling

    def after_failure(
        self, message: Message, error: BaseException, now: datetime, rng: random.Random
    ) -> Message:
        """The message after one more failed attempt: pending again, or dead
        (after ``max_attempts``, or at once for a permanent failure)."""
        attempts = message.attempts + 1
        if attempts >= self.max_attempts or isinstance(error, PermanentDeliveryError):
            return attrs.evolve(
                message,
                status=MessageStatus.DEAD,
                attempts=attempts,
                next_attempt_at=None,
                last_error=type(error).__name__,
            )
        # At least a microsecond: never due again in the tick that failed it.
        delay = max(self.ceiling(attempts) * rng.random(), _MICROSECOND)
        try:
            next_attempt_at = now + delay
        except OverflowError:  # at the end of time: due again at once, never an overflow
            next_attempt_at = now
        return attrs.evolve(
            message,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=type(error).__name__,
        )


_MICROSECOND = timedelta(microseconds=1)


def worker_token() -> str:
    """A name for one tick's claims: the process id (to tell workers apart in
    the store) and random bits (unique across ticks, threads and hosts)."""
    return f"{os.getpid()}-{secrets.token_hex(6)}"


class Sender:
    """Calls ``channel.send`` with a time limit (the engine's; not public).

    Each channel object gets one daemon thread, started by its first send
    and stopped by :meth:`stop` at the end of a tick, so a loop holds no
    threads between ticks. The caller waits for each send, so sends stay one
    at a time, as when they ran in the caller's thread. A send that outlives
    the limit raises :class:`SendTimeout`; its thread is left to finish (it
    cannot be killed), and the channel refuses new sends until it has.
    """

    def __init__(self, timeout: timedelta | None) -> None:
        self._timeout = None if timeout is None else timeout.total_seconds()
        self._lock = threading.Lock()
        self._lanes: dict[int, _Lane] = {}

    def send(self, channel: Channel, message: Message) -> None:
        """Send, or raise what the channel raised, or :class:`SendTimeout`."""
        if self._timeout is None:
            channel.send(message)
            return
        with self._lock:
            lane = self._lanes.get(id(channel))
            if lane is None:
                lane = self._lanes[id(channel)] = _Lane(channel)
        lane.send(message, self._timeout)

    def stop(self) -> None:
        """Let every thread end once its send (if any) has returned."""
        with self._lock:
            for lane in self._lanes.values():
                lane.stop()


_Job = tuple[Message, "Future[None]"]


class _Lane:
    """One channel's sends, one at a time, in one daemon thread."""

    __slots__ = ("_busy", "_channel", "_jobs", "_lock")

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] | None = None
        self._busy: Future[None] | None = None

    def send(self, message: Message, timeout: float) -> None:
        with self._lock:
            busy = self._busy
            if busy is not None and not busy.done():
                raise SendTimeout("the channel has not yet returned from a send that timed out")
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                threading.Thread(
                    target=_serve,
                    args=(self._channel, self._jobs),
                    name=f"loopkit-send-{type(self._channel).__name__}",
                    daemon=True,  # a send that never returns must not keep the process alive
                ).start()
            future: Future[None] = Future()
            self._busy = future
            self._jobs.put((message, future))
        try:
            error = future.exception(timeout)
        except TimeoutError:
            raise SendTimeout(f"the channel did not return within {timeout:g} s") from None
        if error is not None:
            raise error

    def stop(self) -> None:
        with self._lock:
            if self._jobs is not None:
                self._jobs.put(None)  # ends the thread after any send in hand
                self._jobs = None


def _serve(channel: Channel, jobs: queue.SimpleQueue[_Job | None]) -> None:
    while (job := jobs.get()) is not None:
        message, future = job
        if not future.set_running_or_notify_cancel():
            continue
        try:
            channel.send(message)
        except BaseException as err:  # handed to the caller, who decides
            future.set_exception(err)
        else:
            future.set_result(None)
