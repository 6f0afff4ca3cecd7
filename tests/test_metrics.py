"""Metrics: NPS, CSAT, CES and the loop, against published vectors and as properties."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopkit
from loopkit.metrics import (
    NPS,
    CaseMetrics,
    Convention,
    Durations,
    case_metrics,
    case_metrics_by,
    ces,
    compare_nps,
    csat,
    nps,
    nps_by,
    period,
    score_counts,
    wilson,
)
from loopkit.testing import make_response

T = datetime(2026, 11, 23, 9, tzinfo=UTC)

# -- NPS: the vectors ------------------------------------------------------------


def test_70_10_20_gives_50_with_its_wald_and_adjusted_wald_intervals() -> None:
    r = NPS(promoters=70, passives=10, detractors=20)
    assert r.n == 100 and r.score == 50
    wald, adjusted = r.interval(), r.interval(method="adjusted_wald")
    assert wald is not None and adjusted is not None
    assert (round(wald.low, 2), round(wald.high, 2)) == (34.20, 65.80)
    assert (round(adjusted.low, 2), round(adjusted.high, 2)) == (32.94, 64.15)


def test_9_0_2_clamps_wald_at_100_and_gives_adjusted_wald_8_to_92() -> None:
    r = NPS(promoters=9, passives=0, detractors=2)
    wald, adjusted = r.interval(), r.interval(method="adjusted_wald")
    assert wald is not None and adjusted is not None
    assert wald.high == 100.0
    assert (round(adjusted.low, 2), round(adjusted.high, 2)) == (8.00, 92.00)


def test_50_30_20_against_40_30_30_differ_by_20_with_p_about_0_079() -> None:
    test = compare_nps(NPS(40, 30, 30), NPS(50, 30, 20))
    assert test.difference == pytest.approx(20, abs=1e-9)
    assert round(test.standard_error, 2) == 11.40
    assert test.p == pytest.approx(0.0794, abs=5e-4)
    assert not test.significant(0.05) and test.significant(0.10)


def test_an_empty_sample_is_no_data_not_a_division_by_zero() -> None:
    empty = nps([])
    assert empty.n == 0 and empty.score is None
    assert empty.interval() is None and empty.standard_error() is None
    with pytest.raises(loopkit.ValidationError) as info:
        compare_nps(empty, NPS(1, 0, 0))
    assert info.value.problems[0].path == "first"
    assert csat([]) is None and ces([]) is None


def test_scores_are_counted_from_a_generator_consumed_once() -> None:
    scores = (s % 11 for s in range(1_100))
    r = nps(scores)
    assert (r.promoters, r.passives, r.detractors) == (200, 200, 700)
    assert next(scores, None) is None


@pytest.mark.parametrize("bad", [11, -1, 3.5, "9", None])
def test_a_score_outside_0_to_10_is_a_typed_error_that_does_not_show_it(bad: object) -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        nps([10, 9, bad, 0])  # type: ignore[list-item]
    assert info.value.problems[0].path == "scores"
    assert "'9'" not in str(info.value)


def test_counting_ten_times_more_scores_takes_no_more_memory() -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        nps(i % 11 for i in range(n))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(100_000), peak(1_000_000)
    assert large < small * 1.5 + 50_000


# -- Wilson's interval: Newcombe (1998), Statistics in Medicine 17, 857-872, Table II ----


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombes_worked_examples(
    successes: int, n: int, low: float, high: float
) -> None:
    interval = wilson(successes, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


# -- CSAT and CES ------------------------------------------------------------------------


def test_csat_is_top_2_box_by_default_and_the_mean_on_request() -> None:
    scores = [5, 5, 4, 3, 1, 2, 4, 5, 5, 4]
    top = csat(scores)
    assert top is not None and top.convention is Convention.TOP_BOX
    assert top.value == pytest.approx(70.0) and top.n == 10
    assert top.interval.low < 70 < top.interval.high
    mean = csat(scores, convention="mean")
    assert mean is not None and mean.value == pytest.approx(3.8)
    assert mean.interval.low < 3.8 < mean.interval.high


def test_ces_counts_low_effort_by_the_scales_direction() -> None:
    easy5 = ces([1, 2, 2, 4, 5], scale=loopkit.CES5)  # lower is better
    easy7 = ces([7, 6, 5, 1, 2], scale=loopkit.CES7)  # higher is better
    assert easy5 is not None and easy5.value == pytest.approx(60.0)
    assert easy7 is not None and easy7.value == pytest.approx(60.0)
    with pytest.raises(loopkit.ValidationError):
        ces([1], scale=loopkit.NPS)


# -- properties -----------------------------------------------------------------------------

counts = st.integers(0, 500)


@given(counts, counts, counts)
def test_the_score_lies_in_range_and_each_interval_holds_its_centre(p: int, a: int, d: int) -> None:
    r = NPS(p, a, d)
    if r.n == 0:
        assert r.score is None
        return
    assert r.score is not None and -100 <= r.score <= 100
    wald = r.interval()
    assert wald is not None and -100 <= wald.low <= r.score <= wald.high <= 100
    adjusted = r.interval(method="adjusted_wald")
    assert adjusted is not None
    centre = 100 * ((p + 0.75) - (d + 0.75)) / (r.n + 3)
    assert -100 <= adjusted.low <= centre <= adjusted.high <= 100


scores = st.lists(st.integers(0, 10), max_size=200)


@given(scores, scores)
def test_the_nps_of_parts_adds_up_to_the_nps_of_the_whole(a: list[int], b: list[int]) -> None:
    assert nps(a) + nps(b) == nps(a + b)
    assert score_counts(loopkit.CSAT, [s % 5 + 1 for s in a]) + score_counts(
        loopkit.CSAT, [s % 5 + 1 for s in b]
    ) == score_counts(loopkit.CSAT, [s % 5 + 1 for s in a + b])


# -- the loop ---------------------------------------------------------------------------------


def _case(
    i: int, *, contact_after: timedelta | None, due: timedelta | None
) -> loopkit.FollowUpCase:
    case = loopkit.FollowUpCase.open(
        id=f"k-{i}",
        customer_id=f"c-{i}",
        at=T,
        by="loopkit",
        owner="team:a" if i % 2 else "team:b",
        due_at=None if due is None else T + due,
    )
    if contact_after is not None:
        case = case.contact(at=T + contact_after, by="emp-7")
    return case


def test_sla_compliance_counts_only_decided_deadlines() -> None:
    cases = [
        _case(1, contact_after=timedelta(hours=1), due=timedelta(hours=4)),  # in time
        _case(2, contact_after=timedelta(hours=6), due=timedelta(hours=4)),  # late
        _case(3, contact_after=None, due=timedelta(hours=4)),  # missed (due passed)
        _case(4, contact_after=None, due=timedelta(days=3)),  # not decided yet
        _case(5, contact_after=timedelta(hours=2), due=None),  # no deadline
    ]
    m = case_metrics(cases, now=T + timedelta(days=1))
    assert (m.opened, m.with_deadline, m.in_time) == (5, 3, 1)
    sla = m.sla_compliance()
    assert sla is not None and sla.value == pytest.approx(100 / 3)
    median = m.time_to_first_contact(0.5)
    assert median is not None and abs(median - timedelta(hours=2)) < timedelta(hours=2) * 0.01
    assert m.closure_rate() is not None and m.closure_rate().value == 0  # type: ignore[union-attr]


def test_time_to_first_contact_counts_business_hours() -> None:
    calendar = loopkit.BusinessCalendar.weekly("UTC", mon="09:00-17:00", tue="09:00-17:00")
    late = _case(1, contact_after=timedelta(hours=26), due=None)  # Tuesday 11:00
    m = case_metrics([late], now=T + timedelta(days=2), calendar=calendar)
    wait = m.time_to_first_contact()
    assert wait is not None and abs(wait - timedelta(hours=10)) < timedelta(minutes=6)


@given(st.lists(st.tuples(st.integers(0, 600), st.booleans()), max_size=40), st.integers(0, 40))
def test_case_metrics_of_parts_add_up_to_the_whole(rows: list[tuple[int, bool]], cut: int) -> None:
    cases = [
        _case(i, contact_after=timedelta(minutes=m) if reached else None, due=timedelta(hours=4))
        for i, (m, reached) in enumerate(rows)
    ]
    now = T + timedelta(days=1)
    whole = case_metrics(cases, now=now)
    assert case_metrics(cases[:cut], now=now) + case_metrics(cases[cut:], now=now) == whole
    by_owner = case_metrics_by(cases, key=lambda c: c.owner, now=now)
    assert sum(by_owner.values(), CaseMetrics()) == whole


def test_durations_merge_and_read_quantiles_within_one_percent() -> None:
    waits = [timedelta(minutes=m) for m in range(1, 1001)]
    d = Durations.of(waits[:400]) + Durations.of(waits[400:])
    p90 = d.quantile(0.9)
    assert p90 is not None and abs(p90 - timedelta(minutes=900)) <= timedelta(minutes=9)


# -- slices -----------------------------------------------------------------------------------


def test_nps_by_week_in_a_stated_zone_and_by_touchpoint_kind() -> None:
    week = period("week", "Europe/Stockholm")
    sunday_night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already Monday in Stockholm
    answers = [
        make_response(10, id="r-1", answered_at=sunday_night, kind="purchase"),
        make_response(0, id="r-2", answered_at=sunday_night - timedelta(days=1), kind="purchase"),
        make_response(4, id="r-3", scale=loopkit.CSAT, kind="delivery"),  # not an NPS answer
    ]
    weekly = nps_by(answers, key=lambda r: week(r.answered_at))
    assert {str(k): v.score for k, v in weekly.items()} == {
        "2026-11-23": 100.0,
        "2026-11-16": -100.0,
    }
    assert sum(weekly.values(), NPS()) == nps([10, 0])
    by_kind = nps_by(answers, key=lambda r: r.touchpoint.kind if r.touchpoint else None)
    assert set(by_kind) == {"purchase"}
    with pytest.raises(loopkit.ValidationError):
        period("fortnight", "UTC")  # type: ignore[arg-type]
