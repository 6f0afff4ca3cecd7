"""An SMTP server on 127.0.0.1 for tests (aiosmtpd): it keeps every e-mail it
gets and replies as the test scripts it (a reply code, a timeout).

Needs aiosmtpd, and trustme for TLS (loopkit's ``dev`` extra).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
from email.message import EmailMessage
from typing import Any, Literal

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ._receiver import ScriptedServer

__all__ = ["ReceivedMail", "SmtpReceiver"]

_REPLIES = {
    250: "250 2.0.0 OK",
    421: "421 4.3.2 Service not available, closing the channel",
    450: "450 4.2.0 Mailbox unavailable, try later",
    451: "451 4.3.0 Local error, try later",
    452: "452 4.3.1 Insufficient storage",
    550: "550 5.1.1 Mailbox unavailable",
    552: "552 5.3.4 Message too big",
    554: "554 5.7.1 Rejected",
}


@attrs.frozen(kw_only=True)
class ReceivedMail:
    """One e-mail the server got after DATA, and the reply it gave (a code,
    or ``"timeout"``). ``mail`` is the parsed e-mail."""

    mail: EmailMessage = attrs.field(repr=False)
    recipients: tuple[str, ...] = attrs.field(repr=False)
    answer: int | Literal["timeout"]

    @property
    def message_id(self) -> str | None:
        value = self.mail["Message-ID"]
        return None if value is None else str(value)

    @property
    def accepted(self) -> bool:
        """Answered 250: the server took the e-mail."""
        return self.answer == 250


class SmtpReceiver(ScriptedServer[ReceivedMail, "int | Literal['timeout']"]):
    """An SMTP server on 127.0.0.1 (a free port) that keeps what it receives.

    ``security`` is ``"plain"`` (no TLS), ``"starttls"`` (TLS required
    before MAIL FROM) or ``"tls"`` (implicit TLS); for TLS a test CA is made
    with trustme, and :meth:`client_context` trusts it. ``login`` as
    ``(user, password)`` requires that login. Every DATA is answered 250
    unless :meth:`answer` queued something else: a reply code (4xx or 5xx)
    or ``"timeout"`` (no reply for ``delay`` seconds, then 451).
    """

    def __init__(
        self,
        *,
        security: Literal["plain", "starttls", "tls"] = "plain",
        login: tuple[str, str] | None = None,
        delay: float = 1.0,
    ) -> None:
        super().__init__(250, lambda mail: mail.accepted)
        self.security = security
        self.delay = delay
        self.logins: list[bool] = []
        kwargs: dict[str, Any] = {}
        if security != "plain":
            server_context = self._tls_context()
            if security == "tls":
                kwargs.update(ssl_context=server_context, auth_require_tls=False)  # TLS already
            else:
                kwargs.update(tls_context=server_context, require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=_Authenticator(login, self.logins), auth_required=True)
            if security == "plain":
                raise ValueError("SmtpReceiver: a login needs TLS")
        # aiosmtpd logs every command, addresses included: that is the far side's
        # log, not loopkit's, and tests that look for leaks must not see it
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def __repr__(self) -> str:
        return f"SmtpReceiver(port={self.port}, security={self.security!r})"

    @property
    def received(self) -> list[ReceivedMail]:
        """Every e-mail that arrived, answered or not, in order."""
        return self._items

    def close(self) -> None:
        self._controller.stop()


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = self.receiver._next()
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        recipients = tuple(envelope.rcpt_tos)
        self.receiver._record(ReceivedMail(mail=parsed, recipients=recipients, answer=answer))
        if answer == "timeout":
            await asyncio.sleep(self.receiver.delay)
            return _REPLIES[451]
        return _REPLIES.get(answer, f"{answer} scripted reply")


class _Authenticator:
    def __init__(self, login: tuple[str, str], seen: list[bool]) -> None:
        self.login = (login[0].encode(), login[1].encode())
        self.seen = seen

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login,
                auth_data.password,
            )
            == self.login
        )
        self.seen.append(ok)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd replies 535


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
