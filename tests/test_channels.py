"""loopkit's own channels pass the channel contract, the recording channel lives in
the test kit, and the contract catches channels that break it."""

from __future__ import annotations

import io
import logging
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

import loopkit
import loopkit.channels
from loopkit.channels import Channel, ConsoleChannel, DeliveryError
from loopkit.testing import ChannelContract, RecordingChannel

pytest_plugins = ["pytester"]

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


class _DownOnce(io.StringIO):
    """A stream whose first write fails (a terminal gone away for a moment)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def write(self, text: str) -> int:
        if self.down:
            self.down = False
            raise OSError("stream unavailable")
        return super().write(text)


class TestConsoleChannel(ChannelContract):
    channel_name = "phone"
    address = "+46701234567"

    def make_channel(self) -> Channel:
        self.out = io.StringIO()
        return ConsoleChannel(stream=self.out)

    def make_failing_channel(self) -> Channel:
        self.out = _DownOnce()
        return ConsoleChannel(stream=self.out)

    def deliveries(self, channel: Channel) -> Sequence[object]:
        return self.out.getvalue().splitlines()


class TestConsoleChannelShowingPersonalData(TestConsoleChannel):
    """Printing the address is this channel's delivery, not a leak: it never
    reaches a log line, a repr or an error."""

    def make_channel(self) -> Channel:
        self.out = io.StringIO()
        return ConsoleChannel(stream=self.out, show_personal_data=True)

    def make_failing_channel(self) -> Channel:
        self.out = _DownOnce()
        return ConsoleChannel(stream=self.out, show_personal_data=True)


class TestRecordingChannel(ChannelContract):
    def make_channel(self) -> Channel:
        return RecordingChannel()

    def make_failing_channel(self) -> Channel:
        return RecordingChannel(fail_times=1)

    def deliveries(self, channel: Channel) -> Sequence[object]:
        assert isinstance(channel, RecordingChannel)
        return channel.sent


# -- where the recording channel lives -----------------------------------------------


def test_the_recording_channel_is_a_test_double_in_the_test_kit_only() -> None:
    assert "RecordingChannel" not in loopkit.__all__
    assert not hasattr(loopkit, "RecordingChannel")
    assert "RecordingChannel" not in loopkit.channels.__all__
    assert not hasattr(loopkit.channels, "RecordingChannel")
    assert loopkit.testing.RecordingChannel.__module__ == "loopkit.testing.channels"
    assert {"RecordingChannel", "ChannelContract"} <= set(loopkit.testing.__all__)


def test_the_recording_channel_counts_attempts_and_repeats_and_keeps_each_message_once() -> None:
    phone = RecordingChannel(fail_times=2)
    first = loopkit.Message(
        id="m-1",
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="follow_up",
        created_at=T0,
        not_before=T0,
    )
    second = loopkit.Message(
        id="m-2",
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="apology",
        created_at=T0,
        not_before=T0,
    )
    for _ in range(2):
        with pytest.raises(DeliveryError):
            phone.send(first)
    phone.send(first)
    phone.send(first)
    phone.send(second)
    assert [m.id for m in phone.sent] == ["m-1", "m-2"]
    assert (phone.attempts, phone.repeats, phone.fail_times) == (5, 1, 0)
    phone.always_fail = True
    with pytest.raises(DeliveryError):
        phone.send(second)
    assert phone.attempts == 6 and len(phone.sent) == 2


def test_the_console_forgets_the_oldest_keys_beyond_what_it_remembers() -> None:
    out = io.StringIO()
    console = ConsoleChannel(stream=out, remember=2)
    messages = [
        loopkit.Message(
            id=f"m-{i}",
            case_id="case-1",
            customer_id="c-1",
            channel="phone",
            purpose="follow_up",
            created_at=T0,
            not_before=T0,
        )
        for i in range(3)
    ]
    for message in messages:
        console.send(message)
    console.send(messages[2])  # remembered: not printed again
    console.send(messages[0])  # forgotten (the oldest of three, remember=2): printed
    assert len(out.getvalue().splitlines()) == 4


# -- the contract catches channels that break it -------------------------------------

_BROKEN_CHANNELS = textwrap.dedent(
    """
    import logging
    from loopkit.testing import ChannelContract

    log = logging.getLogger("acme.sms")


    class Chatty:
        '''Delivers, deduplicates, but logs the address.'''

        def __init__(self):
            self.delivered = {}

        def send(self, message):
            log.info("sending to %s", message.address)
            self.delivered.setdefault(message.idempotency_key, message)


    class Repeats:
        '''Delivers every attempt: the customer gets a retry twice.'''

        def __init__(self):
            self.delivered = []

        def send(self, message):
            self.delivered.append(message)


    class RemembersTooSoon:
        '''Marks a key sent before trying, so the retry of a failure is lost.'''

        def __init__(self, down=False):
            self.down = down
            self.keys = set()
            self.delivered = []

        def send(self, message):
            if message.idempotency_key in self.keys:
                return
            self.keys.add(message.idempotency_key)
            if self.down:
                self.down = False
                raise ConnectionError(f"no route to {message.address}")
            self.delivered.append(message)

        def __repr__(self):
            return f"RemembersTooSoon(last={sorted(self.keys)})"


    class Answers:
        '''Returns the provider's receipt instead of None.'''

        def __init__(self):
            self.delivered = {}

        def send(self, message):
            self.delivered[message.idempotency_key] = message
            return {"receipt": message.id}


    class Base(ChannelContract):
        def deliveries(self, channel):
            found = channel.delivered
            return list(found.values()) if isinstance(found, dict) else found


    class TestChatty(Base):
        def make_channel(self):
            return Chatty()


    class TestRepeats(Base):
        def make_channel(self):
            return Repeats()


    class TestRemembersTooSoon(Base):
        def make_channel(self):
            return RemembersTooSoon()

        def make_failing_channel(self):
            return RemembersTooSoon(down=True)


    class TestAnswers(Base):
        def make_channel(self):
            return Answers()
    """
)


def test_the_contract_fails_channels_that_break_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken=_BROKEN_CHANNELS)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    failed = {
        line.split("::", 1)[1].split(" ")[0]
        for line in result.outlines
        if line.startswith("FAILED test_broken.py::")
    }
    assert failed == {
        "TestChatty::test_no_log_line_holds_the_address",
        "TestRepeats::test_a_repeated_send_returns_normally_and_is_delivered_once",
        "TestRepeats::test_a_repeat_is_recognised_by_its_key_alone",
        "TestRemembersTooSoon::test_a_failed_send_raises_and_its_retry_is_delivered",
        "TestRemembersTooSoon::test_a_failure_names_no_address",
        "TestAnswers::test_a_send_returns_none_when_handed_over",
    }
    assert outcomes["failed"] == len(failed)
    assert outcomes["passed"] > 20
    # the suites without a failing channel skip the failure checks, saying why
    assert outcomes["skipped"] == 6


def test_the_log_check_sees_records_of_any_logger_and_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Debugging(RecordingChannel):
        def send(self, message: loopkit.Message) -> None:
            logging.getLogger("deep.inside.a.library").debug("to=%s", message.address)
            super().send(message)

    class TestDebugging(ChannelContract):
        def make_channel(self) -> Channel:
            return Debugging()

    suite = TestDebugging()
    with pytest.raises(AssertionError, match="log line"):
        suite.test_no_log_line_holds_the_address(suite.make_channel())
    assert logging.getLogger().level == logging.WARNING  # restored afterwards


# -- permanent failures ---------------------------------------------------------------


def test_a_permanent_failure_is_dead_lettered_at_once_others_are_retried() -> None:
    import pickle
    import random
    from datetime import timedelta

    from loopkit.channels import PermanentDeliveryError

    assert loopkit.PermanentDeliveryError is PermanentDeliveryError
    assert issubclass(PermanentDeliveryError, DeliveryError)
    err = pickle.loads(pickle.dumps(PermanentDeliveryError("answered 410", code=410)))
    assert (type(err), str(err), err.code) == (PermanentDeliveryError, "answered 410", 410)
    assert repr(err).startswith("PermanentDeliveryError(")
    assert f"{type(err).__module__}.{type(err).__qualname__}" == (
        "loopkit.channels.PermanentDeliveryError"
    )

    policy = loopkit.RetryPolicy(max_attempts=5, base=timedelta(minutes=1))
    message = loopkit.Message(
        id="m-1",
        case_id="case-1",
        customer_id="c-1",
        channel="webhook",
        purpose="follow_up",
        created_at=T0,
        not_before=T0,
    )
    rng = random.Random(1)
    dead = policy.after_failure(message, PermanentDeliveryError("gone", code=410), T0, rng)
    assert (dead.status, dead.attempts, dead.next_attempt_at) == (
        loopkit.MessageStatus.DEAD,
        1,
        None,
    )
    assert dead.last_error == "PermanentDeliveryError"
    again = policy.after_failure(message, DeliveryError("busy"), T0, rng)
    assert (again.status, again.attempts) == (loopkit.MessageStatus.PENDING, 1)
    assert again.next_attempt_at is not None and again.next_attempt_at > T0
