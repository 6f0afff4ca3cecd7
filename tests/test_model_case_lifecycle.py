"""A follow-up case moves only along its lifecycle, and its log tells the whole story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import loopkit
from loopkit import CaseState, FollowUpCase, IllegalTransition, MissingStepError, Transition
from loopkit.testing import strategies as lks

T = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
S = CaseState

# How to bring a fresh case into each state.
ROUTES: dict[CaseState, tuple[Transition, ...]] = {
    S.OPEN: (),
    S.IN_PROGRESS: (Transition.START,),
    S.CONTACTED: (Transition.CONTACT,),
    S.RESOLVED: (Transition.CONTACT, Transition.RESOLVE),
    S.UNRESOLVED: (Transition.FAIL,),
    S.CLOSED: (Transition.FAIL, Transition.CLOSE),
}

EXPECTED_TARGET = {
    Transition.START: S.IN_PROGRESS,
    Transition.CONTACT: S.CONTACTED,
    Transition.RESOLVE: S.RESOLVED,
    Transition.FAIL: S.UNRESOLVED,
    Transition.CLOSE: S.CLOSED,
    Transition.REOPEN: S.OPEN,
}

ALLOWED = {
    S.OPEN: {"start", "contact", "fail", "escalate"},
    S.IN_PROGRESS: {"contact", "fail", "escalate"},
    S.CONTACTED: {"contact", "resolve", "fail", "escalate"},
    S.RESOLVED: {"close", "reopen"},
    S.UNRESOLVED: {"close", "reopen"},
    S.CLOSED: {"reopen"},
}


def case_in(state: CaseState, **fields: object) -> FollowUpCase:
    case = FollowUpCase.open(id="k-1", customer_id="c-1", at=T, by="system", **fields)
    for move in ROUTES[state]:
        case = case.apply(move, at=T, by="emp-7")
    assert case.state is state
    return case


def test_the_lifecycle_table() -> None:
    assert {s: set(FollowUpCase.allowed_from(s)) for s in S} == ALLOWED


LEGAL = [(s, t) for s in S for t in FollowUpCase.allowed_from(s)]
ILLEGAL = [(s, t) for s in S for t in Transition if t not in FollowUpCase.allowed_from(s)]


@pytest.mark.parametrize(("state", "transition"), LEGAL, ids=str)
def test_every_legal_transition(state: CaseState, transition: Transition) -> None:
    case = case_in(state)
    later = T + timedelta(minutes=5)
    moved = case.apply(transition, at=later, by="emp-7", note="done")
    assert moved.state is EXPECTED_TARGET.get(transition, state)
    assert moved.events[:-1] == case.events
    event = moved.events[-1]
    assert (event.kind, event.at, event.actor, event.note) == (
        transition.value,
        later,
        "emp-7",
        "done",
    )
    if transition is Transition.ESCALATE:
        assert moved.escalation_level == case.escalation_level + 1
    else:
        assert dict(event.details) == {"from": state.value, "to": moved.state.value}
    assert case.state is state  # the original is untouched


@pytest.mark.parametrize(("state", "transition"), ILLEGAL, ids=str)
def test_every_illegal_transition_names_state_and_move(
    state: CaseState, transition: Transition
) -> None:
    case = case_in(state)
    with pytest.raises(IllegalTransition) as info:
        case.apply(transition, at=T, by="emp-7")
    err = info.value
    assert type(err) is IllegalTransition
    assert err.state == state.value
    assert err.transition == transition.value
    assert set(err.allowed) == ALLOWED[state]
    assert f"cannot {transition.value} a case that is {state.value}" in str(err)
    method = getattr(case, transition.value)
    with pytest.raises(IllegalTransition):
        method(at=T, by="emp-7")


def test_an_unknown_transition_is_a_validation_error() -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        case_in(S.OPEN).apply("teleport", at=T, by="emp-7")
    assert info.value.path == "transition"
    assert "start" in info.value.expected


def test_resolve_waits_for_required_steps() -> None:
    case = case_in(S.CONTACTED, required_steps={"apology", "callback"})
    with pytest.raises(MissingStepError) as info:
        case.resolve(at=T, by="emp-7")
    assert info.value.missing == ("apology", "callback")
    assert (info.value.state, info.value.transition) == ("contacted", "resolve")
    assert "apology" in str(info.value)
    case = case.complete_step("apology", at=T, by="emp-7")
    with pytest.raises(MissingStepError) as info:
        case.resolve(at=T, by="emp-7")
    assert info.value.missing == ("callback",)
    case = case.complete_step("callback", at=T, by="emp-7")
    assert case.missing_steps == frozenset()
    assert case.resolve(at=T, by="emp-7").state is S.RESOLVED


def test_reopen_clears_completed_steps() -> None:
    case = case_in(S.CONTACTED, required_steps={"apology"})
    case = case.complete_step("apology", at=T, by="emp-7").resolve(at=T, by="emp-7")
    assert case.completed_steps == {"apology"}
    reopened = case.reopen(at=T, by="emp-7")
    assert reopened.state is S.OPEN
    assert reopened.completed_steps == frozenset()
    assert reopened.missing_steps == {"apology"}
    with pytest.raises(MissingStepError):
        reopened.contact(at=T, by="emp-7").resolve(at=T, by="emp-7")


def test_a_step_cannot_be_recorded_on_a_closed_case() -> None:
    with pytest.raises(IllegalTransition) as info:
        case_in(S.CLOSED).complete_step("apology", at=T, by="emp-7")
    assert info.value.state == "closed"


def test_escalate_raises_the_level_and_changes_the_owner() -> None:
    case = case_in(S.IN_PROGRESS, owner="emp-7")
    once = case.escalate(at=T, by="system", to="lead-1")
    assert (once.escalation_level, once.owner, once.state) == (1, "lead-1", S.IN_PROGRESS)
    assert once.events[-1].details["level"] == 1
    twice = once.escalate(at=T, by="system", to="head-1")
    assert (twice.escalation_level, twice.owner) == (2, "head-1")
    kept = twice.escalate(at=T, by="system")
    assert (kept.escalation_level, kept.owner) == (3, "head-1")


def test_recording_an_event_earlier_than_the_last_is_refused() -> None:
    case = case_in(S.OPEN).contact(at=T + timedelta(hours=1), by="emp-7")
    with pytest.raises(loopkit.ValidationError) as info:
        case.add_note("late", at=T + timedelta(minutes=59), by="emp-7")
    assert info.value.path == "at"
    assert "not before" in info.value.expected
    same_time = case.add_note("same", at=T + timedelta(hours=1), by="emp-7")
    assert len(same_time.events) == 3


def test_event_order_is_real_time_through_a_dst_fold() -> None:
    """02:50 on the first pass through the fall-back hour is *before* 02:10 on the second."""
    zone = ZoneInfo("Europe/Stockholm")
    first = datetime(2026, 10, 25, 2, 50, tzinfo=zone)
    second = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=zone)
    assert second.astimezone(UTC) > first.astimezone(UTC)
    case = FollowUpCase.open(id="k-1", customer_id="c-1", at=first, by="system")
    case = case.contact(at=second, by="emp-7")
    assert loopkit.FollowUpCase.from_dict(case.to_dict()) == case
    with pytest.raises(loopkit.ValidationError):
        case.add_note("earlier", at=datetime(2026, 10, 25, 2, 55, tzinfo=zone), by="emp-7")


def test_the_log_is_a_tuple_and_values_are_frozen() -> None:
    case = case_in(S.CONTACTED)
    assert isinstance(case.events, tuple)
    with pytest.raises(AttributeError):
        case.state = S.CLOSED  # type: ignore[misc]


# -- properties over any history -------------------------------------------------


def replayed_state(case: FollowUpCase) -> CaseState:
    state = S.OPEN
    for event in case.events:
        if event.kind in EXPECTED_TARGET:
            assert event.details["from"] == state.value
            state = CaseState(event.details["to"])
    return state


@settings(max_examples=60, deadline=None)
@given(lks.cases())
def test_any_reachable_case_agrees_with_its_log(case: FollowUpCase) -> None:
    assert case.state is replayed_state(case)
    assert case.escalation_level == sum(e.kind == "escalate" for e in case.events)
    assert case.events[0].kind == "opened"
    instants = [e.at.astimezone(UTC) for e in case.events]
    assert instants == sorted(instants)


class CaseLifecycle(RuleBasedStateMachine):
    """Random moves, legal and illegal, on one case whose clock crosses a DST fold."""

    def __init__(self) -> None:
        super().__init__()
        self.zone = ZoneInfo("Europe/Stockholm")
        self.now = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 local, fold at 02:00-03:00
        self.case = FollowUpCase.open(
            id="k-1", customer_id="c-1", at=self.at(), by="system", required_steps={"apology"}
        )
        self.history = [self.case]

    def at(self) -> datetime:
        return self.now.astimezone(self.zone)

    def commit(self, case: FollowUpCase) -> None:
        self.case = case
        self.history.append(case)

    @rule(transition=st.sampled_from(Transition), minutes=st.integers(0, 45))
    def move(self, transition: Transition, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        before = self.case
        if transition not in FollowUpCase.allowed_from(before.state):
            with pytest.raises(IllegalTransition) as info:
                before.apply(transition, at=self.at(), by="emp-7")
            assert (info.value.state, info.value.transition) == (
                before.state.value,
                transition.value,
            )
        elif transition is Transition.RESOLVE and before.missing_steps:
            with pytest.raises(MissingStepError):
                before.apply(transition, at=self.at(), by="emp-7")
        elif transition is Transition.ESCALATE:
            self.commit(before.escalate(at=self.at(), by="system", to=f"lead-{len(self.history)}"))
            assert self.case.owner == f"lead-{len(self.history) - 1}"
        else:
            self.commit(before.apply(transition, at=self.at(), by="emp-7"))

    @precondition(lambda self: not self.case.is_closed)
    @rule(minutes=st.integers(0, 45))
    def apologise(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.commit(self.case.complete_step("apology", at=self.at(), by="emp-7"))

    @rule(minutes=st.integers(0, 45))
    def note(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.commit(self.case.add_note("a note", at=self.at(), by="emp-7"))

    @invariant()
    def state_is_what_the_log_says(self) -> None:
        assert self.case.state is replayed_state(self.case)

    @invariant()
    def the_log_only_grows(self) -> None:
        for older, newer in zip(self.history, self.history[1:], strict=False):
            assert newer.events[: len(older.events)] == older.events
            assert len(newer.events) == len(older.events) + 1

    @invariant()
    def escalation_level_counts_escalations(self) -> None:
        assert self.case.escalation_level == sum(e.kind == "escalate" for e in self.case.events)

    @invariant()
    def steps_count_since_the_last_reopen(self) -> None:
        since = 0
        for i, event in enumerate(self.case.events):
            if event.kind == "reopen":
                since = i
        done = {str(e.details["step"]) for e in self.case.events[since:] if e.kind == "step"}
        assert self.case.completed_steps == done

    @invariant()
    def round_trips(self) -> None:
        assert FollowUpCase.from_dict(self.case.to_dict()) == self.case


CaseLifecycle.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
test_case_lifecycle = CaseLifecycle.TestCase
