"""The values the store contract writes and reads back: one case, message,
response record and signal record each, made the same way every time."""

from __future__ import annotations

from datetime import UTC, datetime

from loopkit.model import FollowUpCase, Message
from loopkit.stores import IngestOutcome, IngestRecord

from .builders import make_response, make_touchpoint

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _case(
    id: str = "case-1", customer_id: str = "c-1", topic: str = "t", at: datetime = T0
) -> FollowUpCase:
    return FollowUpCase.open(id=id, customer_id=customer_id, at=at, by="system", topic=topic)


def _message(id: str, not_before: datetime, case_id: str = "case-1") -> Message:
    return Message(
        id=id,
        case_id=case_id,
        customer_id="c-1",
        channel="email",
        purpose="follow_up",
        created_at=T0,
        not_before=not_before,
        address="someone@example.com",
    )


def _ingest(response_id: str = "r-1", customer_id: str = "c-1") -> IngestRecord:
    return IngestRecord(
        response=make_response(id=response_id, customer_id=customer_id),
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="p",
        reason="matched p",
        ingested_at=T0,
    )


def _signal(touchpoint_id: str = "t-1", customer_id: str = "c-1") -> IngestRecord:
    """A touchpoint ingested without a response (a cancellation, say)."""
    return IngestRecord(
        touchpoint=make_touchpoint(
            "cancellation", id=touchpoint_id, attributes={"plan": "fibre-100", "years": 7}
        ),
        customer_id=customer_id,
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="p",
        reason="matched p",
        ingested_at=T0,
    )


class _Boom(Exception):
    pass
