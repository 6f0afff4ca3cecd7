"""Budget periods on the budget's own wall clock, across DST in every kind of zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopkit import BusinessTimeError, ValidationError
from loopkit.compensation import Budget, BudgetPeriod, Money, period_of

ZONES = [
    "UTC",
    "Europe/Stockholm",
    "America/New_York",
    "America/Sao_Paulo",  # until 2019: clocks jumped at 00:00, so some midnights never happened
    "America/Santiago",
    "America/Havana",  # DST changes at midnight
    "Asia/Tehran",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Apia",  # skipped 30 December 2011 altogether
    "Asia/Kolkata",
]


def _budget(zone: str, per: BudgetPeriod) -> Budget:
    return Budget(name="b", amount=Money.parse("100 SEK"), per=per, timezone=zone)


def _first_day(per: BudgetPeriod, day: date) -> date:
    if per is BudgetPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if per is BudgetPeriod.MONTH:
        return day.replace(day=1)
    if per is BudgetPeriod.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


@given(
    zone=st.sampled_from(ZONES),
    per=st.sampled_from(list(BudgetPeriod)),
    at=st.datetimes(
        min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1), timezones=st.just(UTC)
    ),
)
def test_an_instant_falls_in_exactly_one_period_that_starts_at_local_midnight(
    zone: str, per: BudgetPeriod, at: datetime
) -> None:
    budget = _budget(zone, per)
    start, end = period_of(budget, at)
    tz = ZoneInfo(zone)
    assert start.astimezone(UTC) <= at < end.astimezone(UTC)
    # the period starts on the right local day, at its first instant
    assert start.astimezone(tz).date() == _first_day(per, at.astimezone(tz).date())
    just_before = start.astimezone(UTC) - timedelta(microseconds=1)
    assert just_before.astimezone(tz).date() < start.astimezone(tz).date()
    # neighbours: the period ends where the next begins, and the last instant is inside
    assert period_of(budget, end).start.astimezone(UTC) == end.astimezone(UTC)
    last = end.astimezone(UTC) - timedelta(microseconds=1)
    assert period_of(budget, last).same_as(period_of(budget, at))
    assert period_of(budget, at).contains(at)


def test_a_stockholm_month_follows_stockholm_midnight_not_utc() -> None:
    budget = _budget("Europe/Stockholm", BudgetPeriod.MONTH)
    late_march_utc = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Stockholm
    start, end = period_of(budget, late_march_utc)
    assert start.isoformat() == "2026-04-01T00:00:00+02:00"
    assert end.isoformat() == "2026-05-01T00:00:00+02:00"
    march = period_of(budget, datetime(2026, 3, 1, 0, 0, tzinfo=ZoneInfo("Europe/Stockholm")))
    assert march.start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert march.end.isoformat() == "2026-04-01T00:00:00+02:00"  # 743 hours: the DST month


def test_a_midnight_that_never_happened_starts_the_day_at_its_first_instant() -> None:
    budget = _budget("America/Sao_Paulo", BudgetPeriod.MONTH)  # 2018-11-04 00:00 -> 01:00
    week = _budget("America/Sao_Paulo", BudgetPeriod.WEEK)
    start = period_of(week, datetime(2018, 11, 5, 12, 0, tzinfo=UTC)).start
    assert start.isoformat() == "2018-11-05T00:00:00-02:00"
    year = period_of(
        _budget("America/Sao_Paulo", BudgetPeriod.YEAR), datetime(2018, 11, 4, 6, 0, tzinfo=UTC)
    )
    assert year.start.isoformat() == "2018-01-01T00:00:00-02:00"
    assert period_of(budget, datetime(2018, 11, 4, 3, 30, tzinfo=UTC)).start.date() == date(
        2018, 11, 1
    )


def test_weeks_start_on_monday_and_quarters_on_the_first_of_their_month() -> None:
    friday = datetime(2026, 11, 20, 15, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert period_of(_budget("Europe/Stockholm", BudgetPeriod.WEEK), friday).start.date() == date(
        2026, 11, 16
    )
    quarter = period_of(_budget("Europe/Stockholm", BudgetPeriod.QUARTER), friday)
    assert (quarter.start.date(), quarter.end.date()) == (date(2026, 10, 1), date(2027, 1, 1))
    year = period_of(_budget("Europe/Stockholm", BudgetPeriod.YEAR), friday)
    assert (year.start.date(), year.end.date()) == (date(2026, 1, 1), date(2027, 1, 1))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(BusinessTimeError) as info:
        period_of(_budget("UTC", BudgetPeriod.WEEK), datetime(2026, 1, 1))
    assert info.value.path == "at"


def test_budgets_read_team_and_timezone_and_refuse_unknown_zones() -> None:
    budget = Budget.from_dict(
        "support",
        {"amount": "20000 SEK", "per": "month", "team": "support", "timezone": "Europe/Stockholm"},
        "budgets.support",
    )
    assert (budget.team, budget.timezone) == ("support", "Europe/Stockholm")
    assert Budget.from_dict("x", {"amount": "1 SEK", "per": "week"}, "budgets.x").timezone == "UTC"
    with pytest.raises(ValidationError) as info:
        Budget.from_dict(
            "x", {"amount": "1 SEK", "per": "week", "timezone": "Mars/Olympus"}, "budgets.x"
        )
    assert info.value.path == "budgets.x.timezone"
