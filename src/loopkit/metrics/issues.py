"""The inner loop, measured: systemic issues opened and fixed (from
:class:`loopkit.outcomes.SystemicIssue` values) and the root causes tagged on
closed cases. Results for parts add up to the result for the whole (``a + b``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from loopkit.errors import ValidationError, describe
from loopkit.model import FollowUpCase
from loopkit.outcomes import IssueState, SystemicIssue

__all__ = ["CauseCounts", "IssueCounts", "cause_counts", "issue_counts"]


@attrs.frozen
class IssueCounts:
    """How many recurring causes stand where: ``watched`` (below the threshold),
    ``open``, ``acknowledged`` and ``fixed``; ``fixed_in_window`` counts the
    fixed issues whose fix falls in the window asked for.

    >>> c = IssueCounts(watched=3, open=2, acknowledged=1, fixed=4)
    >>> c.opened, c.unresolved
    (7, 3)
    """

    watched: int = 0
    open: int = 0
    acknowledged: int = 0
    fixed: int = 0
    fixed_in_window: int = 0

    @property
    def opened(self) -> int:
        """Issues that crossed the threshold (open, acknowledged or fixed)."""
        return self.open + self.acknowledged + self.fixed

    @property
    def unresolved(self) -> int:
        """Opened and not fixed yet."""
        return self.open + self.acknowledged

    def __add__(self, other: object) -> IssueCounts:
        if not isinstance(other, IssueCounts):
            return NotImplemented
        return IssueCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in attrs.fields(IssueCounts))
        )


def issue_counts(
    issues: Iterable[SystemicIssue],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> IssueCounts:
    """Count issues by state (consumed once); a fixed issue counts in
    ``fixed_in_window`` when ``since <= fixed_at < until`` (either bound may be
    left open).

    >>> issue_counts([SystemicIssue(cause="late_delivery", state=IssueState.OPEN)]).opened
    1
    """
    counts = dict.fromkeys(IssueState, 0)
    in_window = 0
    for issue in issues:
        if not isinstance(issue, SystemicIssue):
            raise ValidationError("issues", "SystemicIssue values", describe(issue))
        counts[issue.state] += 1
        at = issue.fixed_at
        if (
            issue.state is IssueState.FIXED
            and at is not None
            and (since is None or at >= since)
            and (until is None or at < until)
        ):
            in_window += 1
    return IssueCounts(
        watched=counts[IssueState.WATCHED],
        open=counts[IssueState.OPEN],
        acknowledged=counts[IssueState.ACKNOWLEDGED],
        fixed=counts[IssueState.FIXED],
        fixed_in_window=in_window,
    )


def _read_only(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


@attrs.frozen
class CauseCounts:
    """How many closed cases were tagged with each root cause.

    >>> CauseCounts({"late_delivery": 3, "rude_staff": 1}).top(1)
    (('late_delivery', 3),)
    """

    counts: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only)

    def top(self, k: int = 5) -> tuple[tuple[str, int], ...]:
        """The ``k`` most frequent causes, most frequent first (ties by name)."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(ranked[:k])

    @property
    def cases(self) -> int:
        """Tags counted (a case with two causes counts twice)."""
        return sum(self.counts.values())

    def __add__(self, other: object) -> CauseCounts:
        if not isinstance(other, CauseCounts):
            return NotImplemented
        merged = dict(self.counts)
        for cause, n in other.counts.items():
            merged[cause] = merged.get(cause, 0) + n
        return CauseCounts(merged)


def cause_counts(cases: Iterable[FollowUpCase]) -> CauseCounts:
    """Count the root causes of the closed cases in ``cases`` (consumed once)."""
    counts: dict[str, int] = {}
    for case in cases:
        if case.is_closed:
            for cause in case.root_causes:
                counts[cause] = counts.get(cause, 0) + 1
    return CauseCounts(counts)
