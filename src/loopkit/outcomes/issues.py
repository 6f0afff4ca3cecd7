"""Root causes become systemic issues: the inner loop (seeds 000 and 004).

Tags given when cases close ("campaign_targeting", "missed_call_back") are counted per
cause. When a cause crosses the playbook's threshold (``[issues] open_when = { count = 5,
within = "7d" }``) an issue is opened and the host is told; while it keeps growing the
host is told again only each time the count doubles (no storm). An issue is then
acknowledged, and fixed; a cause that recurs after its fix opens the issue again.

Pure functions: they take the issues as they stand and return the changed issues and
what the host should hear; the engine keeps them and calls the hooks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from loopkit._input.checks import check_id, check_int, check_slug
from loopkit._input.choices import choice
from loopkit._input.durations import parse_duration
from loopkit._input.instants import format_instant, parse_instant
from loopkit._input.reader import Reader
from loopkit.errors import ConflictError, ValidationError, describe
from loopkit.model import Cap, FollowUpCase

__all__ = ["IssueEvent", "IssueRules", "IssueState", "SystemicIssue", "acknowledge", "fix", "note"]


class IssueState(enum.StrEnum):
    """Where an issue is in its lifecycle."""

    WATCHED = "watched"
    """Seen, but below the threshold: nobody has been told."""
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FIXED = "fixed"


_DEFAULT_THRESHOLD: Final = Cap(count=5, per=timedelta(days=7))
"""Five cases with the same cause within a week."""


@attrs.frozen(kw_only=True)
class IssueRules:
    """The ``[issues]`` table: when a recurring cause becomes an issue, and
    whether affected customers hear when it is fixed.

    >>> rules = IssueRules.from_dict({"open_when": {"count": 5, "within": "7d"}})
    >>> rules.open_when.count, rules.open_when.per.days, rules.tell_customers_when_fixed
    (5, 7, True)
    """

    open_when: Cap = _DEFAULT_THRESHOLD
    tell_customers_when_fixed: bool = True

    @classmethod
    def from_dict(cls, data: object, path: str = "issues") -> IssueRules:
        r = Reader(data, path)
        kwargs = {
            "open_when": r.get(
                "open_when", _threshold, default=Cap(count=5, per=timedelta(days=7))
            ),
            "tell_customers_when_fixed": r.get("tell_customers_when_fixed", bool, default=True),
        }
        r.finish()
        return r.build(cls, kwargs)


def _threshold(value: object, path: str) -> Cap:
    r = Reader(value, path)
    count, within = r.get("count", int), r.get("within", parse_duration)
    r.finish()
    if isinstance(count, int) and count < 1:
        r.note(ValidationError(r.at("count"), "a count of 1 or more", describe(count)))
    if isinstance(within, timedelta) and within <= timedelta(0):
        r.note(ValidationError(r.at("within"), 'a positive duration such as "7d"', "one of 0"))
    r.raise_if_any()
    return Cap(count=count, per=within)


@attrs.frozen(kw_only=True)
class SystemicIssue:
    """One recurring root cause: how often and for whom it was seen, and where it
    stands. ``recent`` holds the last few sightings (at most the threshold's
    count), enough to tell when the threshold is crossed; ``told_at`` is the
    count the host last heard about; ``notified`` are the customers already told
    it is fixed (never told twice); ``acknowledged_by`` and ``fixed_by`` who
    moved it on (employee ids)."""

    cause: str
    state: IssueState = IssueState.WATCHED
    count: int = 0
    customers: frozenset[str] = frozenset()
    cases: frozenset[str] = frozenset()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    recent: tuple[datetime, ...] = ()
    told_at: int = 0
    fixed_at: datetime | None = None
    notified: frozenset[str] = frozenset()
    acknowledged_by: str | None = None
    fixed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (sets sorted, times ISO 8601), for stores that serialise."""
        return {
            "cause": self.cause,
            "state": self.state.value,
            "count": self.count,
            "customers": sorted(self.customers),
            "cases": sorted(self.cases),
            "first_seen": _instant(self.first_seen),
            "last_seen": _instant(self.last_seen),
            "recent": [format_instant(t) for t in self.recent],
            "told_at": self.told_at,
            "fixed_at": _instant(self.fixed_at),
            "notified": sorted(self.notified),
            "acknowledged_by": self.acknowledged_by,
            "fixed_by": self.fixed_by,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "issue") -> SystemicIssue:
        """Read what :meth:`to_dict` wrote; every problem is reported with its path."""
        r = Reader(data, path)
        kwargs = {
            "cause": r.get("cause", lambda v, p: check_slug(v, p, "a root-cause tag")),
            "state": r.get("state", choice(IssueState)),
            "count": r.get("count", check_int),
            "customers": r.get("customers", _ids, default=frozenset()),
            "cases": r.get("cases", _ids, default=frozenset()),
            "first_seen": r.get("first_seen", parse_instant, default=None),
            "last_seen": r.get("last_seen", parse_instant, default=None),
            "recent": r.get("recent", _instants, default=()),
            "told_at": r.get("told_at", check_int, default=0),
            "fixed_at": r.get("fixed_at", parse_instant, default=None),
            "notified": r.get("notified", _ids, default=frozenset()),
            "acknowledged_by": r.get("acknowledged_by", check_id, default=None),
            "fixed_by": r.get("fixed_by", check_id, default=None),
        }
        r.finish()
        return r.build(cls, kwargs)


def _instant(at: datetime | None) -> str | None:
    return None if at is None else format_instant(at)


def _ids(value: object, path: str) -> frozenset[str]:
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "a list of ids", describe(value))
    return frozenset(check_id(v, f"{path}[{i}]") for i, v in enumerate(value))


def _instants(value: object, path: str) -> tuple[datetime, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "a list of times", describe(value))
    return tuple(parse_instant(v, f"{path}[{i}]") for i, v in enumerate(value))


@attrs.frozen
class IssueEvent:
    """What the host should hear: ``kind`` is ``"opened"`` (the threshold was
    crossed, or a fixed cause recurred), ``"grown"`` (the count doubled since the
    host was last told) or ``"fixed"``; ``customers`` are those to tell it is fixed."""

    kind: str
    issue: SystemicIssue
    customers: frozenset[str] = frozenset()


_GROWTH: Final = 2
"""The host hears again about an open issue each time its count doubles."""


def note(
    issues: Mapping[str, SystemicIssue],
    case: FollowUpCase,
    *,
    rules: IssueRules,
    causes: Iterable[str] | None = None,
) -> tuple[dict[str, SystemicIssue], tuple[IssueEvent, ...]]:
    """Count a closed case's root causes (``causes``, by default the case's own
    tags). Returns every issue (changed ones replaced) and the events for the
    host, at most one per cause.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    >>> rules = IssueRules(open_when=Cap(count=2, per=timedelta(days=7)))
    >>> def closed(i):
    ...     case = FollowUpCase.open(id=f"k-{i}", customer_id=f"c-{i}", at=t, by="loopkit")
    ...     return case.fail(at=t, by="e").close(at=t, by="e", root_causes={"late_delivery"})
    >>> issues, events = note({}, closed(1), rules=rules)
    >>> events
    ()
    >>> issues, events = note(issues, closed(2), rules=rules)
    >>> [(e.kind, e.issue.count, e.issue.state.value) for e in events]
    [('opened', 2, 'open')]
    """
    if not case.is_closed:
        raise ValidationError(
            "case", "a closed case (root causes are counted when it closes)", case.state.value
        )
    at = case.events[-1].at
    out = dict(issues)
    events: list[IssueEvent] = []
    for cause in sorted(case.root_causes if causes is None else set(causes)):
        check_slug(cause, "causes", "a root-cause tag")
        issue = out.get(cause) or SystemicIssue(cause=cause)
        if case.id in issue.cases:  # the same case twice counts once
            continue
        recent = tuple(t for t in (*issue.recent, at) if at - t < rules.open_when.per)
        issue = attrs.evolve(
            issue,
            count=issue.count + 1,
            customers=issue.customers | {case.customer_id},
            cases=issue.cases | {case.id},
            first_seen=issue.first_seen or at,
            last_seen=at,
            recent=recent[-rules.open_when.count :],
        )
        crossed = len(issue.recent) >= rules.open_when.count
        if issue.state in (IssueState.WATCHED, IssueState.FIXED) and crossed:
            issue = attrs.evolve(issue, state=IssueState.OPEN, told_at=issue.count)
            events.append(IssueEvent("opened", issue))
        elif issue.state in (IssueState.OPEN, IssueState.ACKNOWLEDGED) and (
            issue.count >= _GROWTH * issue.told_at
        ):
            issue = attrs.evolve(issue, told_at=issue.count)
            events.append(IssueEvent("grown", issue))
        out[cause] = issue
    return out, tuple(events)


def _known(issues: Mapping[str, SystemicIssue], cause: str) -> SystemicIssue:
    issue = issues.get(cause)
    if issue is None:
        raise ValidationError("cause", f"one of the issues {sorted(issues)}", describe(cause))
    return issue


def acknowledge(
    issues: Mapping[str, SystemicIssue], cause: str, *, by: str | None = None
) -> SystemicIssue:
    """The open issue of ``cause``, acknowledged by the organisation (``by``:
    who, an employee id)."""
    issue = _known(issues, cause)
    if issue.state is not IssueState.OPEN:
        raise ConflictError(
            f"issue {cause!r} is {issue.state.value}; expected an open issue to acknowledge",
            key=cause,
            kind="issue",
        )
    return attrs.evolve(issue, state=IssueState.ACKNOWLEDGED, acknowledged_by=by)


def fix(
    issues: Mapping[str, SystemicIssue],
    cause: str,
    *,
    at: datetime,
    rules: IssueRules,
    by: str | None = None,
) -> IssueEvent:
    """Mark the issue of ``cause`` fixed: the event names the customers to tell
    (every affected customer not told before, once; none when the rules say not
    to tell them); the caller adds those it told to ``notified``.
    Fixing an issue twice is a :class:`~loopkit.ConflictError`."""
    issue = _known(issues, cause)
    if issue.state not in (IssueState.OPEN, IssueState.ACKNOWLEDGED):
        raise ConflictError(
            f"issue {cause!r} is {issue.state.value}; expected an open or acknowledged issue "
            "to mark fixed",
            key=cause,
            kind="issue",
        )
    fixed = attrs.evolve(issue, state=IssueState.FIXED, fixed_at=at, fixed_by=by, recent=())
    tell = issue.customers - issue.notified if rules.tell_customers_when_fixed else frozenset()
    return IssueEvent("fixed", fixed, customers=tell)
