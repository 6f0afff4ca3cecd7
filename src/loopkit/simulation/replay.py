"""Replaying answers through a playbook's policies and compensation rules
without a store and without sending anything (pure): what would have
happened, counted as it goes so memory does not grow with the answers.

Each answer is decided as at the moment it was given
(:meth:`~loopkit.policies.PolicySet.decide`, the same decision the engine
applies), with no contact history (frequency caps and cases already open
are a store's, and are not counted). A decision that opens a case counts
it by day (in ``zone``), by owner and by policy; its deadline is breached
when the case's contact (:mod:`.capacity`) ends after it, and each
escalation step whose time comes before the contact is one escalation.
With no staff (``staff=None``) nobody contacts anyone: every deadline that
falls by the end of the data (the last answer) is missed, and so is every
escalation step by then; later ones are still open.

"Compensation that would have been spent" is, for every case, the offer of
the top-ranked compensation rule that matches (ranked as
:func:`~loopkit.compensation.propose_offers` ranks: ``rank``, then the
highest value), summed by currency; rules' ``max_per_customer`` caps are
not applied (they depend on the ledger), so it is an upper bound. An offer
above every authority limit of the playbook is counted as needing approval.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from loopkit.businesstime import BusinessCalendar
from loopkit.compensation import AuthorityLimits, CompensationRule, CompensationRules
from loopkit.model import Customer, Response
from loopkit.policies import PolicySet

from .capacity import DEFAULT_PER_CONTACT, Team

__all__ = ["Simulation", "SimulationResult", "simulate"]

_UTC = ZoneInfo("UTC")
_ZERO = Decimal(0)


@attrs.frozen(kw_only=True)
class SimulationResult:
    """What a replay counted. ``deadlines`` = ``met`` + ``missed`` + ``open``
    (``open``: not yet due at the end of the data, with no staff).
    ``spent`` maps a currency to the amount; ``offers`` counts cases with an
    offer, ``over_authority`` those whose offer is above every limit."""

    answers: int
    cases: int
    suppressed: int
    by_day: Mapping[str, int]
    by_owner: Mapping[str, int]
    by_policy: Mapping[str, int]
    staff: int | None
    per_contact: timedelta
    deadlines: int
    met: int
    missed: int
    open: int
    escalations: int
    offers: int
    over_authority: int
    spent: Mapping[str, Decimal]

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready values (amounts as strings, so no cent is lost)."""
        data = attrs.asdict(self)
        data["per_contact_minutes"] = self.per_contact.total_seconds() / 60
        del data["per_contact"]
        data["spent"] = {c: str(a) for c, a in sorted(self.spent.items())}
        for key in ("by_day", "by_owner", "by_policy"):
            data[key] = dict(sorted(data[key].items()))
        return data


class Simulation:
    """One playbook's replay, fed answers in time order with :meth:`add`;
    :meth:`result` says what would have happened. Holds counters, not cases."""

    def __init__(
        self,
        policies: PolicySet,
        rules: CompensationRules | None = None,
        *,
        authority: AuthorityLimits | None = None,
        staff: int | None = None,
        per_contact: timedelta = DEFAULT_PER_CONTACT,
        zone: ZoneInfo = _UTC,
    ) -> None:
        self.policies = policies
        self.rules = rules if rules is not None else CompensationRules()
        self._limits = tuple((authority or AuthorityLimits()).limits.values())
        self.staff = staff
        self.per_contact = per_contact
        self.zone = zone
        self._team = None if staff is None else Team(staff, per_contact)
        self._calendars: Mapping[str, BusinessCalendar] = policies.calendars
        self._counts: Counter[str] = Counter()
        self._day: Counter[str] = Counter()
        self._owner: Counter[str] = Counter()
        self._policy: Counter[str] = Counter()
        self._spent: dict[str, Decimal] = {}
        self._end: datetime | None = None
        # with no staff: deadlines and escalation steps not yet reached by the
        # latest answer (a heap each: only those within the horizon are held)
        self._pending: list[datetime] = []
        self._pending_escalations: list[datetime] = []

    def add(self, response: Response, customer: Customer) -> None:
        """Decide ``response`` as at its answer time and count what follows."""
        at = response.answered_at
        end = self._end
        if end is None or at > end:
            self._end = at
            if self._pending or self._pending_escalations:  # only ever without staff
                self._reach(at)
        counts = self._counts
        counts["answers"] += 1
        decision = self.policies.decide(response, customer, at)
        if not decision.follow_up:
            if decision.policy is not None:
                counts["suppressed"] += 1
            return
        counts["cases"] += 1
        self._day[at.astimezone(self.zone).date().isoformat()] += 1
        self._owner[decision.owner or "-"] += 1
        policy = decision.policy
        if policy is not None:
            self._policy[policy.name] += 1
        self._offer(response, customer)
        due = decision.due_at
        if due is not None:
            counts["deadlines"] += 1
        if self._team is None:
            if due is not None:
                heapq.heappush(self._pending, due)
            for step in decision.escalations:
                heapq.heappush(self._pending_escalations, step.at)
            self._reach(at)
            return
        deadline = None if policy is None else policy.deadline
        calendar = None if deadline is None else self._calendars.get(deadline.calendar)
        done = self._team.contact(at, calendar)
        if due is not None:
            counts["met" if done <= due else "missed"] += 1
        if decision.escalations:
            counts["escalations"] += sum(1 for step in decision.escalations if step.at < done)

    def _reach(self, end: datetime) -> None:
        """With no staff: deadlines and escalation steps at or before ``end``
        (the latest answer so far) have passed; count them, hold only the rest."""
        while self._pending and self._pending[0] <= end:
            heapq.heappop(self._pending)
            self._counts["missed"] += 1
        while self._pending_escalations and self._pending_escalations[0] <= end:
            heapq.heappop(self._pending_escalations)
            self._counts["escalations"] += 1

    def _offer(self, response: Response, customer: Customer) -> None:
        if not self.rules.rules:
            return
        best: tuple[tuple[int, int, Decimal, int], CompensationRule] | None = None
        for index, rule in enumerate(self.rules.propose(response, customer)):
            value = rule.offer.value
            key = (rule.rank, 1, _ZERO, index)
            if value is not None:
                key = (rule.rank, 0, -value.amount, index)
            if best is None or key < best[0]:
                best = (key, rule)
        if best is None:
            return
        self._counts["offers"] += 1
        value = best[1].offer.value
        if value is None:
            return
        self._spent[value.currency] = self._spent.get(value.currency, Decimal(0)) + value.amount
        if not any(limit.currency == value.currency and value <= limit for limit in self._limits):
            self._counts["over_authority"] += 1

    def result(self) -> SimulationResult:
        """What the replay counted so far."""
        c = self._counts
        still_open = len(self._pending)  # not yet due at the latest answer
        return SimulationResult(
            answers=c["answers"],
            cases=c["cases"],
            suppressed=c["suppressed"],
            by_day=dict(self._day),
            by_owner=dict(self._owner),
            by_policy=dict(self._policy),
            staff=self.staff,
            per_contact=self.per_contact,
            deadlines=c["deadlines"],
            met=c["met"],
            missed=c["missed"],
            open=still_open,
            escalations=c["escalations"],
            offers=c["offers"],
            over_authority=c["over_authority"],
            spent=dict(self._spent),
        )


def simulate(
    answers: Iterable[tuple[Response, Customer]],
    policies: PolicySet,
    rules: CompensationRules | None = None,
    **options: Any,
) -> SimulationResult:
    """Replay ``answers`` (in time order) through ``policies`` and ``rules``
    (pure); ``options`` are :class:`Simulation`'s.

    >>> from loopkit.policies import FollowUpPolicy
    >>> from loopkit.testing import make_customer, make_response
    >>> low = FollowUpPolicy.from_dict({"name": "low", "channels": ["phone"],
    ...     "owner": "touchpoint.employee_id", "when": {"field": "response.score", "le": 6}})
    >>> answers = [(make_response(score=s), make_customer()) for s in (2, 9, 4)]
    >>> result = simulate(answers, PolicySet(policies=[low]))
    >>> result.answers, result.cases, dict(result.by_owner)
    (3, 2, {'emp-7': 2})
    """
    run = Simulation(policies, rules, **options)
    for response, customer in answers:
        run.add(response, customer)
    return run.result()
