"""Channels deliver the loop's outgoing messages: a call task, an e-mail, an SMS.

A channel is any object with ``send(message) -> None`` that raises on failure.
Register channels from a plugin with the ``loopkit_register_channels`` hook::

    class MyChannels:
        @loopkit.hookimpl
        def loopkit_register_channels(self, register):
            register("sms", MySmsGateway())

loopkit ships three: :class:`ConsoleChannel` (prints a line),
:class:`SmtpChannel` (e-mail over SMTP) and :class:`WebhookChannel` (a signed
HTTP POST, as the Standard Webhooks specification says). A channel raises
:class:`DeliveryError` for a failure worth retrying and
:class:`PermanentDeliveryError` for one that is not (dead-lettered at once).

Delivery is *at least once*: the loop records a message as sent only after
``send`` returns, so a crash (or a send that timed out but went through after
all) between the two means the message is sent again later. Every send of one
message carries the same ``message.idempotency_key`` (the message id): pass
it to a provider that deduplicates (an ``Idempotency-Key`` header), or keep
the keys you have sent and skip a repeat.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TextIO

from loopkit.hooks import hookimpl
from loopkit.model import Message

from ._protocol import Channel, DeliveryError, PermanentDeliveryError, SendTimeout
from .smtp import SmtpChannel
from .webhook import WebhookChannel

__all__ = [
    "Channel",
    "ChannelPlugin",
    "ConsoleChannel",
    "DeliveryError",
    "PermanentDeliveryError",
    "SendTimeout",
    "SmtpChannel",
    "WebhookChannel",
]


class ConsoleChannel:
    """Prints one line per message; personal data redacted unless asked.

    A message whose ``idempotency_key`` it printed recently (among the last
    ``remember`` keys, 10,000 by default) is not printed again: a retry after
    a timed-out send returns normally and prints nothing.

    >>> import io
    >>> out = io.StringIO()
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    >>> msg = Message(id="m-1", case_id="case-1", customer_id="c-1", channel="phone",
    ...               purpose="follow_up", created_at=t, not_before=t, address="+4670123")
    >>> console = ConsoleChannel(stream=out)
    >>> console.send(msg); console.send(msg)
    >>> out.getvalue()
    '[phone] follow_up for c-1 (case case-1) to <redacted>\\n'
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        show_personal_data: bool = False,
        remember: int = 10_000,
    ) -> None:
        self._stream = stream
        self._show = show_personal_data
        self._remember = remember
        self._printed: dict[str, None] = {}  # keys in the order printed, oldest first

    def __repr__(self) -> str:
        return f"ConsoleChannel(show_personal_data={self._show})"

    def send(self, message: Message) -> None:
        key = message.idempotency_key
        if key in self._printed:
            return
        address = message.address if self._show else "<redacted>"
        stream = self._stream or sys.stdout
        print(
            f"[{message.channel}] {message.purpose} for {message.customer_id} "
            f"(case {message.case_id}) to {address}",
            file=stream,
        )
        self._printed[key] = None
        if len(self._printed) > self._remember:
            del self._printed[next(iter(self._printed))]


class ChannelPlugin:
    """A plugin that registers the given channels by name.

    >>> plugin = ChannelPlugin({"phone": ConsoleChannel(), "email": ConsoleChannel()})
    """

    def __init__(self, channels: dict[str, Channel] | Iterable[tuple[str, Channel]]) -> None:
        self.channels = dict(channels)

    @hookimpl
    def loopkit_register_channels(self, register: Callable[[str, Channel], None]) -> None:
        for name, channel in self.channels.items():
            register(name, channel)
