"""Did following up work: recovery rate, compensation cost, empowerment share,
systemic issues and root causes, from the outcome and ledger values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopkit
from loopkit.compensation import (
    Empowerment,
    EntryKind,
    Ledger,
    LedgerEntry,
    Money,
    Offer,
    OfferKind,
    OfferSource,
    approve,
    grant,
    reverse,
)
from loopkit.metrics import (
    CauseCounts,
    CompensationCost,
    IssueCounts,
    RecoveryRate,
    cause_counts,
    compensation_cost,
    issue_counts,
    recovery_rate,
    wilson,
)
from loopkit.outcomes import IssueState, RecoveryOutcome, SystemicIssue, recovery_outcome
from loopkit.testing import make_response

T = datetime(2026, 11, 23, 9, tzinfo=UTC)
R = RecoveryOutcome

# -- recovery rate -------------------------------------------------------------------------


def test_recovery_rate_counts_recovered_among_the_resurveyed_with_wilsons_interval() -> None:
    outcomes = [R.RECOVERED] * 6 + [R.NOT_RECOVERED] * 2 + [R.NO_ANSWER] * 4 + [None]
    rate = recovery_rate(iter(outcomes))
    assert rate == RecoveryRate(recovered=6, not_recovered=2, no_answer=4, pending=1)
    estimate = rate.rate()
    assert estimate is not None and estimate.value == 75.0 and estimate.n == 8
    expected = wilson(6, 8)
    assert estimate.interval.low == pytest.approx(100 * expected.low)
    assert estimate.interval.high == pytest.approx(100 * expected.high)
    answered = rate.answer_rate()
    assert answered is not None and answered.value == pytest.approx(100 * 8 / 12)


def test_recovery_rate_from_the_outcomes_recovery_outcome_gives() -> None:
    closed = T
    window = timedelta(days=30)
    later = [make_response(9, id="r-a"), make_response(2, id="r-b"), None]
    outcomes = [
        recovery_outcome(
            loopkit.Category.DETRACTOR,
            closed,
            window=window,
            later=None if r is None else attrs_at(r, closed + timedelta(days=3)),
            now=closed + timedelta(days=40),
        )
        for r in later
    ]
    rate = recovery_rate(outcomes)
    assert (rate.recovered, rate.not_recovered, rate.no_answer) == (1, 1, 1)


def attrs_at(response: loopkit.Response, at: datetime) -> loopkit.Response:
    import attrs

    return attrs.evolve(response, answered_at=at)


def test_no_one_answering_again_is_no_data_not_zero_percent() -> None:
    rate = recovery_rate([R.NO_ANSWER, None])
    assert rate.rate() is None
    assert recovery_rate([]).answer_rate() is None
    with pytest.raises(loopkit.ValidationError):
        recovery_rate(["recovered"])  # type: ignore[list-item]


@given(st.integers(1, 10_000))
def test_wilson_is_exactly_0_or_1_at_none_or_all(n: int) -> None:
    # found by the property below: computed, the low bound at 0 of 5 was 2.8e-15
    assert wilson(0, n).low == 0.0 and wilson(n, n).high == 1.0
    assert 0.0 in wilson(0, n) and 1.0 in wilson(n, n)


outcome_lists = st.lists(st.sampled_from([*RecoveryOutcome, None]), max_size=60)


@given(outcome_lists, outcome_lists)
def test_recovery_rates_of_parts_add_up_to_the_whole(
    a: list[RecoveryOutcome | None], b: list[RecoveryOutcome | None]
) -> None:
    assert recovery_rate(a) + recovery_rate(b) == recovery_rate(a + b)
    whole = recovery_rate(a + b).rate()
    if whole is not None:
        assert whole.interval.low <= whole.value <= whole.interval.high


# -- compensation cost and empowerment ----------------------------------------------------

POWER = Empowerment.from_dict(
    {
        "staff": {
            "emp-7": {"role": "agent", "team": "care"},
            "lead-1": {"role": "team_lead", "team": "care"},
        },
        "authority": {"agent": "200 SEK", "team_lead": "2000 SEK"},
    }
)


def _case(i: int) -> loopkit.FollowUpCase:
    return loopkit.FollowUpCase.open(id=f"k-{i}", customer_id=f"c-{i}", at=T, by="loopkit")


def _offer(value: str | None) -> Offer:
    return Offer(kind=OfferKind.DISCOUNT_CODE, value=None if value is None else Money.parse(value))


def test_cost_is_postings_less_reversals_and_empowerment_counts_grants_without_approval() -> None:
    ledger = Ledger()
    for i, value in ((1, "150 SEK"), (2, "500 SEK"), (3, None)):  # 500 is above the agent
        made = grant(
            ledger, POWER, key=f"g-{i}", case=_case(i), by="emp-7", at=T, offer=_offer(value)
        )
        ledger = ledger.append(made.entries)
    later = T + timedelta(hours=1)
    ledger = ledger.append(approve(ledger, POWER, request_id="g-2", by="lead-1", at=later).entries)
    ledger = ledger.append(
        reverse(ledger, grant_key="g-1", key="rev-1", by="lead-1", at=later).entries
    )
    cost = compensation_cost(iter(ledger))
    assert (cost.grants, cost.without_approval, cost.reversals) == (3, 2, 1)
    assert [str(m) for m in cost.spent()] == ["500 SEK"]  # 150 + 500 - 150
    assert [str(m) for m in cost.per_recovered(4) or ()] == ["125.00 SEK"]
    assert cost.per_recovered(0) is None
    share = cost.empowerment_share()
    assert share is not None and share.value == pytest.approx(200 / 3)


def test_costs_are_kept_per_currency_and_an_empty_ledger_is_no_data() -> None:
    empty = compensation_cost([])
    assert empty.spent() == () and empty.empowerment_share() is None
    cost = CompensationCost(posted={"EUR": Decimal("20"), "SEK": Decimal("300")})
    assert [str(m) for m in cost.spent()] == ["20 EUR", "300 SEK"]
    with pytest.raises(loopkit.ValidationError):
        cost.per_recovered(-1)


def _entry(i: int, kind: EntryKind, amount: int, currency: str, approved: bool) -> LedgerEntry:
    money = Money(Decimal(amount), currency)
    return LedgerEntry(
        kind=kind,
        key=f"g-{i}",
        at=T + timedelta(hours=i),
        case_id=f"k-{i}",
        customer_id=f"c-{i}",
        employee="emp-7",
        offer=_offer(str(money)),
        source=OfferSource.goodwill(),
        amount=money,
        approval=f"g-{i}" if approved else None,
    )


entries = st.lists(
    st.builds(
        _entry,
        st.integers(0, 1000),
        st.sampled_from(list(EntryKind)),
        st.integers(1, 5000),
        st.sampled_from(["SEK", "EUR"]),
        st.booleans(),
    ),
    max_size=40,
)


@given(entries, st.integers(0, 40))
def test_compensation_costs_of_parts_add_up_to_the_whole(rows: list[LedgerEntry], cut: int) -> None:
    whole = compensation_cost(rows)
    assert compensation_cost(rows[:cut]) + compensation_cost(rows[cut:]) == whole
    share = whole.empowerment_share()
    if share is not None:
        assert share.interval.low <= share.value <= share.interval.high


# -- systemic issues and root causes -----------------------------------------------------


def test_issues_opened_and_fixed_and_fixed_in_the_window() -> None:
    issues = [
        SystemicIssue(cause="late_delivery", state=IssueState.OPEN),
        SystemicIssue(cause="wrong_item", state=IssueState.ACKNOWLEDGED),
        SystemicIssue(cause="billing", state=IssueState.FIXED, fixed_at=T),
        SystemicIssue(cause="rude", state=IssueState.FIXED, fixed_at=T - timedelta(days=40)),
        SystemicIssue(cause="queue"),
    ]
    counts = issue_counts(iter(issues), since=T - timedelta(days=30), until=T + timedelta(days=1))
    assert counts == IssueCounts(watched=1, open=1, acknowledged=1, fixed=2, fixed_in_window=1)
    assert (counts.opened, counts.unresolved) == (4, 2)


@given(st.lists(st.sampled_from(list(IssueState)), max_size=30), st.integers(0, 30))
def test_issue_counts_of_parts_add_up(states: list[IssueState], cut: int) -> None:
    issues = [
        SystemicIssue(cause=f"c{i}", state=s, fixed_at=T if s is IssueState.FIXED else None)
        for i, s in enumerate(states)
    ]
    assert issue_counts(issues[:cut]) + issue_counts(issues[cut:]) == issue_counts(issues)


def test_root_causes_are_counted_on_closed_cases_only() -> None:
    def closed(i: int, causes: set[str]) -> loopkit.FollowUpCase:
        return _case(i).fail(at=T, by="e").close(at=T, by="e", root_causes=causes)

    cases = [closed(1, {"late_delivery"}), closed(2, {"late_delivery", "rude_staff"}), _case(3)]
    counts = cause_counts(cases)
    assert counts.top(1) == (("late_delivery", 2),)
    assert counts.cases == 3
    assert cause_counts(cases[:1]) + cause_counts(cases[1:]) == counts
    assert CauseCounts().top() == ()
