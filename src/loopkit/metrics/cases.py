"""Did we close the loop? Metrics over cases: closure rate, the share contacted
within the deadline (SLA compliance), time to first contact in business time, and
escalations. Results for parts add up to the result for the whole (``a + b``).

Time to first contact is kept in a histogram of buckets 2% wide, so memory stays
flat and results merge; a quantile read from it is within 1% of the exact value.
See ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

import attrs

from loopkit.businesstime import BusinessCalendar
from loopkit.errors import ValidationError, describe_input
from loopkit.model import FollowUpCase, Transition

from .satisfaction import Convention, Estimate
from .stats import wilson

__all__ = ["CaseMetrics", "Durations", "case_metrics"]

_GROWTH: Final = 1.02
"""Each bucket is 2% wider than the one before: a quantile is within 1% of exact."""
_LOG_GROWTH: Final = math.log(_GROWTH)


def _bucket(seconds: float) -> int:
    return 0 if seconds < 1 else 1 + int(math.log(seconds) / _LOG_GROWTH)


def _bucket_middle(bucket: int) -> float:
    if bucket == 0:
        return 0.0
    low, high = _GROWTH ** (bucket - 1), _GROWTH**bucket
    return math.sqrt(low * high)


def _read_only(buckets: Mapping[int, int]) -> Mapping[int, int]:
    return MappingProxyType(dict(buckets))


@attrs.frozen
class Durations:
    """A mergeable histogram of durations (seconds, in buckets 2% wide).

    >>> d = Durations.of([timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)])
    >>> round(d.quantile(0.5) / timedelta(hours=1), 1)
    2.0
    """

    buckets: Mapping[int, int] = attrs.field(factory=dict, converter=_read_only)

    @classmethod
    def of(cls, durations: Iterable[timedelta]) -> Durations:
        counts: dict[int, int] = {}
        for d in durations:
            b = _bucket(max(0.0, d.total_seconds()))
            counts[b] = counts.get(b, 0) + 1
        return cls(counts)

    @property
    def n(self) -> int:
        return sum(self.buckets.values())

    def quantile(self, q: float) -> timedelta | None:
        """The ``q`` quantile (0.5 for the median, 0.9 for p90), or ``None`` when empty."""
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
            raise ValidationError("q", "a quantile from 0 to 1, such as 0.9", describe_input(q))
        n = self.n
        if n == 0:
            return None
        rank = max(1, math.ceil(q * n))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return timedelta(seconds=_bucket_middle(bucket))
        raise AssertionError("unreachable: the ranks add up to n")  # pragma: no cover

    def __add__(self, other: object) -> Durations:
        if not isinstance(other, Durations):
            return NotImplemented
        merged = dict(self.buckets)
        for bucket, count in other.buckets.items():
            merged[bucket] = merged.get(bucket, 0) + count
        return Durations(merged)


@attrs.frozen
class CaseMetrics:
    """Counts over cases, and the rates and times that follow from them.

    ``with_deadline`` counts the cases whose deadline has been decided on (the
    customer was reached, or the deadline has passed): ``in_time`` of them were
    reached by it.
    """

    opened: int = 0
    closed: int = 0
    with_deadline: int = 0
    in_time: int = 0
    escalated: int = 0
    first_contact: Durations = attrs.field(factory=Durations)

    def closure_rate(self, confidence: float = 0.95) -> Estimate | None:
        """Closed cases among those opened, in percent, with Wilson's interval."""
        return _share(self.closed, self.opened, confidence)

    def sla_compliance(self, confidence: float = 0.95) -> Estimate | None:
        """Cases reached within their deadline, among those whose deadline is decided."""
        return _share(self.in_time, self.with_deadline, confidence)

    def escalation_rate(self, confidence: float = 0.95) -> Estimate | None:
        """Cases escalated at least once, among those opened."""
        return _share(self.escalated, self.opened, confidence)

    def time_to_first_contact(self, q: float = 0.5) -> timedelta | None:
        """The ``q`` quantile of the business time from opening to the first
        contact (0.5: the median, 0.9: p90), or ``None`` with no contacts."""
        return self.first_contact.quantile(q)

    def __add__(self, other: object) -> CaseMetrics:
        if not isinstance(other, CaseMetrics):
            return NotImplemented
        return CaseMetrics(
            opened=self.opened + other.opened,
            closed=self.closed + other.closed,
            with_deadline=self.with_deadline + other.with_deadline,
            in_time=self.in_time + other.in_time,
            escalated=self.escalated + other.escalated,
            first_contact=self.first_contact + other.first_contact,
        )


def _share(part: int, whole: int, confidence: float) -> Estimate | None:
    if whole == 0:
        return None
    share = wilson(part, whole, confidence)
    interval = attrs.evolve(share, low=100 * share.low, high=100 * share.high)
    return Estimate(
        value=100 * part / whole, interval=interval, n=whole, convention=Convention.TOP_BOX
    )


def case_metrics(
    cases: Iterable[FollowUpCase], *, now: datetime, calendar: BusinessCalendar | None = None
) -> CaseMetrics:
    """The metrics of ``cases`` as of ``now`` (consumed once). Time to first
    contact is counted in business time on ``calendar`` (wall-clock time
    without one), from the case's opening to its first ``contact`` event.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    >>> case = FollowUpCase.open(id="k-1", customer_id="c-1", at=t, by="loopkit",
    ...                          due_at=t + timedelta(hours=4))
    >>> reached = case.contact(at=t + timedelta(hours=1), by="emp-7")
    >>> m = case_metrics([reached], now=t + timedelta(days=1))
    >>> m.sla_compliance().value, round(m.time_to_first_contact() / timedelta(hours=1), 1)
    (100.0, 1.0)
    """
    opened = closed = decided = in_time = escalated = 0
    waits: dict[int, int] = {}
    for case in cases:
        opened += 1
        closed += case.is_closed
        escalated += case.escalation_level > 0
        contact = next((e.at for e in case.events if e.kind == Transition.CONTACT), None)
        if contact is not None:
            start = case.opened_at
            wait = calendar.between(start, contact) if calendar is not None else contact - start
            b = _bucket(max(0.0, wait.total_seconds()))
            waits[b] = waits.get(b, 0) + 1
        if case.due_at is not None and (contact is not None or case.due_at < now):
            decided += 1
            in_time += contact is not None and contact <= case.due_at
    return CaseMetrics(
        opened=opened,
        closed=closed,
        with_deadline=decided,
        in_time=in_time,
        escalated=escalated,
        first_contact=Durations(waits),
    )
