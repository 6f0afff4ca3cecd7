"""Metrics per slice: by touchpoint kind, channel, segment, region, owner or team,
and period (day, week or month, in a stated time zone). Each slice's result is
mergeable, so slices add up to the whole."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from loopkit.businesstime import BusinessCalendar
from loopkit.errors import ValidationError, describe_input
from loopkit.model import NPS as NPS_SCALE
from loopkit.model import Category, FollowUpCase, Response

from .cases import CaseMetrics, case_metrics
from .nps import NPS

__all__ = ["case_metrics_by", "nps_by", "period"]

K = TypeVar("K", bound=Hashable)

Period = Literal["day", "week", "month"]


def period(kind: Period, timezone: str) -> Callable[[datetime], date]:
    """A key for slicing by period: the first day of the day, week (Monday) or
    month an instant falls in, on the clock of ``timezone``.

    >>> from datetime import timezone as tz
    >>> week = period("week", "Europe/Stockholm")
    >>> week(datetime(2026, 11, 22, 23, 30, tzinfo=tz.utc))  # Monday 00:30 in Stockholm
    datetime.date(2026, 11, 23)
    """
    if kind not in ("day", "week", "month"):
        raise ValidationError("period", "'day', 'week' or 'month'", describe_input(kind))
    try:
        zone = ZoneInfo(timezone)
    except Exception:
        raise ValidationError(
            "timezone", "an IANA time zone name", describe_input(timezone)
        ) from None

    def key(at: datetime) -> date:
        day = at.astimezone(zone).date()
        if kind == "week":
            return day - timedelta(days=day.weekday())
        if kind == "month":
            return day.replace(day=1)
        return day

    return key


def nps_by(responses: Iterable[Response], key: Callable[[Response], K]) -> dict[K, NPS]:
    """The NPS of each slice of the NPS answers in ``responses`` (answers on
    other scales are left out), consumed once: ``key`` names the slice, e.g.
    ``lambda r: r.touchpoint.kind`` or ``lambda r: week(r.answered_at)``.

    >>> from loopkit.testing import make_response
    >>> by_kind = nps_by([make_response(10, kind="purchase"), make_response(2, kind="delivery")],
    ...                  key=lambda r: r.touchpoint.kind)
    >>> {kind: result.score for kind, result in sorted(by_kind.items())}
    {'delivery': -100.0, 'purchase': 100.0}
    """
    counts: dict[K, list[int]] = {}
    slot = {Category.PROMOTER: 0, Category.PASSIVE: 1, Category.DETRACTOR: 2}
    for response in responses:
        if response.scale != NPS_SCALE:
            continue
        tally = counts.setdefault(key(response), [0, 0, 0])
        tally[slot[response.category]] += 1
    return {k: NPS(promoters=p, passives=a, detractors=d) for k, (p, a, d) in counts.items()}


def case_metrics_by(
    cases: Iterable[FollowUpCase],
    key: Callable[[FollowUpCase], K],
    *,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> dict[K, CaseMetrics]:
    """:func:`case_metrics` per slice (``key``: ``lambda c: c.owner``, ``lambda
    c: c.policy``, a period of ``c.opened_at``...), consumed once."""
    out: dict[K, CaseMetrics] = {}
    for case in cases:
        k = key(case)
        one = case_metrics([case], now=now, calendar=calendar)
        out[k] = out[k] + one if k in out else one
    return out
