"""A decision and its explanation: what a response calls for, and why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import attrs

from .policy import FollowUpPolicy

__all__ = ["Decision", "Explanation", "PolicyTrace", "ScheduledEscalation"]


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
