"""What a channel is, and what it raises when a message was not sent (re-exported
by :mod:`loopkit.channels`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from loopkit.model import Message

__all__ = ["Channel", "DeliveryError", "PermanentDeliveryError", "SendTimeout"]


@runtime_checkable
class Channel(Protocol):
    """Delivers one message. Return normally when it was handed over; raise
    (any exception) when it was not: the loop records the error type, retries
    with backoff and finally dead-letters the message. It is never lost. Raise
    :class:`PermanentDeliveryError` when no retry can succeed (the provider
    rejected the message or the address): the message is dead-lettered at once.

    ``send`` runs in a worker thread of the loop (one per channel object, one
    send at a time) and must return within the retry policy's
    ``send_timeout`` (30 seconds by default), or the attempt counts as
    failed. The same message may be sent more than once (a crash after the
    send, or a timed-out send that went through): deduplicate by
    ``message.idempotency_key``.
    """

    def send(self, message: Message) -> None: ...


class DeliveryError(Exception):
    """A channel may raise this (or anything else) when a message could not be
    sent: the attempt failed and is retried with backoff, up to the retry
    policy's ``max_attempts``. Its text names no personal data."""

    __module__ = "loopkit.channels"


class PermanentDeliveryError(DeliveryError):
    """The message cannot be delivered, now or later: the provider refused it
    for good (an HTTP 4xx answer, an SMTP 5xx reply), the message has no usable
    address, or the channel is set up wrong. The loop dead-letters the message
    at once instead of retrying it.

    ``code`` is the server's status or reply code when there was one.

    >>> err = PermanentDeliveryError("the webhook answered 410", code=410)
    >>> err.code, isinstance(err, DeliveryError)
    (410, True)
    """

    __module__ = "loopkit.channels"

    def __init__(self, text: str, *, code: int | None = None) -> None:
        super().__init__(text)
        self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        return (_permanent, (str(self), self.code))


def _permanent(text: str, code: int | None) -> PermanentDeliveryError:
    return PermanentDeliveryError(text, code=code)


class SendTimeout(DeliveryError):
    """A send did not return within the retry policy's ``send_timeout`` (or the
    channel is still in such a send). The attempt counts as failed and is
    retried; the stuck send may still deliver the message."""

    __module__ = "loopkit.channels"
