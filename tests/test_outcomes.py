"""Outcomes: whether the customer was won back, and root causes that become issues."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopkit
from loopkit.model import Cap
from loopkit.outcomes import (
    IssueRules,
    IssueState,
    RecoveryOutcome,
    acknowledge,
    fix,
    note,
    recovery_outcome,
)
from loopkit.testing import make_response

T = datetime(2026, 11, 23, 9, tzinfo=UTC)
WEEK = IssueRules(open_when=Cap(count=5, per=timedelta(days=7)))


def closed(
    i: int, at: datetime, causes: set[str], customer: str | None = None
) -> loopkit.FollowUpCase:
    case = loopkit.FollowUpCase.open(
        id=f"k-{i}", customer_id=customer or f"c-{i}", at=at, by="loopkit"
    )
    return case.fail(at=at, by="emp-7").close(at=at, by="emp-7", root_causes=causes)


# -- seed 001: did we win them back? ---------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (9, RecoveryOutcome.RECOVERED),
        (7, RecoveryOutcome.RECOVERED),
        (3, RecoveryOutcome.NOT_RECOVERED),
    ],
)
def test_a_detractor_who_answers_again_is_recovered_or_not(
    score: int, expected: RecoveryOutcome
) -> None:
    later = make_response(score, answered_at=T + timedelta(days=14))
    outcome = recovery_outcome(
        loopkit.Category.DETRACTOR,
        T,
        window=timedelta(days=30),
        later=later,
        now=T + timedelta(days=15),
    )
    assert outcome is expected


def test_no_answer_within_the_window_is_its_own_outcome_and_waiting_is_none() -> None:
    window = timedelta(days=30)
    assert (
        recovery_outcome(loopkit.Category.DETRACTOR, T, window=window, now=T + timedelta(days=10))
        is None
    )
    assert (
        recovery_outcome(loopkit.Category.DETRACTOR, T, window=window, now=T + timedelta(days=31))
        is RecoveryOutcome.NO_ANSWER
    )
    late = make_response(10, answered_at=T + timedelta(days=40))
    assert (
        recovery_outcome(
            loopkit.Category.DETRACTOR, T, window=window, later=late, now=T + timedelta(days=41)
        )
        is RecoveryOutcome.NO_ANSWER
    )
    assert (
        recovery_outcome(loopkit.Category.PASSIVE, T, window=window, now=T + timedelta(days=41))
        is None
    )
    with pytest.raises(loopkit.ValidationError):
        recovery_outcome(loopkit.Category.DETRACTOR, T, window=timedelta(0), now=T)


# -- seeds 000 and 004: causes that recur become an issue -------------------------------------


def test_five_cases_with_one_cause_in_a_week_open_one_issue_and_tell_the_host_once() -> None:
    issues: dict = {}
    heard = []
    for i in range(5):
        issues, events = note(
            issues, closed(i, T + timedelta(days=i), {"campaign_targeting"}), rules=WEEK
        )
        heard.extend(events)
    assert [e.kind for e in heard] == ["opened"]
    issue = issues["campaign_targeting"]
    assert issue.state is IssueState.OPEN and issue.count == 5 and len(issue.customers) == 5
    assert (issue.first_seen, issue.last_seen) == (T, T + timedelta(days=4))


def test_causes_spread_thinner_than_the_threshold_are_only_watched() -> None:
    issues: dict = {}
    for i in range(8):  # one every two days: never five within seven days
        issues, events = note(
            issues, closed(i, T + timedelta(days=2 * i), {"slow_refund"}), rules=WEEK
        )
        assert events == ()
    assert issues["slow_refund"].state is IssueState.WATCHED and issues["slow_refund"].count == 8


def test_fixing_an_issue_names_each_affected_customer_once_and_twice_is_a_conflict() -> None:
    issues: dict = {}
    for i in range(6):  # customer c-0 twice
        customer = "c-0" if i == 5 else None
        issues, _ = note(issues, closed(i, T, {"late_delivery"}, customer), rules=WEEK)
    issues["late_delivery"] = acknowledge(issues, "late_delivery")
    event = fix(issues, "late_delivery", at=T + timedelta(days=3), rules=WEEK)
    assert event.kind == "fixed" and event.customers == {f"c-{i}" for i in range(5)}
    issues["late_delivery"] = event.issue
    with pytest.raises(loopkit.ConflictError) as info:
        fix(issues, "late_delivery", at=T + timedelta(days=4), rules=WEEK)
    assert info.value.key == "late_delivery"
    with pytest.raises(loopkit.ValidationError):
        fix(issues, "no_such_cause", at=T, rules=WEEK)
    quiet = IssueRules(open_when=WEEK.open_when, tell_customers_when_fixed=False)
    assert (
        fix({"x": attrs_open(issues["late_delivery"])}, "x", at=T, rules=quiet).customers == set()
    )


def attrs_open(issue):  # type: ignore[no-untyped-def]

    return attrs.evolve(issue, cause="x", state=IssueState.OPEN)


def test_a_cause_that_recurs_after_its_fix_opens_the_issue_again() -> None:
    issues: dict = {}
    for i in range(5):
        issues, _ = note(issues, closed(i, T, {"billing"}), rules=WEEK)
    issues["billing"] = fix(issues, "billing", at=T + timedelta(days=1), rules=WEEK).issue
    heard = []
    for i in range(5, 10):
        issues, events = note(issues, closed(i, T + timedelta(days=30), {"billing"}), rules=WEEK)
        heard.extend(events)
    assert [e.kind for e in heard] == ["opened"] and issues["billing"].state is IssueState.OPEN


def test_the_issues_table_loads_from_the_playbook() -> None:
    data = {
        "version": 1,
        "policies": [
            {
                "name": "low",
                "when": {"field": "response.score", "le": 6},
                "channels": ["email"],
                "owner": "team:cx",
            }
        ],
        "issues": {"open_when": {"count": 3, "within": "2d"}, "tell_customers_when_fixed": False},
    }
    rules = loopkit.load_playbook(data).issues
    assert (rules.open_when.count, rules.open_when.per, rules.tell_customers_when_fixed) == (
        3,
        timedelta(days=2),
        False,
    )
    data["issues"] = {"open_when": {"count": 0, "within": "2d"}}
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.load_playbook(data)
    assert [p.path for p in info.value.problems] == ["issues.open_when.count"]


@given(st.integers(1, 300))
def test_a_growing_issue_never_storms_the_host(n: int) -> None:
    """Told when it opens, then once each time the count doubles: at most
    1 + log2(n / threshold) times for n cases."""
    rules = IssueRules(open_when=Cap(count=3, per=timedelta(days=7)))
    issues: dict = {}
    told = 0
    for i in range(n):
        issues, events = note(issues, closed(i, T + timedelta(minutes=i), {"x"}), rules=rules)
        told += len(events)
    if n < 3:
        assert told == 0
    else:
        assert 1 <= told <= 1 + math.floor(math.log2(n / 3))
