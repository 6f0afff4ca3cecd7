"""Promises and outbox messages survive ``from_dict(m.to_dict()) == m``, through JSON
too, and bad input is reported with its path and without the address."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings

import loopkit
from loopkit import Message, MessageStatus, Promise, PromiseStatus, ValidationError
from loopkit.testing import strategies as lks

FAST = settings(max_examples=80, deadline=None)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)


def _round_trip(value: Any, read: Any) -> None:
    data = value.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert read(data) == value
    assert read(json.loads(json.dumps(data))) == value


def _promise(**changes: Any) -> Promise:
    promise = Promise(
        id="p-1",
        case_id="case-1",
        customer_id="c-1",
        kind="call_back",
        made_by="emp-7",
        made_at=T0,
        due_at=T0 + timedelta(hours=1),
    )
    return attrs.evolve(promise, **changes)


def _message(**changes: Any) -> Message:
    message = Message(
        id="msg-1",
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="follow_up",
        created_at=T0,
        not_before=T0 + timedelta(hours=2),
        address="+46701234567",
        data={"owner": "emp-7", "due_at": "2026-11-23T11:30:00+01:00", "tags": ["a", "b"]},
    )
    return attrs.evolve(message, **changes)


# -- round trips ---------------------------------------------------------------


@FAST
@given(lks.promises())
def test_any_promise_round_trips(promise: Promise) -> None:
    _round_trip(promise, Promise.from_dict)


@FAST
@given(lks.messages())
def test_any_message_round_trips(message: Message) -> None:
    _round_trip(message, Message.from_dict)


def test_a_pending_promise_round_trips() -> None:
    _round_trip(_promise(), Promise.from_dict)


def test_a_broken_promise_round_trips_with_its_settling_time() -> None:
    broken = _promise(status=PromiseStatus.BROKEN, settled_at=T0 + timedelta(hours=2))
    _round_trip(broken, Promise.from_dict)
    assert Promise.from_dict(broken.to_dict()).status is PromiseStatus.BROKEN


def test_a_message_round_trips_with_its_address_and_data() -> None:
    message = _message()
    _round_trip(message, Message.from_dict)
    back = Message.from_dict(message.to_dict())
    assert back.address == "+46701234567"
    assert back.data["tags"] == ("a", "b")


def test_a_dead_letter_round_trips() -> None:
    dead = _message(status=MessageStatus.DEAD, attempts=5, last_error="DeliveryError")
    _round_trip(dead, Message.from_dict)


def test_a_retry_and_a_sent_time_round_trip() -> None:
    retry = _message(attempts=2, next_attempt_at=T0 + timedelta(hours=3), last_error="OSError")
    sent = _message(status=MessageStatus.SENT, attempts=3, sent_at=T0 + timedelta(hours=4))
    _round_trip(retry, Message.from_dict)
    _round_trip(sent, Message.from_dict)


def test_the_same_instant_in_another_zone_is_the_same_message() -> None:
    assert _message() == _message(created_at=T0.astimezone(UTC), not_before=T0 + timedelta(hours=2))


def test_optional_fields_may_be_left_out() -> None:
    data = {k: v for k, v in _promise().to_dict().items() if k not in ("status", "settled_at")}
    assert Promise.from_dict(data) == _promise()
    minimal = {
        k: v
        for k, v in _message(address=None, data={}).to_dict().items()
        if k in ("id", "case_id", "customer_id", "channel", "purpose", "created_at", "not_before")
    }
    assert Message.from_dict(minimal) == _message(address=None, data={})


def test_both_are_exported() -> None:
    assert loopkit.Promise is Promise and loopkit.Message is Message


# -- errors ----------------------------------------------------------------------


def _problems(read: Any, data: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        read(data)
    return {p.path: str(p) for p in info.value.problems}


def test_every_problem_in_a_promise_is_reported_with_its_path() -> None:
    data = _promise().to_dict() | {
        "kind": "Call Back",
        "made_at": "yesterday",
        "due_at": "2026-11-20T12:00:00",
        "status": "forgotten",
        "made_by": "",
    }
    del data["case_id"]
    data["promised"] = True
    found = _problems(Promise.from_dict, data)
    assert set(found) == {
        "promise.kind",
        "promise.made_at",
        "promise.due_at",
        "promise.status",
        "promise.made_by",
        "promise.case_id",
        "promise.promised",
    }
    # not one of the statuses: described, never echoed (it could be anything)
    assert "got a str of 9 characters" in found["promise.status"]
    assert "pending" in found["promise.status"]


def test_a_naive_due_time_is_a_business_time_error() -> None:
    data = _promise().to_dict() | {"due_at": "2026-11-20T12:00:00"}
    with pytest.raises(loopkit.BusinessTimeError):
        Promise.from_dict(data)


def test_every_problem_in_a_message_is_reported_with_its_path() -> None:
    data = _message().to_dict() | {
        "purpose": "",
        "attempts": -2,
        "status": "lost",
        "data": {"owner": {"nested": 1}},
        "next_attempt_at": 17,
    }
    found = _problems(Message.from_dict, data)
    assert set(found) == {
        "message.purpose",
        "message.attempts",
        "message.status",
        "message.data.owner",
        "message.next_attempt_at",
    }


def test_a_message_error_never_shows_the_address() -> None:
    secret = "anna.andersson@example.com" * 20  # too long for an address
    data = _message().to_dict() | {"address": secret, "attempts": "x"}
    with pytest.raises(ValidationError) as info:
        Message.from_dict(data)
    assert "anna" not in str(info.value)
    assert {p.path for p in info.value.problems} == {"message.address", "message.attempts"}


def test_a_message_that_is_not_a_table_is_one_problem() -> None:
    assert list(_problems(Message.from_dict, ["msg-1"])) == ["message"]
    assert list(_problems(Promise.from_dict, "p-1")) == ["promise"]


def test_the_path_can_be_placed_under_a_parent() -> None:
    data = _message().to_dict() | {"attempts": 1.5}
    assert list(_problems(lambda d: Message.from_dict(d, "outbox[3]"), data)) == [
        "outbox[3].attempts"
    ]
