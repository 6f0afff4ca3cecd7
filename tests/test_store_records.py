"""Ingest records and timers survive a to_dict/from_dict round trip, and bad
input names its path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from loopkit import ValidationError
from loopkit.stores import IngestOutcome, IngestRecord, LaterTimer, Timer, TimerKind
from loopkit.testing import make_response

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_timer_round_trips_through_json_with_its_later_rows() -> None:
    timer = Timer(
        id="case-1",
        case_id="case-1",
        kind=TimerKind.WARNING,
        due_at=T0,
        later=(
            LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=4)),
            LaterTimer(
                kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=8), level=1, to="team:leads"
            ),
        ),
    )
    data = json.loads(json.dumps(timer.to_dict()))
    assert data["later"][1] == {
        "kind": "escalation",
        "due_at": "2026-11-24T17:00:00+00:00",
        "level": 1,
        "to": "team:leads",
    }
    assert Timer.from_dict(data) == timer
    assert all(isinstance(step, LaterTimer) for step in Timer.from_dict(data).later)


def test_timer_reads_the_unnamed_later_rows_earlier_releases_wrote() -> None:
    data = {
        "id": "case-1",
        "case_id": "case-1",
        "kind": "warning",
        "due_at": "2026-11-24T09:00:00+00:00",
        "level": 0,
        "to": None,
        "later": [
            ["breach", "2026-11-24T13:00:00+00:00", 0, None],
            ["escalation", "2026-11-24T17:00:00+01:00", 1, "team:leads"],
        ],
    }
    timer = Timer.from_dict(data)
    assert timer.later == (
        LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=4)),
        LaterTimer(
            kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=7), level=1, to="team:leads"
        ),
    )
    assert timer.to_dict()["later"][0] == {
        "kind": "breach",
        "due_at": "2026-11-24T13:00:00+00:00",
        "level": 0,
        "to": None,
    }


def test_a_timer_refuses_later_rows_that_are_not_named_values() -> None:
    with pytest.raises(ValidationError) as caught:
        Timer(
            id="case-1",
            case_id="case-1",
            kind=TimerKind.WARNING,
            due_at=T0,
            later=(("breach", T0, 0, None),),  # type: ignore[arg-type]
        )
    assert caught.value.path == "Timer.later[0]"
    assert caught.value.expected == "a LaterTimer"


def test_timer_following_walks_the_ladder_in_order() -> None:
    timer = Timer(
        id="case-1",
        case_id="case-1",
        kind=TimerKind.BREACH,
        due_at=T0,
        later=(
            LaterTimer(
                kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=4), level=1, to="team:leads"
            ),
            LaterTimer(
                kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=8), level=2, to="team:heads"
            ),
        ),
    )
    first = timer.following()
    assert first is not None
    assert (first.kind, first.level, first.to, first.id) == (
        TimerKind.ESCALATION,
        1,
        "team:leads",
        "case-1",
    )
    second = first.following()
    assert second is not None
    assert (second.level, second.to, second.later) == (2, "team:heads", ())
    assert second.following() is None


def test_a_bad_timer_row_names_its_path() -> None:
    data = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0).to_dict()
    data["later"] = [{"kind": "soon", "due_at": T0.isoformat(), "level": 0, "to": None}]
    with pytest.raises(ValidationError) as caught:
        Timer.from_dict(data)
    assert caught.value.problems[0].path == "timer.later[0].kind"
    data["later"] = [["soon", T0.isoformat(), 0, None]]  # the old row form, as bad
    with pytest.raises(ValidationError) as caught:
        Timer.from_dict(data)
    assert caught.value.problems[0].path == "timer.later[0].kind"
    data["later"] = [["breach", T0.isoformat()]]  # a row of the wrong length
    with pytest.raises(ValidationError) as caught:
        Timer.from_dict(data)
    assert caught.value.problems[0].path == "timer.later[0]"


def test_ingest_record_round_trips_through_json() -> None:
    record = IngestRecord(
        response=make_response(score=2),
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="support-detractor-callback",
        reason="matched",
        ingested_at=T0,
    )
    assert IngestRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_a_bad_ingest_record_names_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        IngestRecord.from_dict(
            {
                "response": make_response().to_dict(),
                "outcome": "kept",
                "case_id": None,
                "policy": None,
                "reason": "x",
                "ingested_at": T0.isoformat(),
            }
        )
    assert caught.value.problems[0].path == "ingest.outcome"
