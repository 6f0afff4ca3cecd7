"""The outbox under random sequences of answers, ticks and casework, delivered by the
real SMTP and webhook channels to real servers on 127.0.0.1 whose next answers are
scripted (accepted, try later, refused for good, no answer in time, connection
dropped): every message ends sent, pending a retry, cancelled with a reason, or
dead-lettered, and no message is ever taken twice by a server."""

from __future__ import annotations

import contextlib
import random
import tomllib
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import loopkit
from loopkit import MessageStatus
from loopkit.channels import SmtpChannel, WebhookChannel
from loopkit.testing import (
    FakeClock,
    SmtpReceiver,
    WebhookReceiver,
    make_customer,
    make_response,
    make_touchpoint,
)
from loopkit.testing.webhook_receiver import Fault

PLAYBOOK = loopkit.load_playbook(
    tomllib.loads(
        """
version = 1

[[policies]]
name = "purchase-detractor-email"
when.all = [
  { field = "response.category", equals = "detractor" },
  { field = "touchpoint.kind", equals = "purchase" },
]
channels = ["email"]
owner = "team:ecommerce"

[[policies]]
name = "support-detractor-webhook"
when.all = [
  { field = "response.category", equals = "detractor" },
  { field = "touchpoint.kind", equals = "support_contact" },
]
channels = ["webhook"]
owner = "team:support"
"""
    )
)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MAX_ATTEMPTS = 3
CUSTOMERS = [
    make_customer(f"c-{i}", channels={"email": f"c{i}@example.com", "webhook": f"crm-{i}"})
    for i in range(6)
]
TIMEOUT = 0.5  # the channels' timeout: ample for a local server, even on a busy machine

SMTP_REPLIES = st.sampled_from([250, 421, 451, 452, 550, 554])
WEBHOOK_ANSWERS = st.sampled_from([204, 200, 500, 503, 429, 408, 400, 404, 410])


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self, smtp: SmtpReceiver, webhook: WebhookReceiver) -> None:
        super().__init__()
        self.smtp, self.webhook = smtp, webhook
        smtp.reset()
        webhook.reset()
        self.clock = FakeClock()
        channels = {
            "email": SmtpChannel(
                host=smtp.host,
                port=smtp.port,
                security="plain",
                from_address="cx@example.com",
                timeout=TIMEOUT,
            ),
            "webhook": WebhookChannel(url=webhook.url, secret=SECRET, timeout=TIMEOUT),
        }
        self.loop = loopkit.Loop(
            PLAYBOOK,
            plugins=[loopkit.ChannelPlugin(channels)],
            clock=self.clock,
            rng=random.Random(0),
            retry=loopkit.RetryPolicy(max_attempts=MAX_ATTEMPTS),
        )
        self.responses = 0

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        score=st.integers(0, 8),  # mostly detractors: most answers owe a message
        kind=st.sampled_from(["purchase", "support_contact"]),
    )
    def ingest(self, customer: loopkit.Customer, score: int, kind: str) -> None:
        self.responses += 1
        response = make_response(
            score,
            id=f"r-{self.responses}",
            customer_id=customer.id,
            answered_at=self.clock.now(),
            touchpoint=make_touchpoint(kind, occurred_at=self.clock.now()),
        )
        self.loop.ingest(response, customer=customer)

    @rule(reply=SMTP_REPLIES)
    def smtp_server_will_reply(self, reply: int) -> None:
        self.smtp.answer(reply)

    @rule()
    def smtp_server_will_not_reply_in_time(self) -> None:
        self.smtp.answer("timeout")

    @rule(status=WEBHOOK_ANSWERS)
    def webhook_server_will_answer(self, status: int) -> None:
        self.webhook.answer(status)

    @rule(fault=st.sampled_from(["timeout", "drop"]))
    def webhook_server_will_not_answer(self, fault: Fault) -> None:
        self.webhook.answer(fault)

    @rule(minutes=st.integers(0, 180))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule()
    def tick(self) -> None:
        self.loop.tick()

    @rule(minutes=st.integers(1, 120))
    def tick_later(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.loop.tick()

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data())
    def customer_reached(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        with contextlib.suppress(loopkit.IllegalTransition):
            self.loop.record_contact(case.id, "reached", by="emp")

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data(), resolved=st.booleans())
    def close(self, data: st.DataObject, resolved: bool) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        with contextlib.suppress(loopkit.IllegalTransition, loopkit.MissingStepError):
            self.loop.close(case.id, resolved=resolved, by="emp")

    def _receipts(self) -> dict[str, Counter[str]]:
        """Per channel, how often the server took each message (answered 2xx / 250)."""
        webhook = Counter(r.webhook_id or "" for r in self.webhook.accepted())
        email = Counter(
            (m.message_id or "").removeprefix("<").removesuffix("@example.com>")
            for m in self.smtp.accepted()
        )
        return {"email": email, "webhook": webhook}

    @invariant()
    def every_message_is_sent_pending_cancelled_with_a_reason_or_dead(self) -> None:
        for message in self.loop.messages():
            status = message.status
            if status is MessageStatus.SENT:
                assert message.sent_at is not None and message.next_attempt_at is None
            elif status is MessageStatus.PENDING:
                assert message.attempts < MAX_ATTEMPTS and message.sent_at is None
                assert (message.attempts == 0) == (message.last_error is None)
            elif status is MessageStatus.CANCELLED:
                assert message.sent_at is None
                case = self.loop.case(message.case_id)
                assert any(
                    e.kind == "message_cancelled"
                    and e.details["message_id"] == message.id
                    and e.details["reason"]
                    for e in case.events
                )
            else:
                assert status is MessageStatus.DEAD
                permanent = message.last_error == "PermanentDeliveryError"
                assert message.attempts == MAX_ATTEMPTS or permanent
                assert message.attempts <= MAX_ATTEMPTS

    @invariant()
    def no_message_is_taken_twice_and_every_taken_one_is_sent(self) -> None:
        receipts = self._receipts()
        for channel, taken in receipts.items():
            assert all(n == 1 for n in taken.values()), (channel, taken)
            sent = {
                m.id for m in self.loop.messages(status=MessageStatus.SENT) if m.channel == channel
            }
            assert set(taken) == sent, channel


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SmtpReceiver, WebhookReceiver]]:
    with SmtpReceiver(delay=2.0) as smtp, WebhookReceiver(delay=2.0) as webhook:
        yield smtp, webhook


def test_the_outbox_keeps_its_promises_over_real_channels_with_faults(
    servers: tuple[SmtpReceiver, WebhookReceiver],
) -> None:
    smtp, webhook = servers
    run_state_machine_as_test(
        lambda: OutboxMachine(smtp, webhook),
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
