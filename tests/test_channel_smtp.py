"""The SMTP channel against a real SMTP server (aiosmtpd) on 127.0.0.1: STARTTLS and
implicit TLS with a certificate made by the test's own CA, login with a password the
host hands over, faults classified as retries or dead letters, nothing leaked."""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

import loopkit
from loopkit import Message, MessageStatus, ValidationError
from loopkit.channels import Channel, DeliveryError, PermanentDeliveryError, SmtpChannel
from loopkit.stores import MemoryStore
from loopkit.testing import ChannelContract, FakeClock, SmtpReceiver

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
ADDRESS = "anna.lindqvist@example.com"
PASSWORD = "correct-horse-battery"


def _message(id: str = "m-1", **fields: object) -> Message:
    values: dict[str, object] = {
        "case_id": "case-1",
        "customer_id": "c-1",
        "channel": "email",
        "purpose": "follow_up",
        "created_at": T0,
        "not_before": T0,
        "address": ADDRESS,
        "data": {"owner": "emp-7", "due_at": "2026-11-23T10:00:00+01:00"},
    }
    values.update(fields)
    return Message(id=id, **values)  # type: ignore[arg-type]


def _channel(server: SmtpReceiver, **options: object) -> SmtpChannel:
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "from_address": "cx@example.com",
        "ssl_context": server.client_context(),
        "timeout": 5,
        "clock": lambda: T0,
    }
    settings.update(options)
    return SmtpChannel(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def plain() -> Iterator[SmtpReceiver]:
    with SmtpReceiver(delay=1.0) as server:
        yield server


@pytest.fixture
def server(plain: SmtpReceiver) -> SmtpReceiver:
    plain.reset()
    return plain


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class TestSmtpChannel(ChannelContract):
    """Each channel sends to its own server; the failing one's replies 451 once."""

    @pytest.fixture(autouse=True)
    def _servers(self) -> Iterator[None]:
        self.servers: dict[int, SmtpReceiver] = {}
        yield
        for server in self.servers.values():
            server.close()

    def _make(self, *answers: int) -> Channel:
        server = SmtpReceiver()
        server.answer(*answers)
        channel = _channel(server)
        self.servers[id(channel)] = server
        return channel

    def make_channel(self) -> Channel:
        return self._make()

    def make_failing_channel(self) -> Channel:
        return self._make(451)

    def deliveries(self, channel: Channel) -> Sequence[object]:
        return self.servers[id(channel)].accepted()


# -- what is sent ----------------------------------------------------------------------


def test_starttls_with_a_login_delivers_the_rendered_text() -> None:
    asked: list[int] = []

    def password() -> str:  # the host's secret store, asked for each connection
        asked.append(1)
        return PASSWORD

    with SmtpReceiver(security="starttls", login=("cx", PASSWORD)) as server:
        channel = _channel(server, username="cx", password=password)
        channel.send(_message(subject="We are sorry, Anna", body="Dear Anna,\n\nWe called.\n"))
        (received,) = server.received
    assert server.logins == [True] and asked == [1]
    assert received.recipients == (ADDRESS,)
    mail = received.mail
    assert mail["To"] == ADDRESS and mail["From"] == "cx@example.com"
    assert mail["Subject"] == "We are sorry, Anna"
    assert mail.get_content().replace("\r\n", "\n") == "Dear Anna,\n\nWe called.\n"
    assert mail["Message-ID"] == "<m-1@example.com>" == channel.message_id(_message())
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"].datetime == T0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from the start
def test_implicit_tls_delivers() -> None:
    with SmtpReceiver(security="tls", login=("cx", PASSWORD)) as server:
        _channel(server, username="cx", password=PASSWORD).send(_message())
        assert [m.message_id for m in server.accepted()] == ["<m-1@example.com>"]


def test_without_rendered_text_the_purpose_and_data_are_sent(server: SmtpReceiver) -> None:
    _channel(server).send(_message())
    mail = server.received[0].mail
    assert mail["Subject"] == "Follow up"
    body = mail.get_content()
    assert "case: case-1" in body and "owner: emp-7" in body
    assert ADDRESS not in body


def test_a_key_that_is_not_an_atom_gets_a_stable_message_id(server: SmtpReceiver) -> None:
    channel = _channel(server, message_id_domain="loop.example.org")
    channel.send(_message("order 7/ä"))
    message_id = server.received[0].message_id
    assert message_id is not None and message_id.startswith("<sha256-")
    assert message_id.endswith("@loop.example.org>")
    assert message_id == channel.message_id(_message("order 7/ä"))


def test_a_sent_key_is_not_sent_again(server: SmtpReceiver) -> None:
    channel = _channel(server)
    channel.send(_message())
    channel.send(_message(attempts=3, last_error="SendTimeout"))
    assert len(server.received) == 1


# -- TLS is required, and checked --------------------------------------------------------


def test_starttls_is_required_by_default(server: SmtpReceiver) -> None:
    """A server that does not offer STARTTLS gets nothing, not a mail in the clear."""
    channel = _channel(server, security="starttls")
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        channel.send(_message())
    assert server.received == []


def test_an_untrusted_certificate_is_refused() -> None:
    with SmtpReceiver(security="starttls") as server:
        channel = SmtpChannel(
            host=server.host, port=server.port, from_address="cx@example.com", timeout=5
        )  # the default context: the test CA is not trusted
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            channel.send(_message())
        assert server.received == []


def test_a_wrong_password_is_permanent_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    wrong = "wrong-horse-battery"
    with SmtpReceiver(security="starttls", login=("cx", PASSWORD)) as server:
        channel = _channel(server, username="cx", password=wrong)
        with caplog.at_level(logging.DEBUG), pytest.raises(PermanentDeliveryError) as caught:
            channel.send(_message())
    assert caught.value.code == 535
    assert server.logins == [False] and server.received == []
    seen = str(caught.value) + repr(caught.value) + repr(channel) + caplog.text
    assert wrong not in seen and ADDRESS not in seen


# -- faults: retried, or dead-lettered at once -------------------------------------------


@pytest.mark.parametrize("code", [421, 450, 451, 452])
def test_a_transient_reply_is_a_retry(server: SmtpReceiver, code: int) -> None:
    server.answer(code)
    channel = _channel(server)
    with pytest.raises(DeliveryError, match=f"replied {code}") as caught:
        channel.send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)
    channel.send(_message())
    assert [m.answer for m in server.received] == [code, 250]


@pytest.mark.parametrize("code", [550, 552, 554])
def test_a_permanent_reply_is_a_dead_letter(server: SmtpReceiver, code: int) -> None:
    server.answer(code)
    with pytest.raises(PermanentDeliveryError) as caught:
        _channel(server).send(_message())
    assert caught.value.code == code
    assert ADDRESS not in str(caught.value)


def test_a_refused_connection_is_a_retry() -> None:
    channel = SmtpChannel(
        host="127.0.0.1", port=_closed_port(), security="plain", from_address="cx@example.com"
    )
    with pytest.raises(DeliveryError, match="connection refused") as caught:
        channel.send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)


def test_a_server_that_does_not_answer_in_time_is_a_retry(server: SmtpReceiver) -> None:
    server.answer("timeout")
    with pytest.raises(DeliveryError, match="timed out") as caught:
        _channel(server, timeout=0.3).send(_message())
    assert not isinstance(caught.value, PermanentDeliveryError)


def test_a_message_without_a_usable_address_is_a_dead_letter(server: SmtpReceiver) -> None:
    channel = _channel(server)
    with pytest.raises(PermanentDeliveryError, match=r"message\.address is missing"):
        channel.send(_message(address=None))
    secret = "anna lindqvist at home"
    with pytest.raises(PermanentDeliveryError, match=r"message\.address") as caught:
        channel.send(_message(address=secret))
    assert secret not in str(caught.value)
    assert server.received == []


def test_through_the_loop_5xx_is_dead_lettered_and_4xx_retried(server: SmtpReceiver) -> None:
    clock = FakeClock(T0)
    loop = loopkit.Loop(
        loopkit.load_playbook(EXAMPLE),
        plugins=[loopkit.ChannelPlugin({"email": _channel(server)})],
        store=MemoryStore(),
        clock=clock,
        rng=random.Random(5),
    )
    with loop.store.transaction() as tx:
        tx.save_message(_message("m-1"))
        tx.save_message(_message("m-2"))
    server.answer(554, 451)
    report = loop.tick()
    assert (report.sent, report.retried, report.dead_lettered) == (0, 1, 1)
    clock.advance(hours=2)
    assert loop.tick().sent == 1
    clock.advance(hours=2)
    assert loop.tick().sent == 0
    assert [m.message_id for m in server.accepted()] == ["<m-2@example.com>"]
    statuses = {m.id: (m.status, m.attempts) for m in loop.messages()}
    assert statuses == {"m-1": (MessageStatus.DEAD, 1), "m-2": (MessageStatus.SENT, 2)}


# -- bad settings: typed errors naming the field ----------------------------------------


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"host": "smtp.example.com", "security": "plain"}, "SmtpChannel.security"),
        ({"security": "ssl"}, "SmtpChannel.security"),
        ({"host": ""}, "SmtpChannel.host"),
        ({"host": "smtp example"}, "SmtpChannel.host"),
        ({"port": 0}, "SmtpChannel.port"),
        ({"port": "587"}, "SmtpChannel.port"),
        ({"from_address": "not an address"}, "SmtpChannel.from_address"),
        ({"username": "cx"}, "SmtpChannel.password"),
        ({"password": PASSWORD}, "SmtpChannel.username"),
        ({"timeout": 0}, "SmtpChannel.timeout"),
        ({"ssl_context": "yes"}, "SmtpChannel.ssl_context"),
        ({"message_id_domain": "a b"}, "SmtpChannel.message_id_domain"),
        ({"remember": -1}, "SmtpChannel.remember"),
    ],
)
def test_bad_settings_name_their_field(options: dict[str, object], path: str) -> None:
    settings: dict[str, object] = {"host": "localhost", "from_address": "cx@example.com"}
    settings.update(options)
    with pytest.raises(ValidationError) as caught:
        SmtpChannel(**settings)  # type: ignore[arg-type]
    assert caught.value.path == path
    assert PASSWORD not in str(caught.value)


def test_plain_is_allowed_only_on_this_machine() -> None:
    for host in ("localhost", "127.0.0.1", "::1"):
        assert SmtpChannel(host=host, security="plain", from_address="cx@example.com").port == 25
    channel = SmtpChannel(host="smtp.example.com", from_address="cx@example.com")
    assert (channel.security, channel.port) == ("starttls", 587)
    assert SmtpChannel(host="smtp.example.com", security="tls", from_address="a@b.c").port == 465
