"""A channel for tests: it keeps what it is sent and fails when told to."""

from __future__ import annotations

import attrs

from loopkit.channels import DeliveryError
from loopkit.model import Message

__all__ = ["RecordingChannel"]


@attrs.define
class RecordingChannel:
    """Keeps every message it delivers, for tests; can be told to fail.

    It behaves as a channel should (it passes
    :class:`~loopkit.testing.ChannelContract`): ``sent`` holds each message
    once, in the order first delivered; a message whose
    ``idempotency_key`` was delivered before returns normally without being
    kept again (``repeats`` counts those). ``attempts`` counts every call to
    ``send``. ``fail_times`` makes the next N sends raise
    :class:`~loopkit.channels.DeliveryError`; ``always_fail`` makes every
    send raise. A failed send delivers nothing, so its retry is delivered.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    >>> msg = Message(id="m-1", case_id="case-1", customer_id="c-1", channel="phone",
    ...               purpose="follow_up", created_at=t, not_before=t)
    >>> phone = RecordingChannel(fail_times=1)
    >>> phone.send(msg)
    Traceback (most recent call last):
    ...
    loopkit.channels.DeliveryError: recording channel told to fail
    >>> phone.send(msg); phone.send(msg)
    >>> [m.id for m in phone.sent], phone.attempts, phone.repeats
    (['m-1'], 3, 1)
    """

    sent: list[Message] = attrs.field(factory=list)
    attempts: int = 0
    fail_times: int = 0
    always_fail: bool = False
    repeats: int = 0
    _keys: set[str] = attrs.field(factory=set, init=False, repr=False, eq=False)

    def send(self, message: Message) -> None:
        self.attempts += 1
        if self.always_fail or self.fail_times > 0:
            self.fail_times = max(0, self.fail_times - 1)
            raise DeliveryError("recording channel told to fail")
        key = message.idempotency_key
        if key in self._keys:
            self.repeats += 1
            return
        self._keys.add(key)
        self.sent.append(message)
