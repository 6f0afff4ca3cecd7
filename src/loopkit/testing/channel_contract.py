"""The conformance suite every channel passes — yours too.

Subclass :class:`ChannelContract` in your test suite and implement
``make_channel``; pytest collects the inherited tests::

    from loopkit.testing import ChannelContract

    class TestSmsGateway(ChannelContract):
        channel_name = "sms"
        address = "+46701234567"

        def make_channel(self):
            return SmsGateway(url=sandbox_url)

        def deliveries(self, channel):  # what reached the sandbox, if you can see it
            return sandbox.received()

        def make_failing_channel(self):  # a gateway that is down once, if you can make one
            return SmsGateway(url=flaky_sandbox_url)

Needs pytest (loopkit's ``dev`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import ClassVar

import attrs
import pytest

from loopkit.channels import Channel
from loopkit.model import Message

__all__ = ["ChannelContract"]

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


class _Captured(logging.Handler):
    """Every log record while it is installed, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class _LogsCaptured:
    """Installs :class:`_Captured` on the root logger at DEBUG, and takes it off."""

    def __enter__(self) -> _Captured:
        self.root = logging.getLogger()
        self.level = self.root.level
        self.handler = _Captured()
        self.root.addHandler(self.handler)
        self.root.setLevel(logging.DEBUG)
        return self.handler

    def __exit__(self, *exc: object) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)


class ChannelContract:
    """What the loop relies on from a channel (see :class:`loopkit.channels.Channel`
    and the ``loopkit_register_channels`` hook):

    - ``send(message)`` returns ``None`` when the message was handed over,
      within the retry policy's ``send_timeout``, also from a worker thread
      (``tick`` sends from one);
    - it raises (any exception) when the message was not handed over, and a
      failed send delivers nothing, so its retry is delivered;
    - it is safe to call again with a message of the same
      ``idempotency_key`` (delivery is at least once): it returns normally,
      and the customer gets the message once; messages with other keys are
      each delivered;
    - personal data (the message's ``address``) never appears in a log line,
      in the channel's ``repr``/``str``, or in the text of what it raises.

    Implement :meth:`make_channel`. Where you can see what reached the far
    side (a sandbox, a fake server, a stream), implement :meth:`deliveries`:
    without it, the checks of what was delivered are left out and only the
    return and raise rules are checked. Where you can make a channel whose
    first send fails, implement :meth:`make_failing_channel`: without it,
    the failure checks are skipped. Set ``channel_name`` and ``address`` to
    a name and an address your channel accepts.
    """

    channel_name: ClassVar[str] = "email"
    """The channel name the test messages carry."""
    address: ClassVar[str] = "anna.lindqvist@example.com"
    """The address the test messages carry: personal data that must not leak."""
    send_timeout: ClassVar[float] = 30.0
    """Seconds a send may take (the default ``RetryPolicy.send_timeout``)."""

    def make_channel(self) -> Channel:
        raise NotImplementedError("subclass ChannelContract and return a fresh channel")

    def make_failing_channel(self) -> Channel | None:
        """A channel whose first send fails and whose later sends work (a
        provider that is down once), or ``None`` if you cannot make one."""
        return None

    def deliveries(self, channel: Channel) -> Sequence[object] | None:
        """What reached the far side through ``channel`` so far, one item per
        delivery (messages, requests, lines), or ``None`` if it cannot be seen."""
        return None

    def make_message(self, id: str = "m-1") -> Message:
        """A message for this channel, with a personal ``address``."""
        return Message(
            id=id,
            case_id="case-1",
            customer_id="c-1",
            channel=self.channel_name,
            purpose="follow_up",
            created_at=T0,
            not_before=T0,
            address=self.address,
            data={"owner": "emp-7", "due_at": "2026-11-23T10:00:00+01:00"},
        )

    @pytest.fixture
    def channel(self) -> Iterator[Channel]:
        channel = self.make_channel()
        try:
            yield channel
        finally:
            close = getattr(channel, "close", None)
            if callable(close):
                close()

    def _delivered(self, channel: Channel) -> int | None:
        seen = self.deliveries(channel)
        return None if seen is None else len(seen)

    def _failing(self) -> Channel:
        channel = self.make_failing_channel()
        if channel is None:
            pytest.skip("make_failing_channel() gives no channel that fails")
        return channel

    # handing over ----------------------------------------------------------------

    def test_it_is_a_channel(self, channel: Channel) -> None:
        assert isinstance(channel, Channel), "a channel has a send(message) method"

    def test_a_send_returns_none_when_handed_over(self, channel: Channel) -> None:
        started = time.monotonic()
        result = channel.send(self.make_message())  # type: ignore[func-returns-value]
        took = time.monotonic() - started
        assert result is None, "send returns None; a failure raises"
        assert took < self.send_timeout, f"a send took {took:.1f}s, over the send_timeout"
        assert self._delivered(channel) in (None, 1)

    def test_a_send_from_a_worker_thread_is_handed_over(self, channel: Channel) -> None:
        """``tick`` calls ``send`` in a worker thread, not the one that built the channel."""
        raised: list[BaseException] = []

        def work() -> None:
            try:
                channel.send(self.make_message())
            except BaseException as err:  # reported below, in the test's own thread
                raised.append(err)

        worker = threading.Thread(target=work, name="loopkit-send-test")
        worker.start()
        worker.join(self.send_timeout)
        assert not worker.is_alive(), "a send from a worker thread did not return"
        assert raised == [], f"a send from a worker thread raised {type(raised[0]).__name__}"
        assert self._delivered(channel) in (None, 1)

    # at least once, delivered once -------------------------------------------------

    def test_a_repeated_send_returns_normally_and_is_delivered_once(self, channel: Channel) -> None:
        message = self.make_message()
        channel.send(message)
        channel.send(message)  # a retry after a crash or a timed-out send
        channel.send(message)
        delivered = self._delivered(channel)
        assert delivered in (None, 1), f"one message was delivered {delivered} times"

    def test_a_repeat_is_recognised_by_its_key_alone(self, channel: Channel) -> None:
        """A retry is the stored message with its attempt count and error updated."""
        message = self.make_message()
        channel.send(message)
        channel.send(attrs.evolve(message, attempts=2, last_error="SendTimeout"))
        assert self._delivered(channel) in (None, 1)

    def test_messages_with_other_keys_are_each_delivered(self, channel: Channel) -> None:
        for id in ("m-1", "m-2", "m-3"):  # the same content, three messages
            channel.send(self.make_message(id))
        assert self._delivered(channel) in (None, 3)

    # failures ----------------------------------------------------------------------

    def test_a_failed_send_raises_and_its_retry_is_delivered(self) -> None:
        channel = self._failing()
        message = self.make_message()
        with pytest.raises(Exception):  # noqa: B017 - any exception is a failed attempt
            channel.send(message)
        assert self._delivered(channel) in (None, 0), "a send that raised delivered the message"
        channel.send(message)  # the retry: a failed attempt must not count as sent
        assert self._delivered(channel) in (None, 1), "the retry of a failed send was lost"

    # personal data -----------------------------------------------------------------

    def test_no_log_line_holds_the_address(self, channel: Channel) -> None:
        message = self.make_message()
        failing = self.make_failing_channel()
        with _LogsCaptured() as logs:
            channel.send(message)
            channel.send(message)
            if failing is not None:
                with contextlib.suppress(Exception):  # the failure is checked elsewhere
                    failing.send(message)
        leaks = [line for line in logs.lines if self.address in line]
        assert leaks == [], f"{len(leaks)} log line(s) hold the message's address"

    def test_the_channel_repr_holds_no_address(self, channel: Channel) -> None:
        channel.send(self.make_message())
        assert self.address not in repr(channel)
        assert self.address not in str(channel)

    def test_a_failure_names_no_address(self) -> None:
        channel = self._failing()
        with pytest.raises(Exception) as caught:  # any exception is a failure
            channel.send(self.make_message())
        assert self.address not in str(caught.value)
        assert self.address not in repr(caught.value)
