"""Working out a follow-up once a policy decided: the channel, the deadline, its
warning and escalations in business time, and the first contact the customer and the
business allow."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from loopkit._input.trusted import builder
from loopkit.businesstime import BusinessCalendar, ContactWindow
from loopkit.businesstime.microseconds import add_us, from_us, next_open_us, td_us, to_us
from loopkit.model import Customer, FollowUpCase, Promise

from .contact import ContactRules, _never_contact
from .decision import Decision, Explanation, ScheduledEscalation
from .policy import PRESENT_CHANNELS, EscalationStep, FollowUpPolicy
from .recovery import RECOVERY_TOPIC, RecoveryPolicy

# Built from the parts computed here, without attrs' __init__: with the engine's
# builder for timer rows, 1.3% of ingest's instructions on bench_ingest.py's
# half-open feed (callgrind, 189 to 187 thousand a response).
_build_decision: Final = builder(Decision)

__all__ = ["decide_recovery", "follow_up"]


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


def _channel(channels: Sequence[str], customer: Customer) -> str | None:
    """The first of ``channels`` the customer may be reached on: one they gave
    an address for and consented to, or one where the employee is with them."""
    address_for = customer.contact.address_for
    for candidate in channels:
        if candidate in PRESENT_CHANNELS or address_for(candidate) is not None:
            return candidate
    return None


def follow_up(
    contact: ContactRules,
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
    """The follow-up owed once the channel and the owner are known (under the
    contact rules ``contact``): the
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
        steps = zip(escalate, afters, strict=True) if escalate else ()  # most have none
        for level, (step, after) in enumerate(steps, 1):
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
        window = contact.window_for(customer)
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
    return _build_decision(
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
    rules: RecoveryPolicy,
    plan: _DeadlinePlan | None,
    contact: ContactRules,
    promise: Promise,
    case: FollowUpCase,
    customer: Customer,
    now: datetime,
) -> Decision:
    """How a broken promise is put right by the ``[recovery]`` ``rules``; see
    :meth:`PolicySet.decide_recovery`."""
    explain = functools.partial(Explanation, traces=(), decided_by=RECOVERY_TOPIC)
    channels = rules.channels or (() if case.channel is None else (case.channel,))
    channel = _channel(channels, customer)
    owner = rules.owner.resolve(promise, case)
    warnings: list[str] = []
    never = None if channel in PRESENT_CHANNELS else _never_contact(customer, contact)
    if never is not None:
        channel = None
        warnings.append(f"{never}: no apology message is sent")
    elif channel is None:
        warnings.append(
            f"the customer consented to none of the channels {list(channels)}: "
            "the owner must find another way to reach them"
        )
    decision = follow_up(
        contact,
        RECOVERY_TOPIC,
        rules.escalate,
        plan,
        policy=None,
        require=rules.require,
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
