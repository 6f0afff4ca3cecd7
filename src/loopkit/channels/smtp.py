"""An e-mail channel over SMTP, with nothing but the standard library."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final, Literal

from loopkit.errors import ValidationError, describe
from loopkit.model import Message

from ._common import (
    Clock,
    SentKeys,
    check_remember,
    check_timeout,
    fallback_body,
    fallback_subject,
    safe_id,
    utc_now,
)
from ._protocol import DeliveryError, PermanentDeliveryError

__all__ = ["SmtpChannel"]

Security = Literal["starttls", "tls", "plain"]

_PORTS: Final = {"starttls": 587, "tls": 465, "plain": 25}
_LOCAL: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM: Final = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_HOST: Final = re.compile(r"[A-Za-z0-9.:\-\[\]]+")
_STAGES: Final = {
    "SMTPConnectError": "the connection",
    "SMTPHeloError": "the greeting",
    "SMTPAuthenticationError": "the login",
    "SMTPSenderRefused": "the sender",
    "SMTPRecipientsRefused": "the recipient",
    "SMTPDataError": "the message",
}


class SmtpChannel:
    """Sends each message as an e-mail through an SMTP server.

    ``security`` is ``"starttls"`` by default (port 587: the connection is
    upgraded to TLS before anything is sent, and a server that does not offer
    it is refused), ``"tls"`` for implicit TLS (port 465), or ``"plain"``,
    allowed only for a server on this machine (``localhost``, ``127.0.0.1``,
    ``::1``), as in tests. ``ssl_context`` defaults to
    :func:`ssl.create_default_context` (certificates and host names checked).

    ``username`` and ``password`` log in when given; ``password`` may be a
    function, called for each connection, so the host can keep it in its own
    secret store and rotate it. It never appears in a ``repr``, a log line or
    an error.

    The e-mail goes to ``message.address``, with ``message.subject`` and
    ``message.body`` when the playbook rendered them, and otherwise the
    purpose and the message's data (no personal data). Its ``Message-ID`` is
    made from ``message.idempotency_key`` (``<m-1@example.com>``), the same on
    every attempt, so a mail system can tell a resend; a key this channel has
    sent (among the last ``remember``) is not sent again.

    An SMTP 5xx reply (a recipient refused, a login refused) raises
    :class:`~loopkit.channels.PermanentDeliveryError`, and the loop
    dead-letters the message at once. A 4xx reply, a refused connection or a
    connection that takes longer than ``timeout`` seconds raises
    :class:`~loopkit.channels.DeliveryError`: retried with backoff.

    >>> SmtpChannel(host="smtp.example.com", from_address="cx@example.com",
    ...             username="cx", password=lambda: "s3cret")
    SmtpChannel(host='smtp.example.com', port=587, security='starttls')
    >>> SmtpChannel(host="smtp.example.com", from_address="cx@example.com", security="plain")
    Traceback (most recent call last):
    ...
    loopkit.errors.ValidationError: SmtpChannel.security: expected 'starttls' or 'tls' ('plain' only for a server on localhost), got 'plain'
    """  # noqa: E501

    def __init__(
        self,
        *,
        host: str,
        from_address: str,
        port: int | None = None,
        security: Security = "starttls",
        username: str | None = None,
        password: str | Callable[[], str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        message_id_domain: str | None = None,
        helo_name: str | None = None,
        clock: Clock | None = None,
        remember: int = 10_000,
    ) -> None:
        self.host = _check_host(host)
        self.security: Security = _check_security(security, self.host)
        self.port = _check_port(_PORTS[self.security] if port is None else port)
        self.from_address = _check_from(from_address)
        self._username, self._password = _check_login(username, password)
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ValidationError(
                "SmtpChannel.ssl_context", "an ssl.SSLContext", describe(ssl_context)
            )
        if ssl_context is None and self.security != "plain":
            ssl_context = ssl.create_default_context()
        self._ssl = ssl_context
        self.timeout = check_timeout(timeout, "SmtpChannel.timeout")
        domain = self.from_address.domain if message_id_domain is None else message_id_domain
        if not isinstance(domain, str) or not _DOT_ATOM.fullmatch(domain):
            raise ValidationError(
                "SmtpChannel.message_id_domain", "a domain such as 'example.com'", describe(domain)
            )
        self.message_id_domain = domain
        self._helo = helo_name
        self._clock = clock or utc_now
        self._sent = SentKeys(check_remember(remember, "SmtpChannel.remember"))

    def __repr__(self) -> str:
        return f"SmtpChannel(host={self.host!r}, port={self.port}, security={self.security!r})"

    def message_id(self, message: Message) -> str:
        """The ``Message-ID`` header of ``message``'s e-mail: the same on every attempt.

        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
        >>> m = Message(id="msg-7", case_id="k-1", customer_id="c-1", channel="email",
        ...             purpose="follow_up", created_at=t, not_before=t)
        >>> SmtpChannel(host="smtp.example.com", from_address="cx@example.com").message_id(m)
        '<msg-7@example.com>'
        """
        return f"<{safe_id(message.idempotency_key, _DOT_ATOM)}@{self.message_id_domain}>"

    def compose(self, message: Message) -> EmailMessage:
        """The e-mail ``send`` would send for ``message``; raises
        :class:`~loopkit.channels.PermanentDeliveryError` if it has no usable
        address (the error names the field, never the address)."""
        if message.address is None:
            raise PermanentDeliveryError(f"message {message.id}: message.address is missing")
        try:
            to = Address(addr_spec=message.address)
        except Exception:  # the parser's text quotes the address
            raise PermanentDeliveryError(
                f"message {message.id}: message.address is not an e-mail address"
            ) from None
        mail = EmailMessage()
        try:
            mail["Subject"] = message.subject or fallback_subject(message)
        except Exception:
            raise PermanentDeliveryError(
                f"message {message.id}: message.subject is not one line of text"
            ) from None
        mail["From"] = self.from_address
        mail["To"] = to
        mail["Date"] = format_datetime(self._clock())
        mail["Message-ID"] = self.message_id(message)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        mail.set_content(message.body or fallback_body(message))
        return mail

    def send(self, message: Message) -> None:
        """Send ``message`` as one e-mail, unless this channel sent its key already."""
        key = message.idempotency_key
        if key in self._sent:
            return
        mail = self.compose(message)
        try:
            self._transmit(mail)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [reply[0] for reply in err.recipients.values()]
            raise self._refused("SMTPRecipientsRefused", codes[0] if codes else 550) from None
        except smtplib.SMTPResponseException as err:
            raise self._refused(type(err).__name__, err.smtp_code) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentDeliveryError(
                f"{self._where}: the server does not support what is needed"
                " (STARTTLS, login or an international address)"
            ) from None
        except ssl.SSLCertVerificationError:
            raise PermanentDeliveryError(
                f"{self._where}: the server's TLS certificate was not trusted"
            ) from None
        except (smtplib.SMTPException, OSError) as err:  # refused, timed out, dropped
            raise DeliveryError(f"{self._where}: {_failure(err)}") from None
        self._sent.add(key)

    @property
    def _where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def _refused(self, kind: str, code: int) -> DeliveryError:
        stage = _STAGES.get(kind, "the message")
        text = f"{self._where} replied {code} to {stage}"
        if 500 <= code < 600:
            return PermanentDeliveryError(text, code=code)
        return DeliveryError(text)

    def _transmit(self, mail: EmailMessage) -> None:
        context = self._ssl
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, self._helo, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, self._helo, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)  # raises if the server does not offer it
            if self._username is not None:
                password = self._password() if callable(self._password) else self._password
                _login(smtp, self._username, password or "")
            smtp.send_message(mail)
        except BaseException:
            smtp.close()  # no goodbye to a server that failed: it may not answer either
            raise
        with contextlib.suppress(Exception):  # sent is sent: a failed goodbye changes nothing
            smtp.quit()
        smtp.close()


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in once, with PLAIN or LOGIN (over TLS), not once per method the
    server offers as ``SMTP.login`` does: a wrong password is one failed login."""
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise smtplib.SMTPNotSupportedError("no login mechanism offered")
    smtp.user, smtp.password = username, password
    try:
        smtp.auth(mechanism, smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login)
    finally:
        smtp.password = ""


def _failure(err: BaseException) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, TimeoutError) or isinstance(err.__context__, TimeoutError):
        return "timed out"  # smtplib reports a reply that timed out as a disconnection
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return "connection closed by the server"
    return f"connection failed ({type(err).__name__})"


def _check_host(value: object) -> str:
    if not isinstance(value, str) or not _HOST.fullmatch(value):
        raise ValidationError(
            "SmtpChannel.host",
            "a host name or IP address such as 'smtp.example.com'",
            describe(value),
        )
    return value


def _check_security(value: object, host: str) -> Security:
    if value in ("starttls", "tls"):
        return value
    if value == "plain" and host in _LOCAL:
        return "plain"
    raise ValidationError(
        "SmtpChannel.security",
        "'starttls' or 'tls' ('plain' only for a server on localhost)",
        describe(value),
    )


def _check_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValidationError("SmtpChannel.port", "a port number from 1 to 65535", describe(value))
    return value


def _check_from(value: object) -> Address:
    try:
        if not isinstance(value, str):
            raise TypeError
        address = Address(addr_spec=value)
        if not address.domain:
            raise ValueError
    except Exception:
        raise ValidationError(
            "SmtpChannel.from_address",
            "an e-mail address such as 'cx@example.com'",
            describe(value, personal=True),
        ) from None
    return address


def _check_login(
    username: object, password: object
) -> tuple[str | None, str | Callable[[], str] | None]:
    if username is None and password is None:
        return None, None
    if not isinstance(username, str) or not username:
        raise ValidationError(
            "SmtpChannel.username", "a user name to log in with the password", describe(username)
        )
    if not (isinstance(password, str) and password) and not callable(password):
        raise ValidationError(
            "SmtpChannel.password",
            "a password, or a function that returns one",
            describe(password, personal=True),
        )
    return username, password
