"""An outgoing webhook channel, signed as the Standard Webhooks specification says
(https://www.standardwebhooks.com), with nothing but the standard library."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import re
import secrets
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from loopkit._version import __version__
from loopkit.errors import ValidationError, describe
from loopkit.model import Message

from ._common import Clock, SentKeys, check_remember, check_timeout, safe_id, utc_now
from ._protocol import DeliveryError, PermanentDeliveryError

__all__ = ["WebhookChannel"]

_PREFIX: Final = "whsec_"
_KEY_BYTES: Final = range(24, 65)  # the specification: 24 to 64 bytes
_HEADER_ID: Final = re.compile(r"[!-~]+")  # printable ASCII, no space
_RETRIED: Final = frozenset({408, 429})  # 4xx answers that mean "try again later"
_PERSONAL: Final = ("subject", "body")
_FIELDS: Final = (
    "id",
    "case_id",
    "customer_id",
    "channel",
    "purpose",
    "created_at",
    "not_before",
    "data",
)


class WebhookChannel:
    """POSTs each message as JSON to ``url``, signed as Standard Webhooks says.

    The request carries ``webhook-id`` (the message's idempotency key, the
    same on every attempt: the receiver deduplicates by it),
    ``webhook-timestamp`` (seconds since the epoch, read from ``clock``) and
    ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of
    ``"{id}.{timestamp}.{body}"``, once per secret, space-separated, so that
    a receiver can move to a new secret while the old one still verifies.
    ``secret`` is one secret or a sequence of them, each ``whsec_`` and the
    base64 of a 24 to 64 byte key (:meth:`new_secret` makes one).

    The body is ``{"type": "message.<purpose>", "timestamp": ..., "data":
    {...}}``: the message's ids, channel, purpose, times and data, and its
    rendered ``subject`` and ``body`` when it has them. The customer's
    ``address`` is left out (the receiver knows the customer by
    ``customer_id``) unless ``include_address`` is true. ``ssl_context``
    (certificates and host names checked by default) is for an https URL
    whose certificate a private CA signed.

    A 2xx answer is delivered. A refused connection, a timeout (``timeout``
    seconds), a 5xx answer, 408 or 429 raise
    :class:`~loopkit.channels.DeliveryError`: retried with backoff. Any
    other answer (a 4xx, a redirect, which is not followed) or an untrusted
    TLS certificate raises
    :class:`~loopkit.channels.PermanentDeliveryError`: dead-lettered at once.
    A key this channel delivered (among the last ``remember``) is not sent
    again. Neither the secrets nor the URL's path and query (which may hold
    a token) appear in a ``repr``, a log line or an error.

    >>> WebhookChannel(url="https://hooks.example.com/loopkit?token=abc",
    ...                secret=WebhookChannel.new_secret())
    WebhookChannel(url='https://hooks.example.com/…')
    >>> WebhookChannel(url="ftp://hooks.example.com", secret="whsec_c2VjcmV0")
    Traceback (most recent call last):
    ...
    loopkit.errors.ValidationError: WebhookChannel.url: expected an http:// or https:// URL, got a URL with scheme 'ftp'
    """  # noqa: E501

    def __init__(
        self,
        *,
        url: str,
        secret: str | Sequence[str],
        timeout: float = 10.0,
        include_address: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
        remember: int = 10_000,
    ) -> None:
        self._url, self.endpoint = _check_url(url)
        self._keys = _check_secrets(secret)
        self.timeout = check_timeout(timeout, "WebhookChannel.timeout")
        if not isinstance(include_address, bool):
            raise ValidationError(
                "WebhookChannel.include_address", "True or False", describe(include_address)
            )
        self.include_address = include_address
        self._clock = clock or utc_now
        self._sent = SentKeys(check_remember(remember, "WebhookChannel.remember"))
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ValidationError(
                "WebhookChannel.ssl_context", "an ssl.SSLContext", describe(ssl_context)
            )
        handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"WebhookChannel(url='{self.endpoint}/…')"

    @staticmethod
    def new_secret() -> str:
        """A new random secret in the ``whsec_<base64>`` form (32 bytes)."""
        return _PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")

    def webhook_id(self, message: Message) -> str:
        """The ``webhook-id`` header: the message's idempotency key (or, if it
        is not printable ASCII, a digest of it), the same on every attempt."""
        return safe_id(message.idempotency_key, _HEADER_ID)

    def payload(self, message: Message) -> bytes:
        """The JSON body ``send`` posts for ``message`` (UTF-8)."""
        full = message.to_dict()
        data: dict[str, Any] = {name: full[name] for name in _FIELDS}
        data.update({name: full[name] for name in _PERSONAL if full[name] is not None})
        if self.include_address:
            data["address"] = message.address
        document = {
            "type": f"message.{message.purpose}",
            "timestamp": self._clock().isoformat(),
            "data": data,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def signature(self, webhook_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` header: ``v1,<base64>`` per secret, space-separated."""
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        return " ".join(
            "v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode("ascii")
            for key in self._keys
        )

    def headers(self, message: Message, body: bytes) -> dict[str, str]:
        """The headers ``send`` posts ``body`` with, signed now (by ``clock``)."""
        webhook_id = self.webhook_id(message)
        timestamp = int(self._clock().timestamp())
        return {
            "Content-Type": "application/json",
            "User-Agent": f"loopkit/{__version__}",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.signature(webhook_id, timestamp, body),
        }

    def send(self, message: Message) -> None:
        """POST ``message``, unless this channel delivered its key already."""
        key = message.idempotency_key
        if key in self._sent:
            return
        body = self.payload(message)
        request = urllib.request.Request(
            self._url, data=body, headers=self.headers(message, body), method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as err:
            err.close()
            status = err.code
        except urllib.error.URLError as err:
            if isinstance(err.reason, ssl.SSLCertVerificationError):
                raise PermanentDeliveryError(
                    f"{self._where}: the server's TLS certificate was not trusted"
                ) from None
            raise DeliveryError(f"{self._where}: {_failure(err.reason)}") from None
        except (OSError, http.client.HTTPException) as err:  # timed out, dropped
            raise DeliveryError(f"{self._where}: {_failure(err)}") from None
        if 200 <= status < 300:
            self._sent.add(key)
            return
        text = f"{self._where} answered {status}"
        if status >= 500 or status in _RETRIED:
            raise DeliveryError(text)
        raise PermanentDeliveryError(text, code=status)

    @property
    def _where(self) -> str:
        return f"webhook {self.endpoint}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (a permanent failure), not a new place to POST to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _failure(err: object) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, http.client.RemoteDisconnected | ConnectionResetError):
        return "connection closed by the server"
    return f"connection failed ({type(err).__name__})"


def _check_url(value: object) -> tuple[str, str]:
    """The URL and its ``scheme://host[:port]`` (what may be shown)."""
    path = "WebhookChannel.url"
    expected = "an http:// or https:// URL"
    if not isinstance(value, str):
        raise ValidationError(path, expected, describe(value, personal=True))
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValidationError(path, expected, "a URL with spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(path, expected, "text that is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        got = f"a URL with scheme {scheme!r}" if scheme else "a URL without a scheme"
        raise ValidationError(path, expected, got)
    if not parts.hostname:
        raise ValidationError(path, expected, "a URL without a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(path, expected + " without user:password@", "a URL with credentials")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return value, f"{scheme}://{host}" + ("" if port is None else f":{port}")


def _check_secrets(value: object) -> tuple[bytes, ...]:
    if isinstance(value, str):
        return (_key(value, "WebhookChannel.secret"),)
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            "WebhookChannel.secret",
            "a secret 'whsec_<base64>' or a non-empty list of them",
            describe(value, personal=True),
        )
    return tuple(_key(item, f"WebhookChannel.secret[{n}]") for n, item in enumerate(value))


def _key(value: object, path: str) -> bytes:
    expected = "a secret 'whsec_<base64 of 24 to 64 bytes>'"
    if not isinstance(value, str):
        raise ValidationError(path, expected, describe(value, personal=True))
    if not value.startswith(_PREFIX):
        raise ValidationError(path, expected, "a secret without the 'whsec_' prefix")
    text = value[len(_PREFIX) :]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            path, expected, "a secret that is not base64 after 'whsec_'"
        ) from None
    if len(key) not in _KEY_BYTES:
        raise ValidationError(path, expected, f"a key of {len(key)} bytes")
    return key
