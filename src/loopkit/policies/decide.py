"""The decision: given a response, its customer and the time, what follow-up is owed.

:meth:`PolicySet.decide` is a pure function: no I/O, no clock (``now`` is an
argument), the same inputs always give the same :class:`Decision`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

import attrs

from loopkit.businesstime import BusinessCalendar
from loopkit.conditions import compile_first_match
from loopkit.errors import ValidationError
from loopkit.model import Category, Customer, FollowUpCase, Promise, Response, Touchpoint

from .contact import _NO_HISTORY, ContactHistory, ContactRules, _never_contact
from .decision import Decision, Explanation, PolicyTrace
from .planning import (
    _channel,
    _deadline_plan,
    _deadline_plans,
    _DeadlinePlan,
    decide_recovery,
    follow_up,
)
from .policy import (
    PRESENT_CHANNELS,
    UNASSIGNED,
    FollowUpPolicy,
    _check_policies,
    _to_policies,
)
from .privacy import _check_shown, _to_shown
from .recovery import RecoveryPolicy

__all__ = ["PolicySet"]


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
    _first: Callable[..., FollowUpPolicy | None] = attrs.field(init=False, repr=False, eq=False)
    _no_match: dict[Category, str] = attrs.field(init=False, repr=False, eq=False, factory=dict)
    _deadlines: Mapping[str, _DeadlinePlan] = attrs.field(init=False, repr=False, eq=False)
    _recovery_plan: _DeadlinePlan | None = attrs.field(init=False, repr=False, eq=False)
    _first_signal: Callable[..., FollowUpPolicy | None] | None = attrs.field(
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
        first = compile_first_match([p.when for p in self.policies], results=self.policies)
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
        return self._first(response, response.touchpoint, customer, now)

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
            first = compile_first_match(
                [p.when for p in self.policies], optional_response=True, results=self.policies
            )
            object.__setattr__(self, "_first_signal", first)
        return first(None, touchpoint, customer, now)

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
        return follow_up(
            self.contact,
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
        return decide_recovery(
            self.recovery, self._recovery_plan, self.contact, promise, case, customer, now
        )

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
