"""The engine under random sequences of operations keeps its invariants."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import loopkit
from loopkit.testing import (
    FakeClock,
    RecordingChannel,
    make_customer,
    make_response,
    make_touchpoint,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
PLAYBOOK = loopkit.load_playbook(EXAMPLE)
CUSTOMERS = [make_customer(f"c-{i}") for i in range(3)]
KINDS = ["support_contact", "purchase", "cancellation", "delivery", "store_visit"]


class LoopMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.phone = RecordingChannel()
        self.email = RecordingChannel()
        self.loop = loopkit.Loop(
            PLAYBOOK,
            plugins=[loopkit.ChannelPlugin({"phone": self.phone, "email": self.email})],
            clock=self.clock,
            rng=random.Random(0),
            retry=loopkit.RetryPolicy(max_attempts=3),
        )
        self.responses = 0

    def _case_ids(self) -> list[str]:
        return [c.id for c in self.loop.cases()]

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        score=st.integers(0, 10),
        kind=st.sampled_from(KINDS),
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
        result = self.loop.ingest(response, customer=customer)
        again = self.loop.ingest(response, customer=customer)
        assert again.replayed
        assert again.outcome == result.outcome

    @rule(minutes=st.integers(0, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule()
    def tick(self) -> None:
        self.loop.tick()

    @rule(fail=st.booleans())
    def phone_line(self, fail: bool) -> None:
        self.phone.always_fail = fail

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data(), reached=st.booleans())
    def contact(self, data: st.DataObject, reached: bool) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        outcome = "reached" if reached else "no_answer"
        try:
            self.loop.record_contact(case.id, outcome, by="emp")
        except loopkit.IllegalTransition:
            assert not case.is_active

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data(), resolved=st.booleans())
    def close(self, data: st.DataObject, resolved: bool) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        with contextlib.suppress(loopkit.IllegalTransition):
            self.loop.close(case.id, resolved=resolved, by="emp")

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data())
    def reopen(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        try:
            self.loop.reopen(case.id, by="emp")
        except loopkit.IllegalTransition:
            assert case.is_active
        except loopkit.ConflictError:
            assert any(
                c.topic == case.topic and c.customer_id == case.customer_id and not c.is_closed
                for c in self.loop.cases()
                if c.id != case.id
            )

    @precondition(lambda self: self.loop.cases())
    @rule(data=st.data(), hours=st.integers(0, 30))
    def promise(self, data: st.DataObject, hours: int) -> None:
        case = data.draw(st.sampled_from(self.loop.cases()))
        self.loop.promise(
            case.id, "call_back", due_at=self.clock.now() + timedelta(hours=hours), by="emp"
        )

    @invariant()
    def at_most_one_unclosed_case_per_customer_and_topic(self) -> None:
        unclosed = Counter((c.customer_id, c.topic) for c in self.loop.cases() if not c.is_closed)
        assert all(n == 1 for n in unclosed.values()), unclosed

    @invariant()
    def a_case_is_in_exactly_the_state_its_log_says(self) -> None:
        for case in self.loop.cases():
            moves = [e for e in case.events if "to" in e.details and e.kind != "escalate"]
            expected = moves[-1].details["to"] if moves else "open"
            assert case.state.value == expected
            assert case.is_closed != case.is_active or case.state.value in (
                "resolved",
                "unresolved",
            )
            times = [e.at for e in case.events]
            assert times == sorted(times)

    @invariant()
    def no_breach_is_earlier_than_its_deadline(self) -> None:
        for case in self.loop.cases():
            for event in case.events:
                if event.kind == "deadline_breached":
                    assert case.due_at is not None
                    assert event.at >= case.due_at

    @invariant()
    def every_message_is_sent_pending_dead_or_cancelled_with_a_reason(self) -> None:
        for message in self.loop.messages():
            status = message.status
            if status is loopkit.MessageStatus.SENT:
                assert message.sent_at is not None
            elif status is loopkit.MessageStatus.PENDING:
                assert message.attempts < 3
            elif status is loopkit.MessageStatus.CANCELLED:  # reached first, or closed
                assert message.purpose == "follow_up" and message.sent_at is None
                case = self.loop.case(message.case_id)
                assert any(
                    e.kind == "message_cancelled" and e.details["message_id"] == message.id
                    for e in case.events
                )
            else:
                assert status is loopkit.MessageStatus.DEAD
                assert message.attempts == 3
        delivered = {m.id for m in self.phone.sent + self.email.sent}
        sent = {m.id for m in self.loop.messages(status=loopkit.MessageStatus.SENT)}
        assert delivered == sent


TestLoopMachine = LoopMachine.TestCase
TestLoopMachine.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
