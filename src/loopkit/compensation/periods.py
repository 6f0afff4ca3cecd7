"""Budget periods: the week, month, quarter or year an instant falls in, on the
budget's own wall clock (pure; DST-safe)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from loopkit._input.checks import zone
from loopkit._input.instants import check_aware

from .values import Budget, BudgetPeriod

__all__ = ["Period", "period_of"]


class Period(NamedTuple):
    """One budget period: from ``start`` (included) to ``end`` (excluded), both
    aware datetimes on the budget's wall clock. Compare periods by instant
    (``period.start.astimezone(UTC)``), as loopkit does."""

    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        """Whether the instant ``at`` falls in this period."""
        return _utc(self.start) <= _utc(at) < _utc(self.end)

    def same_as(self, other: Period) -> bool:
        """Whether both periods cover the same instants (whatever zone they are shown in)."""
        return _utc(self.start) == _utc(other.start) and _utc(self.end) == _utc(other.end)


def period_of(budget: Budget, at: datetime) -> Period:
    """The period of ``budget`` that the instant ``at`` falls in.

    Periods begin at local midnight in the budget's zone: weeks on Monday
    (ISO weeks), months on the 1st, quarters on 1 January, April, July and
    October, years on 1 January. Where a zone skips midnight on that day (a
    DST change at 00:00), the period begins at the first instant of the day;
    where midnight happens twice, at the first. A naive ``at`` is refused.

    >>> from loopkit.compensation import Budget
    >>> stores = Budget.from_dict("stores", {"amount": "5000 SEK", "per": "month",
    ...     "timezone": "Europe/Stockholm"}, "budgets.stores")
    >>> start, end = period_of(stores, datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    >>> start.isoformat(), end.isoformat()
    ('2026-04-01T00:00:00+02:00', '2026-05-01T00:00:00+02:00')
    """
    check_aware(at, "at")
    tz = zone(budget.timezone)
    local = at.astimezone(tz).date()
    first = _first_day(budget.per, local)
    return Period(_midnight(first, budget), _midnight(_next_first(budget.per, first), budget))


def _first_day(per: BudgetPeriod, day: date) -> date:
    if per == BudgetPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if per == BudgetPeriod.MONTH:
        return day.replace(day=1)
    if per == BudgetPeriod.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _next_first(per: BudgetPeriod, first: date) -> date:
    if per == BudgetPeriod.WEEK:
        return first + timedelta(days=7)
    months = {BudgetPeriod.MONTH: 1, BudgetPeriod.QUARTER: 3, BudgetPeriod.YEAR: 12}[
        BudgetPeriod(per)
    ]
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _midnight(day: date, budget: Budget) -> datetime:
    """The first instant of ``day`` in the budget's zone, as a real wall time.

    ``fold=0`` picks the first of two midnights; a midnight in a gap maps, with
    the offset before the gap, to the instant the gap starts, which is the
    first instant of the day. The round trip through UTC gives that instant a
    wall time that exists.
    """
    tz = zone(budget.timezone)
    instant = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    # A zone whose midnight falls in a gap longer than the day's start (a day
    # skipped altogether) still maps to an instant on or after the previous
    # day's end; step forward until the wall date is ``day`` or later.
    while instant.astimezone(tz).date() < day:
        instant += timedelta(minutes=15)
    return instant.astimezone(tz)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
