"""The ingest record of a touchpoint signal: its key, its JSON form, its checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from loopkit import ValidationError
from loopkit.stores import IngestOutcome, IngestRecord, signal_key
from loopkit.testing import make_response, make_touchpoint

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
OUTCOME: dict[str, Any] = {
    "outcome": IngestOutcome.NO_FOLLOW_UP,
    "case_id": None,
    "policy": None,
    "reason": "no policy matched",
    "ingested_at": T0,
}


def test_a_signal_record_round_trips_through_json_under_its_own_key() -> None:
    tp = make_touchpoint("cancellation", id="tp-9", attributes={"plan": "fibre"})
    record = IngestRecord(touchpoint=tp, customer_id="c-1", **OUTCOME)
    assert (record.key, record.response_id, record.customer_id) == ("touchpoint:tp-9", None, "c-1")
    assert record.key == signal_key("tp-9")
    data = json.loads(json.dumps(record.to_dict()))
    assert "response" not in data and data["customer_id"] == "c-1"
    back = IngestRecord.from_dict(data)
    assert back == record and back.touchpoint == tp


def test_a_response_record_keeps_its_key_and_form() -> None:
    record = IngestRecord(response=make_response(id="r-7", customer_id="c-2"), **OUTCOME)
    assert (record.key, record.response_id, record.customer_id) == ("r-7", "r-7", "c-2")
    assert record.touchpoint is None
    assert "touchpoint" not in record.to_dict() and "customer_id" not in record.to_dict()


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither a response nor a signal
        {"touchpoint": make_touchpoint()},  # a signal needs its customer
        {"customer_id": "c-1"},
        {"response": make_response(), "touchpoint": make_touchpoint()},
        {"response": make_response(), "customer_id": "c-1"},
    ],
)
def test_a_record_is_a_response_or_a_signal_never_both_or_neither(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        IngestRecord(**fields, **OUTCOME)
    assert caught.value.problems[0].path.startswith("IngestRecord")


def test_a_bad_signal_record_names_its_path() -> None:
    data = IngestRecord(
        touchpoint=make_touchpoint("cancellation"), customer_id="c-1", **OUTCOME
    ).to_dict()
    data["touchpoint"]["kind"] = "Cancel Now"
    data["customer_id"] = ""
    with pytest.raises(ValidationError) as caught:
        IngestRecord.from_dict(data)
    assert {p.path for p in caught.value.problems} == {
        "ingest.touchpoint.kind",
        "ingest.customer_id",
    }
