"""The rules of working a case, as pure functions: attach, cancel follow-ups, recover."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import loopkit
from loopkit.policies import RecoveryPolicy
from loopkit.policies.casework import SYSTEM, attach, cancel_follow_ups, recover
from loopkit.testing import STOCKHOLM, make_customer

T = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
PLAYBOOK = {
    "version": 1,
    "calendars": {
        "support": {"timezone": "Europe/Stockholm", "hours": {"mon": "08:00-17:00"}},
    },
    "policies": [
        {
            "name": "low",
            "when": {"field": "response.category", "equals": "detractor"},
            "channels": ["phone"],
            "owner": "team:cx",
        }
    ],
    "recovery": {"owner": "team:recovery", "channels": ["phone"]},
}


def _case(**fields: object) -> loopkit.FollowUpCase:
    return loopkit.FollowUpCase.open(
        id="case-1", customer_id="c-1", at=T, by=SYSTEM, channel="phone", **fields
    )


def _message(id: str, purpose: str) -> loopkit.Message:
    return loopkit.Message(
        id=id,
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose=purpose,
        created_at=T,
        not_before=T,
    )


def _promise(due: datetime = T + timedelta(hours=2)) -> loopkit.Promise:
    return loopkit.Promise(
        id="p-1",
        case_id="case-1",
        customer_id="c-1",
        kind="call_back",
        made_by="emp-7",
        made_at=T,
        due_at=due,
    )


def test_attaching_to_a_resolved_case_reopens_it_first() -> None:
    resolved = _case().contact(at=T, by="emp-7").resolve(at=T, by="emp-7")
    later = T + timedelta(hours=1)
    case = attach(resolved, at=later, kind="response_attached", details={"response_id": "r-2"})
    assert case.state is loopkit.CaseState.OPEN
    assert [e.kind for e in case.events][-2:] == ["reopen", "response_attached"]
    assert case.events[-1].details == {"response_id": "r-2"}


def test_attaching_never_dates_an_event_before_the_last_one() -> None:
    case = attach(_case(), at=T - timedelta(days=1), kind="x", details={})
    assert case.events[-1].at == T


def test_only_pending_follow_ups_are_cancelled_each_with_an_event() -> None:
    pending = [_message("m-1", "follow_up"), _message("m-2", "apology")]
    case, cancelled = cancel_follow_ups(_case(), pending, at=T, why="customer_reached")
    assert [m.id for m in cancelled] == ["m-1"]
    assert cancelled[0].status is loopkit.MessageStatus.CANCELLED
    assert [e.details for e in case.events if e.kind == "message_cancelled"] == [
        {"message_id": "m-1", "reason": "customer_reached"}
    ]


def test_a_recovery_uses_the_decision_when_the_customer_is_known() -> None:
    policies = loopkit.load_playbook(PLAYBOOK).policies
    origin, promise = _case(), _promise()
    decision = policies.decide_recovery(promise, origin, make_customer("c-1"), T)
    done = recover(
        promise,
        origin,
        rules=policies.recovery,
        decision=decision,
        unclosed=None,
        new_id="case-2",
        at=T + timedelta(hours=3),
    )
    assert done.new and done.case.id == "case-2"
    assert done.case.owner == "team:recovery" and done.case.topic == "recovery"
    assert done.case.origin is loopkit.CaseOrigin.BROKEN_PROMISE
    assert done.channel == "phone" and done.data == {
        "promise_kind": "call_back",
        "ask": "when_it_suits",
    }
    assert done.origin is not None and done.origin.events[-1].kind == "promise_broken"


def test_a_second_broken_promise_escalates_the_unclosed_recovery_case() -> None:
    rules = RecoveryPolicy(require=frozenset({"apology", "call_back"}))
    unclosed = _case(topic="recovery", required_steps=frozenset({"apology"}))
    done = recover(
        _promise(),
        _case(),
        rules=rules,
        decision=None,
        unclosed=unclosed,
        new_id=None,
        at=T + timedelta(hours=3),
    )
    assert not done.new and done.case.id == unclosed.id
    assert done.case.escalation_level == 1
    assert done.case.required_steps == {"apology", "call_back"}
    assert done.origin is None  # the promise was made on the recovery case itself
    assert done.not_before == T + timedelta(hours=3)


def test_a_new_recovery_case_needs_an_id() -> None:
    with pytest.raises(loopkit.ValidationError):
        recover(
            _promise(),
            _case(),
            rules=RecoveryPolicy(),
            decision=None,
            unclosed=None,
            new_id=None,
            at=T,
        )


def test_a_built_event_is_appended_in_order_and_nothing_else_is() -> None:
    event = loopkit.CaseEvent(at=T + timedelta(hours=1), actor="emp-7", kind="note_added")
    case = _case().append(event, response_ids=("r-1",))
    assert case.events[-1] == event and case.response_ids == ("r-1",)
    with pytest.raises(loopkit.ValidationError) as info:
        case.append(loopkit.CaseEvent(at=T, actor="emp-7", kind="late"))
    assert info.value.problems[0].path == "at"
    with pytest.raises(loopkit.ValidationError):
        case.append("an event")  # type: ignore[arg-type]
