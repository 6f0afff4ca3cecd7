"""The webhook channel against a real HTTP server on 127.0.0.1: requests signed as
Standard Webhooks says (checked with the specification's reference library), faults
classified as retries or dead letters, and no secret or address in sight."""

from __future__ import annotations

import json
import logging
import random
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import standardwebhooks

import loopkit
from loopkit import Message, MessageStatus, ValidationError
from loopkit.channels import Channel, DeliveryError, PermanentDeliveryError, WebhookChannel
from loopkit.stores import MemoryStore
from loopkit.testing import ChannelContract, FakeClock, WebhookReceiver

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the specification's example secret
NEXT_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="


def _message(id: str = "m-1", **fields: object) -> Message:
    values: dict[str, object] = {
        "case_id": "case-1",
        "customer_id": "c-1",
        "channel": "webhook",
        "purpose": "follow_up",
        "created_at": T0,
        "not_before": T0,
        "address": "anna.lindqvist@example.com",
        "data": {"owner": "emp-7"},
    }
    values.update(fields)
    return Message(id=id, **values)  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(delay=2.0) as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there now: a connection is refused


class TestWebhookChannel(ChannelContract):
    """Each channel posts to its own receiver; the failing one's answers 503 once."""

    channel_name = "webhook"
    include_address = False

    @pytest.fixture(autouse=True)
    def _receivers(self) -> Iterator[None]:
        self.receivers: dict[int, WebhookReceiver] = {}
        yield
        for receiver in self.receivers.values():
            receiver.close()

    def _channel(self, *answers: int) -> Channel:
        receiver = WebhookReceiver()
        receiver.answer(*answers)
        channel = WebhookChannel(
            url=receiver.url, secret=SECRET, timeout=5, include_address=self.include_address
        )
        self.receivers[id(channel)] = receiver
        return channel

    def make_channel(self) -> Channel:
        return self._channel()

    def make_failing_channel(self) -> Channel:
        return self._channel(503)

    def deliveries(self, channel: Channel) -> Sequence[object]:
        return self.receivers[id(channel)].accepted()


class TestWebhookChannelWithAddress(TestWebhookChannel):
    """Sending the address to the receiver is delivery, not a leak."""

    include_address = True


# -- signed as the specification says ------------------------------------------------


def test_the_reference_library_verifies_every_rotated_secret(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret=[SECRET, NEXT_SECRET])
    channel.send(_message(subject="We are sorry", body="Dear Anna, ..."))
    (request,) = receiver.requests
    for secret in (SECRET, NEXT_SECRET):
        document = standardwebhooks.Webhook(secret).verify(request.body, dict(request.headers))
        assert document["type"] == "message.follow_up"
        assert document["data"]["id"] == "m-1"
        assert document["data"]["subject"] == "We are sorry"
        assert document["data"]["body"] == "Dear Anna, ..."
        assert document["data"]["data"] == {"owner": "emp-7"}
        assert "address" not in document["data"]
    other = standardwebhooks.Webhook(WebhookChannel.new_secret())
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        other.verify(request.body, dict(request.headers))
    assert request.webhook_id == "m-1"
    assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_the_signature_is_the_specifications_with_an_injected_clock(
    receiver: WebhookReceiver,
) -> None:
    at = datetime(2026, 11, 20, 14, 30, 5, tzinfo=UTC)
    channel = WebhookChannel(url=receiver.url, secret=SECRET, clock=lambda: at)
    message = _message()
    channel.send(message)
    (request,) = receiver.requests
    assert request.headers["webhook-timestamp"] == str(int(at.timestamp()))
    expected = standardwebhooks.Webhook(SECRET).sign("m-1", at, request.body.decode())
    assert request.headers["webhook-signature"] == expected
    assert request.body == channel.payload(message)
    assert json.loads(request.body)["timestamp"] == at.isoformat()
    # the reference verifier checks the timestamp against its own clock: an
    # hour-old signature is refused, so the timestamp really is the clock's
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(SECRET).verify(request.body, dict(request.headers))


def test_the_address_goes_only_when_asked(receiver: WebhookReceiver) -> None:
    WebhookChannel(url=receiver.url, secret=SECRET, include_address=True).send(_message())
    WebhookChannel(url=receiver.url, secret=SECRET).send(_message("m-2"))
    first, second = (json.loads(r.body)["data"] for r in receiver.requests)
    assert first["address"] == "anna.lindqvist@example.com"
    assert "address" not in second and "subject" not in second


def test_a_key_that_is_not_header_text_gets_a_stable_id(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret=SECRET)
    channel.send(_message("bestälning 7"))
    channel.send(_message("bestälning 8"))
    ids = [r.webhook_id for r in receiver.requests]
    assert all(i is not None and i.startswith("sha256-") for i in ids)
    assert ids[0] != ids[1]
    assert ids[0] == channel.webhook_id(_message("bestälning 7"))
    for request in receiver.requests:
        standardwebhooks.Webhook(SECRET).verify(request.body, dict(request.headers))


def test_a_delivered_key_is_not_posted_again(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel(url=receiver.url, secret=SECRET)
    channel.send(_message())
    channel.send(_message(attempts=2, last_error="SendTimeout"))
    assert len(receiver.requests) == 1


# -- faults: retried, or dead-lettered at once ---------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_a_server_error_or_try_later_is_a_retry(receiver: WebhookReceiver, status: int) -> None:
    receiver.answer(status)
    channel = WebhookChannel(url=receiver.url, secret=SECRET)
    with pytest.raises(DeliveryError) as caught:
        channel.send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)
    assert f"answered {status}" in str(caught.value)
    channel.send(_message())  # the retry is delivered
    assert [r.answer for r in receiver.requests] == [status, 204]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301, 302, 307])
def test_a_client_error_or_redirect_is_permanent(receiver: WebhookReceiver, status: int) -> None:
    receiver.answer(status)
    with pytest.raises(PermanentDeliveryError) as caught:
        WebhookChannel(url=receiver.url, secret=SECRET).send(_message())
    assert caught.value.code == status
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_https_with_a_trusted_certificate_delivers_and_an_untrusted_one_is_permanent() -> None:
    with WebhookReceiver(tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        trusting = WebhookChannel(
            url=server.url, secret=SECRET, ssl_context=server.client_context()
        )
        trusting.send(_message())
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            WebhookChannel(url=server.url, secret=SECRET, timeout=5).send(_message("m-2"))
        assert [r.webhook_id for r in server.accepted()] == ["m-1"]


def test_a_refused_connection_is_a_retry() -> None:
    channel = WebhookChannel(url=f"http://127.0.0.1:{_closed_port()}/hook", secret=SECRET)
    with pytest.raises(DeliveryError, match="connection refused") as caught:
        channel.send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)


@pytest.mark.parametrize("fault", ["timeout", "drop"])
def test_a_timeout_or_dropped_connection_is_a_retry(receiver: WebhookReceiver, fault: str) -> None:
    receiver.answer(fault)  # type: ignore[arg-type]
    channel = WebhookChannel(url=receiver.url, secret=SECRET, timeout=0.3)
    with pytest.raises(DeliveryError) as caught:
        channel.send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)
    assert ("timed out" if fault == "timeout" else "closed") in str(caught.value)


def _loop(channel: Channel, clock: FakeClock) -> loopkit.Loop:
    return loopkit.Loop(
        loopkit.load_playbook(EXAMPLE),
        plugins=[loopkit.ChannelPlugin({"webhook": channel})],
        store=MemoryStore(),
        clock=clock,
        rng=random.Random(3),
    )


def test_through_the_loop_a_4xx_is_dead_lettered_and_a_5xx_retried(
    receiver: WebhookReceiver,
) -> None:
    clock = FakeClock(T0)
    loop = _loop(WebhookChannel(url=receiver.url, secret=SECRET), clock)
    with loop.store.transaction() as tx:
        tx.save_message(_message("m-1"))
        tx.save_message(_message("m-2"))
    receiver.answer(410, 503)
    report = loop.tick()
    assert (report.sent, report.retried, report.dead_lettered) == (0, 1, 1)
    with loop.store.transaction() as tx:
        dead = tx.get_message("m-1")
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == (
        MessageStatus.DEAD,
        1,
        "PermanentDeliveryError",
    )
    clock.advance(hours=2)
    assert loop.tick().sent == 1
    clock.advance(hours=2)
    assert loop.tick().sent == 0  # nothing twice after a success
    assert [r.webhook_id for r in receiver.accepted()] == ["m-2"]
    assert [m.status for m in loop.messages()] == [MessageStatus.DEAD, MessageStatus.SENT]


# -- bad input: typed errors naming the field, never the secret ------------------------


@pytest.mark.parametrize(
    ("url", "got"),
    [
        ("ftp://hooks.example.com/x", "a URL with scheme 'ftp'"),
        ("hooks.example.com/x", "a URL without a scheme"),
        ("https://", "a URL without a host"),
        ("https://user:pw@hooks.example.com/", "a URL with credentials"),
        ("https://hooks.example.com/a b", "a URL with spaces or control characters"),
        ("https://hooks.example.com:99999/", "text that is not a URL"),
        (42, "a redacted int"),
    ],
)
def test_a_url_that_is_not_http_is_refused(url: object, got: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookChannel(url=url, secret=SECRET)  # type: ignore[arg-type]
    assert caught.value.path == "WebhookChannel.url"
    assert caught.value.got is not None and got in caught.value.got
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "path", "got"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "WebhookChannel.secret", "without the 'whsec_'"),
        ("whsec_not*base64!", "WebhookChannel.secret", "not base64"),
        ("whsec_c2hvcnQ=", "WebhookChannel.secret", "a key of 5 bytes"),
        ([SECRET, "whsec_c2hvcnQ="], "WebhookChannel.secret[1]", "a key of 5 bytes"),
        ([], "WebhookChannel.secret", "list of 0 items"),
        (b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "WebhookChannel.secret", "redacted"),
    ],
)
def test_a_secret_in_the_wrong_format_is_refused_unseen(
    secret: object, path: str, got: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookChannel(url="https://hooks.example.com/", secret=secret)  # type: ignore[arg-type]
    assert caught.value.path == path
    assert caught.value.got is not None and got in caught.value.got
    text = str(caught.value) + repr(caught.value)
    for fragment in ("MfKQ9r8G", "c2hvcnQ", "not*base64"):
        assert fragment not in text


def test_no_secret_token_or_address_in_repr_errors_or_logs(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    channel = WebhookChannel(url=receiver.url + "?token=t0k3n", secret=SECRET, timeout=0.3)
    assert repr(channel) == f"WebhookChannel(url='http://127.0.0.1:{receiver.port}/…')"
    clock = FakeClock(T0)
    loop = _loop(channel, clock)
    with loop.store.transaction() as tx:
        tx.save_message(_message("m-1"))
    receiver.answer(404)
    with caplog.at_level(logging.DEBUG):
        loop.tick()
    with pytest.raises(PermanentDeliveryError) as caught:
        receiver.answer(404)
        channel.send(_message("m-2"))
    seen = caplog.text + str(caught.value) + repr(caught.value) + repr(channel)
    for secret in ("MfKQ9r8G", "t0k3n", "anna.lindqvist", "/hooks/loopkit"):
        assert secret not in seen
    assert "PermanentDeliveryError" in caplog.text


def test_timeouts_must_be_positive() -> None:
    for bad in (0, -1, float("nan"), "10", True):
        with pytest.raises(ValidationError, match=r"WebhookChannel\.timeout"):
            WebhookChannel(url="https://x.example/", secret=SECRET, timeout=bad)  # type: ignore[arg-type]
    assert timedelta(seconds=WebhookChannel(url="https://x.example/", secret=SECRET).timeout)
