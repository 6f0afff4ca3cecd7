"""Hypothesis strategies for the loop's own records: follow-up cases reached
through legal moves, their log entries, promises and outbox messages."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Final

from hypothesis import strategies as st

from loopkit import (
    CaseEvent,
    CaseOrigin,
    CaseState,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    PromiseStatus,
    Transition,
)
from loopkit.model import CHANNELS

from ._strategies_basics import (
    _CONTROL_FREE,
    attributes,
    aware_datetimes,
    comments,
    ids,
    slugs,
    timezones,
)

_EVENT_KINDS: Final = frozenset({*(t.value for t in Transition), "opened", "note", "step"})


def case_events() -> st.SearchStrategy[CaseEvent]:
    """Single log entries, with any kind, note and details."""
    return st.builds(
        CaseEvent,
        at=aware_datetimes(),
        actor=ids(),
        kind=slugs(known=_EVENT_KINDS),
        note=st.none() | comments(),
        details=attributes(),
    )


_STEPS: Final = ("apology", "callback", "refund_offer")


@st.composite
def cases(draw: st.DrawFn, *, max_moves: int = 12) -> FollowUpCase:
    """Follow-up cases reached from :meth:`FollowUpCase.open` through up to
    ``max_moves`` legal moves (transitions, steps, notes), in time order."""
    zone = draw(timezones())
    opened = draw(aware_datetimes(zones=st.just(zone)))
    case = FollowUpCase.open(
        id=draw(ids()),
        customer_id=draw(ids()),
        at=opened,
        by=draw(ids()),
        note=draw(st.none() | comments()),
        origin=draw(st.sampled_from(CaseOrigin)),
        policy=draw(st.none() | ids()),
        topic=draw(st.none() | ids()),
        owner=draw(st.none() | ids()),
        channel=draw(st.none() | slugs(known=CHANNELS)),
        due_at=draw(st.none() | aware_datetimes()),
        response_ids=draw(st.lists(ids(), max_size=3)),
        required_steps=draw(st.frozensets(st.sampled_from(_STEPS), max_size=2)),
    )
    # Move forward in real time (UTC), then show each instant in the case's zone.
    instant = opened.astimezone(UTC)
    for _ in range(draw(st.integers(0, max_moves))):
        instant += draw(st.timedeltas(timedelta(0), timedelta(days=3)))
        at = instant.astimezone(zone)
        by = draw(ids())
        note = draw(st.none() | comments(max_size=40))
        moves: list[str] = [t.value for t in FollowUpCase.allowed_from(case.state)]
        if case.missing_steps and Transition.RESOLVE.value in moves:
            moves.remove(Transition.RESOLVE.value)
        if case.state is not CaseState.CLOSED:
            moves.append("step")
        moves.append("note")
        move = draw(st.sampled_from(moves))
        if move == "note":
            case = case.add_note(note or "-", at=at, by=by)
        elif move == "step":
            step = draw(st.sampled_from(sorted(case.missing_steps) or _STEPS))
            case = case.complete_step(step, at=at, by=by, note=note)
        elif move == Transition.ESCALATE.value:
            case = case.escalate(at=at, by=by, to=draw(st.none() | ids()), note=note)
        else:
            case = case.apply(move, at=at, by=by, note=note)
    return case


_PROMISE_KINDS: Final = frozenset({"call_back", "send_offer", "send_return_label"})


def promises() -> st.SearchStrategy[Promise]:
    """Promises in any state, made and due at any times (settled ones with a time)."""
    return st.sampled_from(PromiseStatus).flatmap(
        lambda status: st.builds(
            Promise,
            id=ids(),
            case_id=ids(),
            customer_id=ids(),
            kind=slugs(known=_PROMISE_KINDS),
            made_by=ids(),
            made_at=aware_datetimes(),
            due_at=aware_datetimes(),
            status=st.just(status),
            settled_at=st.none()
            if status is PromiseStatus.PENDING
            else aware_datetimes() | st.none(),
        )
    )


_PURPOSES: Final = frozenset({"follow_up", "apology", "escalation"})


def messages() -> st.SearchStrategy[Message]:
    """Outbox messages in any state: pending, retried, sent or dead."""
    return st.builds(
        Message,
        id=ids(),
        case_id=ids(),
        customer_id=ids(),
        channel=slugs(known=CHANNELS),
        purpose=slugs(known=_PURPOSES),
        created_at=aware_datetimes(),
        not_before=aware_datetimes(),
        address=st.none() | st.text(_CONTROL_FREE, min_size=1, max_size=80),
        data=attributes(),
        status=st.sampled_from(MessageStatus),
        attempts=st.integers(0, 20),
        next_attempt_at=st.none() | aware_datetimes(),
        last_error=st.none() | st.sampled_from(["DeliveryError", "TimeoutError", "LookupError"]),
        sent_at=st.none() | aware_datetimes(),
    )
