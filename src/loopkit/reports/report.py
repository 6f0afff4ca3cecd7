"""The report: every metric loopkit keeps, over a window of time, with the NPS
and compensation trends per period (day, week or month, in a stated time zone).

Built in one pass over each iterable (responses, cases and, when the host has
them, ledger entries, recovery outcomes and systemic issues); it holds counts
only, so it carries no personal data: no customer id, name, comment or
address, only touchpoint kinds, channels, root-cause tags and currencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Literal

import attrs

from loopkit._input.instants import check_aware
from loopkit.businesstime import BusinessCalendar
from loopkit.compensation import LedgerEntry
from loopkit.errors import ValidationError, describe
from loopkit.metrics import (
    NPS,
    CaseMetrics,
    CauseCounts,
    CompensationCost,
    IssueCounts,
    RecoveryRate,
    ScoreCounts,
    case_metrics,
    compensation_cost,
    issue_counts,
    period,
    recovery_rate,
    z_for,
)
from loopkit.model import CES5, CES7, CSAT, Category, FollowUpCase, Response, Scale
from loopkit.model import NPS as NPS_SCALE
from loopkit.outcomes import RecoveryOutcome, SystemicIssue

from .deadlines import BANDS, DeadlineUse, band_of

__all__ = ["Report", "build_report"]

PeriodKind = Literal["day", "week", "month"]


@attrs.frozen(kw_only=True)
class Report:
    """What :func:`build_report` found, ready for a renderer.

    ``nps_trend`` and ``spend_trend`` hold one entry per period that had data,
    oldest first, keyed by the period's first day on the clock of ``timezone``;
    ``recovery``, ``compensation`` and ``issues`` are ``None`` when their input
    was not given (not the same as zero).
    """

    timezone: str
    period: PeriodKind
    since: datetime | None
    until: datetime | None
    as_of: datetime
    confidence: float
    nps: NPS
    nps_trend: tuple[tuple[date, NPS], ...]
    by_touchpoint: tuple[tuple[str, NPS], ...]
    by_channel: tuple[tuple[str, NPS], ...]
    satisfaction: tuple[ScoreCounts, ...]
    cases: CaseMetrics
    deadlines: DeadlineUse
    causes: CauseCounts
    recovery: RecoveryRate | None
    compensation: CompensationCost | None
    spend_trend: tuple[tuple[date, CompensationCost], ...]
    issues: IssueCounts | None

    @property
    def responses(self) -> int:
        """Answers counted, on every scale."""
        return self.nps.n + sum(s.n for s in self.satisfaction)


class _Window:
    def __init__(self, since: datetime | None, until: datetime | None) -> None:
        for name, value in (("since", since), ("until", until)):
            if value is not None:
                check_aware(value, name)
        if since is not None and until is not None and until <= since:
            raise ValidationError("until", "an instant after since", describe(until))
        self.since, self.until = since, until

    def __contains__(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


_SLOT = {Category.PROMOTER: 0, Category.PASSIVE: 1, Category.DETRACTOR: 2}


def _as_nps(counts: dict[str, list[int]]) -> tuple[tuple[str, NPS], ...]:
    ranked = sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return tuple((k, NPS(p, a, d)) for k, (p, a, d) in ranked)


_OTHER_SCALES: tuple[Scale, ...] = (CSAT, CES5, CES7)


def build_report(
    *,
    responses: Iterable[Response],
    cases: Iterable[FollowUpCase],
    now: datetime,
    ledger: Iterable[LedgerEntry] | None = None,
    recoveries: Iterable[RecoveryOutcome | None] | None = None,
    issues: Iterable[SystemicIssue] | None = None,
    timezone: str = "UTC",
    period_kind: PeriodKind = "week",
    since: datetime | None = None,
    until: datetime | None = None,
    calendar: BusinessCalendar | None = None,
    confidence: float = 0.95,
) -> Report:
    """The report over the window ``since`` (inclusive) to ``until`` (exclusive),
    as of ``now``: responses by when they were answered, cases by when they
    were opened, ledger entries by when they were made. Recovery outcomes are
    taken as given (pass those of the cases in the window); issues as they
    stand, with those fixed in the window counted apart. Time to first contact
    is business time on ``calendar`` (wall-clock without one).

    >>> from datetime import timezone as tz
    >>> from loopkit.testing import make_response
    >>> r = build_report(responses=[make_response(10), make_response(3, id="r-2")],
    ...                  cases=[], now=datetime(2026, 12, 1, tzinfo=tz.utc))
    >>> r.nps.score, len(r.nps_trend), r.recovery
    (0.0, 1, None)
    """
    check_aware(now, "now")
    z_for(confidence)  # a bad confidence fails here, not in a renderer
    key = period(period_kind, timezone)
    window = _Window(since, until)

    trend: dict[date, list[int]] = {}
    kinds: dict[str, list[int]] = {}
    channels: dict[str, list[int]] = {}
    others: dict[str, dict[int, int]] = {s.name: {} for s in _OTHER_SCALES}
    bounded = since is not None or until is not None
    for response in responses:
        if bounded and response.answered_at not in window:
            continue
        scale = response.scale
        if scale is NPS_SCALE or scale == NPS_SCALE:
            slot = _SLOT[response.category]
            at = response.answered_at
            tally = trend.get(day := key(at)) or trend.setdefault(day, [0, 0, 0])
            tally[slot] += 1
            tp = response.touchpoint
            for slices, name in (
                (kinds, tp.kind if tp is not None else "(none)"),
                (channels, tp.channel if tp is not None else "(none)"),
            ):
                tally = slices.get(name) or slices.setdefault(name, [0, 0, 0])
                tally[slot] += 1
        elif scale.name in others:
            counts = others[scale.name]
            counts[response.score] = counts.get(response.score, 0) + 1
    nps_trend = tuple((d, NPS(p, a, x)) for d, (p, a, x) in sorted(trend.items()))
    satisfaction = tuple(
        ScoreCounts(
            scale=s,
            counts=tuple(others[s.name].get(v, 0) for v in range(s.minimum, s.maximum + 1)),
        )
        for s in _OTHER_SCALES
        if others[s.name]
    )

    bands, waiting, tags = [0] * len(BANDS), 0, dict[str, int]()

    def _in_window() -> Iterator[FollowUpCase]:  # one case at a time, beside case_metrics
        nonlocal waiting
        for case in cases:
            if case.opened_at in window:
                band = band_of(case, now, calendar)
                if band is not None and band < 0:
                    waiting += 1
                elif band is not None:
                    bands[band] += 1
                if case.is_closed:
                    for cause in case.root_causes:
                        tags[cause] = tags.get(cause, 0) + 1
                yield case

    metrics = case_metrics(_in_window(), now=now, calendar=calendar)

    spend: dict[date, CompensationCost] = {}
    for entry in ledger if ledger is not None else ():
        if entry.at in window:
            k = key(entry.at)
            spend[k] = spend.get(k, CompensationCost()) + compensation_cost([entry])
    return Report(
        timezone=timezone,
        period=period_kind,
        since=since,
        until=until,
        as_of=now,
        confidence=confidence,
        nps=sum((n for _, n in nps_trend), NPS()),
        nps_trend=nps_trend,
        by_touchpoint=_as_nps(kinds),
        by_channel=_as_nps(channels),
        satisfaction=satisfaction,
        cases=metrics,
        deadlines=DeadlineUse(counts=tuple(bands), waiting=waiting),
        causes=CauseCounts(tags),
        recovery=None if recoveries is None else recovery_rate(recoveries),
        compensation=None if ledger is None else sum(spend.values(), CompensationCost()),
        spend_trend=tuple(sorted(spend.items())),
        issues=None if issues is None else issue_counts(issues, since=since, until=until),
    )
