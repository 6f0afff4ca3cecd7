"""The decision: given a response, its customer and the time, what follow-up is owed.

:meth:`PolicySet.decide` is a pure function: no I/O, no clock (``now`` is an
argument), the same inputs always give the same :class:`Decision`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from loopkit._input.choices import choice
from loopkit._input.instants import check_aware
from loopkit._input.reader import Reader
from loopkit.businesstime import BusinessCalendar, ContactWindow, format_duration, parse_duration
from loopkit.businesstime._table import add_us, from_us, next_open_us, td_us, to_us
from loopkit.conditions import Condition, compile_first_match, resolve_field
from loopkit.errors import BusinessTimeError, ValidationError, describe, describe_input
from loopkit.model import (
    Cap,
    Category,
    Customer,
    DailyWindow,
    FollowUpCase,
    Promise,
    Response,
    Touchpoint,
)

from .policy import (
    PRESENT_CHANNELS,
    UNASSIGNED,
    EscalationStep,
    FollowUpPolicy,
    _positive_duration,
)
from .recovery import RECOVERY_TOPIC, RecoveryPolicy

__all__ = [
    "ContactHistory",
    "ContactRules",
    "Decision",
    "Explanation",
    "PolicySet",
    "PolicyTrace",
    "ScheduledEscalation",
]


# -- contact rules ---------------------------------------------------------------


def _times(value: Sequence[datetime]) -> tuple[datetime, ...]:
    return tuple(sorted(check_aware(t, "ContactHistory") for t in value))


@attrs.frozen(kw_only=True)
class ContactHistory:
    """What the customer already got from us: when follow-up cases were opened
    for them, and when they were invited to surveys. The engine fills it from
    its store; in a unit test, write it by hand.

    >>> from datetime import datetime, timezone
    >>> h = ContactHistory(follow_ups=[datetime(2026, 11, 1, tzinfo=timezone.utc)])
    >>> h.follow_ups_since(datetime(2026, 10, 1, tzinfo=timezone.utc))
    1
    """

    follow_ups: tuple[datetime, ...] = attrs.field(default=(), converter=_times)
    surveys: tuple[datetime, ...] = attrs.field(default=(), converter=_times)

    def follow_ups_since(self, since: datetime) -> int:
        return sum(1 for t in self.follow_ups if t >= since)


def _follow_up_cap(data: object, path: str) -> Cap:
    """One ``[[contact.follow_up_caps]]`` table: ``max``, ``per`` and an
    optional ``when`` (all customers when absent).

    >>> cap = _follow_up_cap({"when": {"field": "customer.segment", "equals": "gold"},
    ...                       "max": 1, "per": "60d"}, "contact.follow_up_caps[0]")
    >>> cap.count, cap.per.days, cap.when is not None
    (1, 60, True)
    """
    return Cap.from_dict(data, path, count_key="max", when=Condition.parse)


@attrs.frozen(kw_only=True)
class ContactRules:
    """The ``[contact]`` table: how loopkit may contact customers.

    ``quiet_hours`` apply to customers who did not give their own;
    ``survey_cooldown`` spaces survey invitations; ``follow_up_caps`` limit
    follow-ups per customer, the first cap whose ``when`` matches applies.
    """

    quiet_hours: DailyWindow | None = None
    survey_cooldown: timedelta | None = None
    follow_up_caps: tuple[Cap, ...] = ()
    stop_survey_on: frozenset[Category] = frozenset({Category.DETRACTOR})
    stop_survey_for: timedelta = timedelta(days=7)

    @classmethod
    def from_dict(cls, data: object, path: str = "contact") -> ContactRules:
        r = Reader(data, path)
        kwargs = {
            "quiet_hours": r.get("quiet_hours", DailyWindow.parse, default=None),
            "survey_cooldown": r.get("survey_cooldown", parse_duration, default=None),
            "follow_up_caps": r.items("follow_up_caps", _follow_up_cap),
            "stop_survey_on": r.get(
                "stop_survey_on", _categories, default=frozenset({Category.DETRACTOR})
            ),
            "stop_survey_for": r.get(
                "stop_survey_for", _positive_duration, default=timedelta(days=7)
            ),
        }
        r.finish()
        return r.build(cls, kwargs)

    def stops_survey(self, response: Response | None, policy: FollowUpPolicy | None) -> bool:
        """Whether this answer stops the automated survey flow (seed 003: never
        ask a customer who just said "1" how likely they are to recommend you).

        The stop belongs to the answer, not to whether a case was opened: it
        holds when the answer's category is one of ``stop_survey_on``
        (detractors, by default) or when the matching policy says
        ``stop_survey``, also when contact rules suppressed the follow-up. A
        touchpoint signal (``response`` is ``None``) stops it only by its policy.

        >>> from loopkit.testing import make_response
        >>> ContactRules().stops_survey(make_response(score=1), None)
        True
        >>> ContactRules().stops_survey(make_response(score=8), None)
        False
        """
        answer = response is not None and response.category in self.stop_survey_on
        return answer or (policy is not None and policy.stop_survey)

    def window_for(self, customer: Customer) -> ContactWindow:
        """When this customer may be contacted, on their own clock: never in
        their quiet hours (or these rules' default), and only inside their
        preferred window when they gave one. Should the two leave no time at
        all, the quiet hours win and the preferred window is ignored
        (:meth:`PolicySet.decide` then says so in its warnings).

        >>> from loopkit.testing import make_customer
        >>> rules = ContactRules(quiet_hours=DailyWindow.parse("20:00-08:00"))
        >>> str(rules.window_for(make_customer()).quiet_hours)
        '20:00-08:00'
        """
        prefs = customer.contact
        return _window(
            customer.timezone, prefs.quiet_hours or self.quiet_hours, prefs.preferred_window
        )

    def may_survey(
        self, customer: Customer, history: ContactHistory, now: datetime
    ) -> tuple[bool, str]:
        """Whether a survey invitation may go out now, and why (not):
        ``(False, "opted_out")``, ``(False, "cooldown")`` or ``(True, "allowed")``.

        >>> from datetime import datetime, timedelta, timezone
        >>> from loopkit.testing import make_customer
        >>> now = datetime(2026, 11, 20, tzinfo=timezone.utc)
        >>> rules = ContactRules(survey_cooldown=timedelta(days=30))
        >>> recent = ContactHistory(surveys=[now - timedelta(days=3)])
        >>> rules.may_survey(make_customer(), recent, now)
        (False, 'cooldown')
        """
        if customer.contact.surveys_opt_out:
            return False, "opted_out"
        cooldown = self.survey_cooldown
        if cooldown is not None and history.surveys and now - history.surveys[-1] < cooldown:
            return False, "cooldown"
        return True, "allowed"

    def capped(
        self,
        response: Response | None,
        customer: Customer,
        history: ContactHistory,
        now: datetime,
        *,
        touchpoint: Touchpoint | None = None,
    ) -> str | None:
        """Why a new follow-up would exceed a frequency cap, or ``None``. For a
        touchpoint signal, ``response`` is ``None`` and ``touchpoint`` is given."""
        for cap in self.follow_up_caps:
            if cap.when is None or cap.when.matches(
                response, customer, touchpoint=touchpoint, now=now
            ):
                count = history.follow_ups_since(now - cap.per)
                if count >= cap.count:
                    return (
                        f"frequency cap: at most {cap.count} follow-up(s) per "
                        f"{format_duration(cap.per)}, and {count} already"
                    )
                return None
        return None


def _never_contact(customer: Customer, rules: ContactRules) -> str | None:
    """Why no contact is ever allowed (quiet hours ``00:00-24:00``), or ``None``."""
    own = customer.contact.quiet_hours
    if own is not None:
        if own.covers_whole_day:
            return "the customer asked never to be contacted (quiet hours 00:00-24:00)"
        return None
    if rules.quiet_hours is not None and rules.quiet_hours.covers_whole_day:
        return "the contact rules' quiet hours cover the whole day (00:00-24:00)"
    return None


@functools.lru_cache(maxsize=4096)
def _window(
    timezone: str, quiet: DailyWindow | None, preferred: DailyWindow | None
) -> ContactWindow:
    try:
        return ContactWindow(timezone=timezone, quiet_hours=quiet, preferred_window=preferred)
    except BusinessTimeError:  # the two leave no time at all: quiet hours win
        return ContactWindow(timezone=timezone, quiet_hours=quiet)


def _categories(value: object, path: str) -> frozenset[Category]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(
            path, 'a list of categories such as ["detractor"] (may be empty)', describe(value)
        )
    read = choice(Category)
    return frozenset(read(v, f"{path}[{i}]") for i, v in enumerate(value))


_NO_HISTORY: Final = ContactHistory()

_DeadlinePlan = tuple[BusinessCalendar, ZoneInfo, int, int, tuple[int, ...]]
"""A policy's deadline worked out once: calendar, its zone, the time allowed and
the warning's share of it, and each escalation step's delay, in microseconds."""


def _deadline_plan(
    policy: FollowUpPolicy | RecoveryPolicy, calendars: Mapping[str, BusinessCalendar]
) -> _DeadlinePlan | None:
    if policy.deadline is None:
        return None
    calendar = calendars[policy.deadline.calendar]
    within = td_us(policy.deadline.within)
    return (
        calendar,
        calendar.zone,
        within,
        round(within * policy.warn_at_fraction),
        tuple(td_us(step.after) for step in policy.escalate),
    )


def _deadline_plans(
    policies: Sequence[FollowUpPolicy], calendars: Mapping[str, BusinessCalendar]
) -> Mapping[str, _DeadlinePlan]:
    plans = {policy.name: _deadline_plan(policy, calendars) for policy in policies}
    return {name: plan for name, plan in plans.items() if plan is not None}


# -- explanations ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PolicyTrace:
    """One policy's verdict: matched, or the first condition that failed (at
    which place in the policy) and the value it saw, personal data redacted."""

    policy: str
    matched: bool
    failed: str | None = None
    at: str | None = None
    saw: str | None = None
    decided: bool = False

    @property
    def failed_condition(self) -> str | None:
        """The first condition that failed, as text (``response.score le 6``)."""
        return self.failed

    def __str__(self) -> str:
        if self.matched:
            verdict = (
                "matched, and decided" if self.decided else "matched (an earlier policy decided)"
            )
            return f"{self.policy}: {verdict}"
        return f"{self.policy}: no, {self.at}: {self.failed} (saw {self.saw})"


@attrs.frozen(kw_only=True)
class Explanation:
    """Why a decision was made: every policy's trace, in order, and the one
    that decided (``None`` when none matched). Personal data never shows: a
    comment or name is described by its length only.

    >>> from loopkit.policies import FollowUpPolicy, PolicySet
    >>> from loopkit.testing import make_customer, make_response
    >>> policy = FollowUpPolicy.from_dict({"name": "low", "channels": ["email"],
    ...     "owner": "team:cx", "when": {"field": "response.score", "le": 6}})
    >>> promoter = make_response(score=10)
    >>> print(PolicySet(policies=[policy]).explain(promoter, make_customer(), promoter.answered_at))
    no policy matched
      low: no, when: response.score le 6 (saw response.score = 10)
    """

    traces: tuple[PolicyTrace, ...]
    decided_by: str | None

    def explain(self) -> str:
        """The explanation as text: one line per policy, in order."""
        head = f"decided by {self.decided_by!r}" if self.decided_by else "no policy matched"
        return "\n".join([head, *(f"  {t}" for t in self.traces)])

    def __str__(self) -> str:
        return self.explain()

    def __iter__(self) -> Iterator[PolicyTrace]:
        return iter(self.traces)

    def trace(self, policy: str) -> PolicyTrace:
        """The trace of one policy by name."""
        for t in self.traces:
            if t.policy == policy:
                return t
        raise KeyError(policy)


# -- decisions -------------------------------------------------------------------

_MAX_HOPS = 64


def _first_contact(window: ContactWindow, calendar: BusinessCalendar | None, at: int) -> int | None:
    """The first instant (UTC microseconds) at or after ``at`` when the business
    is open (on the deadline's calendar, if any) and the customer may be
    contacted; ``None`` when the two never meet within a few weeks of hops."""
    if calendar is None:
        return window.next_allowed_us(at)
    for _ in range(_MAX_HOPS):
        opened = next_open_us(calendar, at)
        allowed = window.next_allowed_us(opened)
        if allowed == opened:
            return allowed
        at = allowed
    return None


@attrs.frozen(kw_only=True)
class ScheduledEscalation:
    """Step ``level`` (from 1) of the escalation ladder: at ``at`` the case goes
    to ``to``. See :attr:`Decision.escalations`."""

    at: datetime
    to: str
    level: int


@attrs.frozen(kw_only=True)
class Decision:
    """What a response (or a touchpoint signal) calls for. ``follow_up`` says
    whether a case is owed; when a policy matched but contact rules said no,
    ``suppressed`` says why. ``touchpoint_id`` is the touchpoint decided on
    (the response's, when it has one).

    ``due_at`` and ``warn_at`` are in business time from the answer (from
    when the promise broke, for a recovery);
    ``first_contact_at`` is the earliest instant at or after ``now`` when the
    business is open (on the deadline's calendar, when the policy has a
    deadline) and the customer may be contacted (outside their quiet hours,
    inside their preferred window, on their own clock); on a channel where the
    employee is with the customer (``in_person``) it is ``now``.
    ``stop_survey`` says the answer stops the automated survey flow (also when
    no case is opened). ``warnings`` lists problems a person should see (such
    as a deadline that quiet hours make impossible). ``explanation`` is
    computed when asked for. ``response_id`` is ``None`` for a decision that no
    response prompted: a touchpoint signal (:meth:`PolicySet.decide_touchpoint`,
    the deadline then counts from the touchpoint) or the recovery of a broken
    promise.
    """

    response_id: str | None
    touchpoint_id: str | None = None
    customer_id: str
    policy: FollowUpPolicy | None
    follow_up: bool
    reason: str
    owner: str | None = None
    channel: str | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    first_contact_at: datetime | None = None
    escalations: tuple[ScheduledEscalation, ...] = ()
    stop_survey: bool = False
    required_steps: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()
    suppressed: str | None = None
    _explain: Callable[[], Explanation] = attrs.field(alias="explain", repr=False, eq=False)

    @property
    def explanation(self) -> Explanation:
        """Every policy's verdict on this response (computed on demand)."""
        return self._explain()


def _to_policies(value: Sequence[FollowUpPolicy]) -> tuple[FollowUpPolicy, ...]:
    return tuple(value)


def _check_policies(value: object, path: str) -> tuple[FollowUpPolicy, ...]:
    if not isinstance(value, tuple) or not all(isinstance(p, FollowUpPolicy) for p in value):
        raise ValidationError(path, "a tuple of FollowUpPolicy", describe(value))
    names = [p.name for p in value]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ValidationError(f"{path}[{i}].name", "a name no other policy has", repr(name))
    return value


def check_shown_attributes(value: object, path: str) -> frozenset[str]:
    """Attribute fields whose values explanations may show, such as
    ``customer.attributes.tier`` (every other attribute value is described)."""
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(path, "a list of attribute fields", describe_input(value))
    for i, item in enumerate(value):
        spec = resolve_field(item)
        if spec is None or spec.key is None:
            raise ValidationError(
                f"{path}[{i}]",
                "an attribute field such as 'customer.attributes.tier'",
                describe_input(item),
            )
    return frozenset(value)


def _to_shown(value: Iterable[str]) -> frozenset[str]:
    return value if isinstance(value, frozenset) else frozenset(value)


def _check_shown(value: frozenset[str]) -> None:
    check_shown_attributes(value, "PolicySet.shown_attributes")


@attrs.frozen(kw_only=True)
class PolicySet:
    """Policies in order, with the calendars and contact rules they use.
    The first policy that matches decides.

    Every calendar a policy names must be among ``calendars`` (checked here,
    when the set is built, not when a response arrives).

    Explanations describe the values of free attributes (type and length:
    they may hold personal data) except those named in ``shown_attributes``
    (``customer.attributes.tier``: the playbook's ``privacy.shown_attributes``).
    """

    policies: tuple[FollowUpPolicy, ...] = attrs.field(converter=_to_policies)
    calendars: Mapping[str, BusinessCalendar] = attrs.field(factory=dict)
    contact: ContactRules = attrs.field(factory=ContactRules)
    recovery: RecoveryPolicy = attrs.field(factory=RecoveryPolicy)
    shown_attributes: frozenset[str] = attrs.field(
        default=frozenset(), converter=_to_shown, validator=lambda _s, _a, v: _check_shown(v)
    )
    _first: Callable[..., int] = attrs.field(init=False, repr=False, eq=False)
    _no_match: dict[Category, str] = attrs.field(init=False, repr=False, eq=False, factory=dict)
    _deadlines: Mapping[str, _DeadlinePlan] = attrs.field(init=False, repr=False, eq=False)
    _recovery_plan: _DeadlinePlan | None = attrs.field(init=False, repr=False, eq=False)
    _first_signal: Callable[..., int] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        _check_policies(self.policies, "policies")
        named = [(f"policies[{i}]", p.deadline) for i, p in enumerate(self.policies)]
        for at, deadline in [*named, ("recovery", self.recovery.deadline)]:
            if deadline is not None and deadline.calendar not in self.calendars:
                raise ValidationError(
                    f"{at}.deadline.calendar",
                    f"one of the calendars {sorted(self.calendars)}",
                    repr(deadline.calendar),
                )
        first = compile_first_match([p.when for p in self.policies])
        object.__setattr__(self, "_first", first)
        object.__setattr__(self, "_deadlines", _deadline_plans(self.policies, self.calendars))
        object.__setattr__(self, "_recovery_plan", _deadline_plan(self.recovery, self.calendars))

    def __iter__(self) -> Iterator[FollowUpPolicy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def __getitem__(self, name: str) -> FollowUpPolicy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)

    def with_calendars(self, calendars: Mapping[str, BusinessCalendar]) -> PolicySet:
        return PolicySet(
            policies=self.policies,
            calendars=calendars,
            contact=self.contact,
            recovery=self.recovery,
            shown_attributes=self.shown_attributes,
        )

    def channels(self) -> frozenset[str]:
        """Every channel a policy (or the recovery) may send a message on; the
        channels where the employee is with the customer send none."""
        named = {c for p in self.policies for c in p.channels} | set(self.recovery.channels)
        return frozenset(named - PRESENT_CHANNELS)

    def match(self, response: Response, customer: Customer, now: datetime) -> FollowUpPolicy | None:
        """The first policy that matches, or ``None`` (the hot path)."""
        index = self._first(response, response.touchpoint, customer, now)
        return None if index < 0 else self.policies[index]

    def match_touchpoint(
        self, touchpoint: Touchpoint, customer: Customer, now: datetime
    ) -> FollowUpPolicy | None:
        """The first policy that matches a touchpoint signal (a touchpoint with
        no survey answer, such as a cancellation), or ``None``. Response fields
        are missing: a positive test on one fails, a negated one holds.

        >>> from loopkit.testing import make_customer, make_touchpoint
        >>> leaving = FollowUpPolicy.from_dict({"name": "leaving", "channels": ["phone"],
        ...     "owner": "team:retention",
        ...     "when": {"field": "touchpoint.kind", "equals": "cancellation"}})
        >>> tp = make_touchpoint("cancellation")
        >>> PolicySet(policies=[leaving]).match_touchpoint(tp, make_customer(), tp.occurred_at).name
        'leaving'
        """
        first = self._first_signal
        if first is None:  # compiled on first use: most playbooks never see a signal
            first = compile_first_match([p.when for p in self.policies], optional_response=True)
            object.__setattr__(self, "_first_signal", first)
        index = first(None, touchpoint, customer, now)
        return None if index < 0 else self.policies[index]

    def no_match_reason(self, response: Response) -> str:
        """The reason given when no policy matches ``response``.

        >>> from loopkit.testing import make_response
        >>> PolicySet(policies=[]).no_match_reason(make_response(score=10))
        'no follow-up: none of the 0 policies matched this promoter response'
        """
        reason = self._no_match.get(response.category)
        if reason is None:  # one text per category, made once
            reason = self._no_match[response.category] = (
                f"no follow-up: none of the {len(self.policies)} policies matched "
                f"this {response.category.value} response"
            )
        return reason

    def explain(self, response: Response, customer: Customer, now: datetime) -> Explanation:
        """Every policy's verdict, in order, and which one decides."""
        return self._explain(response, None, customer, now)

    def explain_touchpoint(
        self, touchpoint: Touchpoint, customer: Customer, now: datetime
    ) -> Explanation:
        """Every policy's verdict on a touchpoint signal, in order, and which
        one decides (a failed response test shows ``saw no response``)."""
        return self._explain(None, touchpoint, customer, now)

    def _explain(
        self,
        response: Response | None,
        touchpoint: Touchpoint | None,
        customer: Customer,
        now: datetime,
    ) -> Explanation:
        traces = []
        decided: str | None = None
        for policy in self.policies:
            trace = policy.when.explain(
                response, customer, touchpoint=touchpoint, now=now, shown=self.shown_attributes
            )
            traces.append(
                PolicyTrace(
                    policy=policy.name,
                    matched=trace.matched,
                    failed=trace.failed,
                    at=trace.at,
                    saw=trace.saw,
                )
            )
            if trace.matched and decided is None:
                decided = policy.name
                traces[-1] = attrs.evolve(traces[-1], decided=True)
        return Explanation(traces=tuple(traces), decided_by=decided)

    def decide(
        self,
        response: Response,
        customer: Customer,
        now: datetime,
        *,
        history: ContactHistory | None = None,
    ) -> Decision:
        """What follow-up ``response`` calls for, as of ``now`` (pure): the first
        policy that matches decides. ``history`` (what the customer already
        got) feeds the frequency caps. Never reads the clock, never raises for
        valid model values.

        >>> from loopkit.testing import make_customer, make_response
        >>> policy = FollowUpPolicy.from_dict({"name": "low", "channels": ["phone", "email"],
        ...     "owner": "touchpoint.employee_id", "when": {"field": "response.score", "le": 6}})
        >>> r = make_response(score=3)
        >>> d = PolicySet(policies=[policy]).decide(r, make_customer(), r.answered_at)
        >>> d.follow_up, d.owner, d.channel
        (True, 'emp-7', 'phone')
        """
        return self.decide_for(
            self.match(response, customer, now), response, customer, now, history=history
        )

    def decide_for(
        self,
        policy: FollowUpPolicy | None,
        response: Response,
        customer: Customer,
        now: datetime,
        *,
        history: ContactHistory | None = None,
    ) -> Decision:
        """What ``policy`` calls for (``None``: no follow-up), whether or not it
        matches: for a caller that has already run :meth:`match`, or a test
        asking what one policy would do. Pure, like :meth:`decide`."""
        explain = functools.partial(self.explain, response, customer, now)
        return self._decide(policy, response, response.touchpoint, customer, now, history, explain)

    def decide_touchpoint(
        self,
        touchpoint: Touchpoint,
        customer: Customer,
        now: datetime,
        *,
        history: ContactHistory | None = None,
    ) -> Decision:
        """What a touchpoint signal calls for (a touchpoint with no survey
        answer: a cancellation, a customer arriving from a rival), as of
        ``now`` (pure): the first policy that matches decides, response fields
        read as missing (:meth:`match_touchpoint`), and the deadline counts
        from ``touchpoint.occurred_at``. The decision's ``response_id`` is
        ``None``.

        >>> from loopkit.testing import make_customer, make_touchpoint
        >>> leaving = FollowUpPolicy.from_dict({"name": "leaving", "channels": ["phone"],
        ...     "owner": "team:retention",
        ...     "when": {"field": "touchpoint.kind", "equals": "cancellation"}})
        >>> tp = make_touchpoint("cancellation")
        >>> d = PolicySet(policies=[leaving]).decide_touchpoint(
        ...     tp, make_customer(), tp.occurred_at)
        >>> d.follow_up, d.owner, d.response_id, d.touchpoint_id
        (True, 'team:retention', None, 't-1')
        """
        return self.decide_touchpoint_for(
            self.match_touchpoint(touchpoint, customer, now),
            touchpoint,
            customer,
            now,
            history=history,
        )

    def decide_touchpoint_for(
        self,
        policy: FollowUpPolicy | None,
        touchpoint: Touchpoint,
        customer: Customer,
        now: datetime,
        *,
        history: ContactHistory | None = None,
    ) -> Decision:
        """What ``policy`` calls for on a touchpoint signal (``None``: no
        follow-up), for a caller that has already run :meth:`match_touchpoint`.
        Pure, like :meth:`decide_touchpoint`."""
        explain = functools.partial(self.explain_touchpoint, touchpoint, customer, now)
        return self._decide(policy, None, touchpoint, customer, now, history, explain)

    def _decide(
        self,
        policy: FollowUpPolicy | None,
        response: Response | None,
        touchpoint: Touchpoint | None,
        customer: Customer,
        now: datetime,
        history: ContactHistory | None,
        explain: Callable[[], Explanation],
    ) -> Decision:
        """The decision for a response (its touchpoint, if any, is
        ``touchpoint``) or a touchpoint signal (``response`` is ``None``)."""
        stop = self.contact.stops_survey(response, policy)
        response_id = None if response is None else response.id
        touchpoint_id = None if touchpoint is None else touchpoint.id
        channel = why = None
        if policy is not None:
            channel = _channel(policy.channels, customer)
            if channel is None:
                why = f"the customer consented to none of the channels {list(policy.channels)}"
            elif channel not in PRESENT_CHANNELS:  # a valid wish: the answer is kept
                why = _never_contact(customer, self.contact)
            if why is None and channel is not None:
                why = self.contact.capped(
                    response, customer, history or _NO_HISTORY, now, touchpoint=touchpoint
                )
        if policy is None or channel is None or why is not None:
            if policy is not None:
                reason = f"matched {policy.name!r}, but {why}"
            elif response is not None:
                reason = self.no_match_reason(response)
            else:
                assert touchpoint is not None  # a signal always has its touchpoint
                reason = (
                    f"no follow-up: none of the {len(self.policies)} policies matched "
                    f"this {touchpoint.kind} signal (a touchpoint with no response)"
                )
            return Decision(
                response_id=response_id,
                touchpoint_id=touchpoint_id,
                customer_id=customer.id,
                explain=explain,
                policy=policy,
                follow_up=False,
                suppressed=why,
                reason=reason,
                stop_survey=stop,
            )
        warnings: list[str] = []
        owner = policy.owner.resolve(response, touchpoint, customer)
        if owner is None:
            fallback = next((str(s.to) for s in policy.escalate if s.to.field is None), UNASSIGNED)
            warnings.append(f"{policy.owner} is empty or not an id: the case goes to {fallback}")
            owner = fallback
        if response is not None:
            start = response.answered_at
        else:
            assert touchpoint is not None  # a signal always has its touchpoint
            start = touchpoint.occurred_at
        return self._follow_up(
            policy.name,
            policy.escalate,
            self._deadlines.get(policy.name),
            policy=policy,
            require=policy.require,
            channel=channel,
            owner=owner,
            customer=customer,
            start=start,
            now=now,
            target=lambda step: step.to.resolve(response, touchpoint, customer),
            warnings=warnings,
            response_id=response_id,
            touchpoint_id=touchpoint_id,
            stop_survey=stop,
            explain=explain,
        )

    def _follow_up(
        self,
        name: str,
        escalate: tuple[EscalationStep, ...],
        plan: _DeadlinePlan | None,
        *,
        policy: FollowUpPolicy | None,
        require: frozenset[str],
        channel: str | None,
        owner: str,
        customer: Customer,
        start: datetime,
        now: datetime,
        target: Callable[[EscalationStep], str | None],
        warnings: list[str],
        response_id: str | None,
        stop_survey: bool,
        touchpoint_id: str | None = None,
        explain: Callable[[], Explanation],
    ) -> Decision:
        """The follow-up owed once the channel and the owner are known: the
        deadline, its warning and escalations in business time from ``start``,
        and the first contact the customer and the business allow."""
        # Business time in UTC microseconds: the start is converted once, and
        # each result once on the way out.
        due_at = warn_at = None
        due_us: int | None = None
        escalations: list[ScheduledEscalation] = []
        start_us = to_us(start)
        calendar = None
        if plan is not None:
            calendar, calendar_zone, within, warn_within, afters = plan
            due_us = add_us(calendar, start_us, within)
            due_at = from_us(due_us, calendar_zone)
            warn_at = from_us(add_us(calendar, start_us, warn_within), calendar_zone)
            at = due_us
            for level, (step, after) in enumerate(zip(escalate, afters, strict=True), 1):
                at = add_us(calendar, at, after)
                escalations.append(
                    ScheduledEscalation(
                        at=from_us(at, calendar_zone), to=target(step) or owner, level=level
                    )
                )
        now_us = to_us(now)
        start_at = max(now_us, start_us)
        if channel is None or channel in PRESENT_CHANNELS:
            # The employee is with the customer already, or must find a way to them.
            first = from_us(start_at, ZoneInfo(customer.timezone))
        else:
            window = self.contact.window_for(customer)
            if customer.contact.preferred_window is not None and window.preferred_window is None:
                warnings.append(
                    "the customer's preferred window lies inside their quiet hours: it was ignored"
                )
            first_us = _first_contact(window, calendar, start_at)
            if first_us is None:
                first_us = window.next_allowed_us(start_at)
                warnings.append(
                    "the customer may never be contacted while the business is open: "
                    "their quiet hours or preferred window cover every opening hour"
                )
            elif due_us is not None and due_us < now_us:
                warnings.append(
                    "the deadline had passed when it was decided: the clock starts when the "
                    "customer answered (when the touchpoint occurred, for a signal; when the "
                    "promise broke, for a recovery)"
                )
            elif due_us is not None and first_us > due_us:
                warnings.append(
                    "the deadline cannot be met: the customer's quiet hours or preferred window "
                    "allow the first contact only after it"
                )
            first = from_us(first_us, window.zone)
        reason = f"matched policy {name!r}: {channel} follow-up owned by {owner}"
        if due_at is not None:
            reason += f", due {due_at.isoformat(timespec='minutes')}"
        return Decision(
            follow_up=True,
            reason=reason,
            owner=owner,
            channel=channel,
            due_at=due_at,
            warn_at=warn_at,
            first_contact_at=first,
            escalations=tuple(escalations),
            stop_survey=stop_survey,
            required_steps=require,
            warnings=tuple(warnings),
            response_id=response_id,
            touchpoint_id=touchpoint_id,
            customer_id=customer.id,
            explain=explain,
            policy=policy,
        )

    def decide_recovery(
        self, promise: Promise, case: FollowUpCase, customer: Customer, now: datetime
    ) -> Decision:
        """How a broken promise is put right, by the ``[recovery]`` rules (pure).

        ``case`` is the case the promise was made on; ``customer`` gives the
        channels, quiet hours and preferred window. The deadline counts from
        when the promise broke (its ``due_at``); the first contact is the
        earliest moment at or after ``now`` that the business and the customer
        allow. ``decision.policy`` is ``None`` (no policy matched a response).
        A customer who consented to none of the channels gets
        none: ``follow_up`` is still true (a recovery case is owed), with
        ``channel`` ``None`` and a warning.

        >>> from datetime import datetime, timedelta, timezone
        >>> from loopkit.testing import make_customer
        >>> t = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
        >>> promise = Promise(id="p-1", case_id="k-1", customer_id="c-1", kind="call_back",
        ...                   made_by="emp-7", made_at=t, due_at=t + timedelta(hours=2))
        >>> case = FollowUpCase.open(id="k-1", customer_id="c-1", at=t, by="loopkit")
        >>> d = PolicySet(policies=[]).decide_recovery(promise, case, make_customer(), t)
        >>> d.owner, sorted(d.required_steps), d.due_at is None
        ('emp-7', ['apology'], True)
        """
        rec = self.recovery
        explain = functools.partial(Explanation, traces=(), decided_by=RECOVERY_TOPIC)
        channels = rec.channels or (() if case.channel is None else (case.channel,))
        channel = _channel(channels, customer)
        owner = rec.owner.resolve(promise, case)
        warnings: list[str] = []
        never = None if channel in PRESENT_CHANNELS else _never_contact(customer, self.contact)
        if never is not None:
            channel = None
            warnings.append(f"{never}: no apology message is sent")
        elif channel is None:
            warnings.append(
                f"the customer consented to none of the channels {list(channels)}: "
                "the owner must find another way to reach them"
            )
        decision = self._follow_up(
            RECOVERY_TOPIC,
            rec.escalate,
            self._recovery_plan,
            policy=None,
            require=rec.require,
            channel=channel,
            owner=owner,
            customer=customer,
            start=promise.due_at,
            now=now,
            target=lambda step: None if step.to.field is not None else str(step.to),
            warnings=warnings,
            response_id=None,
            stop_survey=False,
            explain=explain,
        )
        reason = f"promise {promise.id} ({promise.kind}) was broken: recovery owned by {owner}"
        if decision.due_at is not None:
            reason += f", due {decision.due_at.isoformat(timespec='minutes')}"
        return attrs.evolve(decision, reason=reason)

    def decide_all(
        self,
        response: Response,
        customer: Customer,
        now: datetime,
        *,
        history: ContactHistory | None = None,
    ) -> tuple[Decision, ...]:
        """All-match mode: one decision per matching policy, in order, skipping a
        policy whose topic an earlier match already took (one case per topic).

        >>> from loopkit.testing import make_customer, make_response
        >>> low = FollowUpPolicy.from_dict({"name": "low", "channels": ["email"],
        ...     "owner": "team:cx", "when": {"field": "response.score", "le": 6}})
        >>> lower = FollowUpPolicy.from_dict({"name": "lower", "channels": ["email"],
        ...     "owner": "team:leads", "when": {"field": "response.score", "le": 2}})
        >>> r = make_response(score=1)
        >>> [d.policy.name for d in PolicySet(policies=[low, lower]).decide_all(
        ...     r, make_customer(), r.answered_at)]
        ['low', 'lower']
        """
        out: list[Decision] = []
        topics: set[str] = set()
        t = response.touchpoint
        for policy in self.policies:
            if policy.topic in topics or not policy.when.matches(
                response, customer, touchpoint=t, now=now
            ):
                continue
            topics.add(policy.topic)
            out.append(self.decide_for(policy, response, customer, now, history=history))
        return tuple(out)


def _channel(channels: Sequence[str], customer: Customer) -> str | None:
    """The first of ``channels`` the customer may be reached on: one they gave
    an address for and consented to, or one where the employee is with them."""
    address_for = customer.contact.address_for
    for candidate in channels:
        if candidate in PRESENT_CHANNELS or address_for(candidate) is not None:
            return candidate
    return None
