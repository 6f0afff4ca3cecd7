"""loopkit's test kit: what you need to unit-test code that uses loopkit.

- :class:`FakeClock`: a clock you move by hand (never backwards);
- builders :func:`make_customer`, :func:`make_touchpoint`, :func:`make_response`,
  and :func:`make_feed` for a seeded feed of many answers;
- :class:`Builders`: the same builders, answering at a clock's now;
- :func:`example_playbook`: the bundled example playbook;
- :class:`RecordingChannel`: keeps what it is sent, and fails on demand;
- :class:`StoreContract`: the conformance suite every store backend passes;
- :class:`ChannelContract`: the conformance suite every channel passes;
- :class:`WebhookReceiver` and :class:`SmtpReceiver`: real servers on
  127.0.0.1 that keep what they receive and fail when told to;
- ``loopkit.testing.strategies``: hypothesis strategies for every model value,
  also registered for ``st.from_type`` (hypothesis entry point);
- ``loopkit.testing.pytest_plugin``: the ``loopkit_*`` pytest fixtures
  (a loop with a fake clock and recording channels, builders), loaded by
  pytest through its ``pytest11`` entry point.

The contracts need pytest, the strategies hypothesis and the SMTP receiver
aiosmtpd and trustme (loopkit's ``dev`` extra); none is imported until used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .builders import (
    STOCKHOLM,
    Builders,
    example_playbook,
    make_customer,
    make_feed,
    make_response,
    make_touchpoint,
)
from .channels import RecordingChannel
from .clock import FakeClock

if TYPE_CHECKING:
    from .channel_contract import ChannelContract
    from .contracts import StoreContract
    from .smtp_receiver import SmtpReceiver
    from .webhook_receiver import WebhookReceiver

__all__ = [
    "STOCKHOLM",
    "Builders",
    "ChannelContract",
    "FakeClock",
    "RecordingChannel",
    "SmtpReceiver",
    "StoreContract",
    "WebhookReceiver",
    "example_playbook",
    "make_customer",
    "make_feed",
    "make_response",
    "make_touchpoint",
]


def __getattr__(name: str) -> Any:
    if name == "StoreContract":  # imports pytest: only when asked for
        from .contracts import StoreContract

        return StoreContract
    if name == "ChannelContract":  # imports pytest too
        from .channel_contract import ChannelContract

        return ChannelContract
    if name == "SmtpReceiver":  # imports aiosmtpd
        from .smtp_receiver import SmtpReceiver

        return SmtpReceiver
    if name == "WebhookReceiver":  # starts no server until made
        from .webhook_receiver import WebhookReceiver

        return WebhookReceiver
    raise AttributeError(f"module 'loopkit.testing' has no attribute {name!r}")
