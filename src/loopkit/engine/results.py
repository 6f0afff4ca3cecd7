"""Values the engine returns: what an ingest, a tick or a survey-guard call did."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from loopkit.errors import LoopkitError
from loopkit.model import FollowUpCase
from loopkit.stores import IngestOutcome

if TYPE_CHECKING:
    from loopkit.policies import Decision

__all__ = ["BatchItem", "ContactOutcome", "IngestResult", "SurveyGuard", "TickReport"]


class ContactOutcome(enum.StrEnum):
    """How a contact attempt went. Only ``reached`` counts as the first contact
    (it moves the case to *contacted* and stops its deadline timers)."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    WRONG_ADDRESS = "wrong_address"


@attrs.frozen(kw_only=True)
class IngestResult:
    """What :meth:`loopkit.Loop.ingest` did with one response, or
    :meth:`loopkit.Loop.ingest_touchpoint` with one touchpoint signal (then
    ``response_id`` is ``None`` and ``touchpoint_id`` is set).

    ``decision`` is the :class:`~loopkit.Decision` that opened the case or was
    suppressed by contact rules. It is ``None`` when no policy matched, when
    the response was attached to an open case, and when ``replayed`` is true
    (the response had been ingested before, and this is the earlier result:
    decisions are not stored). ``reason`` always says what was decided; for
    every policy's verdict, ask :meth:`PolicySet.explain
    <loopkit.PolicySet.explain>`.
    """

    response_id: str | None
    outcome: IngestOutcome
    case: FollowUpCase | None
    policy: str | None
    reason: str
    decision: Decision | None = attrs.field(default=None, repr=False)
    replayed: bool = False
    touchpoint_id: str | None = None


@attrs.frozen(kw_only=True)
class BatchItem:
    """What :meth:`loopkit.Loop.ingest_many` did with one item of its feed.

    Exactly one of ``result`` and ``error`` is set: ``result`` is the
    :class:`IngestResult` that :meth:`~loopkit.Loop.ingest` would have
    returned, ``error`` the :class:`~loopkit.LoopkitError` it would have
    raised (a :class:`~loopkit.ConflictError`, an
    :class:`~loopkit.UnknownCustomer`, a :class:`~loopkit.ValidationError`, or
    a :class:`~loopkit.PluginError` whose ``__cause__`` is what a plugin
    raised). A failed item wrote nothing; the others are not affected.

    >>> from loopkit.stores import IngestOutcome
    >>> done = IngestResult(
    ...     response_id="r-1", outcome=IngestOutcome.NO_FOLLOW_UP, case=None,
    ...     policy=None, reason="no policy matched",
    ... )
    >>> item = BatchItem(response_id="r-1", result=done)
    >>> item.ok, item.unwrap().outcome.value
    (True, 'no_follow_up')
    """

    response_id: str
    result: IngestResult | None = None
    error: LoopkitError | None = None

    @property
    def ok(self) -> bool:
        """True when the response was ingested (or replayed)."""
        return self.error is None

    def unwrap(self) -> IngestResult:
        """The result, or raise the item's error."""
        if self.error is not None:
            raise self.error
        assert self.result is not None  # one of the two is always set
        return self.result


@attrs.frozen(kw_only=True)
class TickReport:
    """What one :meth:`loopkit.Loop.tick` did (counts, for logs and dashboards)."""

    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    broken_promises: int = 0
    erased: int = 0
    """Closed cases whose personal data the ``[retention]`` period erased."""
    expired_requests: int = 0
    """Approval requests for compensation left unanswered too long: their
    reservations were released."""
    resurveys: int = 0
    """Re-survey invitations queued."""
    no_answers: int = 0
    """Closed cases whose re-survey's answer window ended without an answer."""


SORRY_MESSAGE = "Thank you for telling us, and we are sorry it was not good enough."
"""What a survey flow may send instead of its next question after an unhappy
answer for which no case was opened (it promises no call)."""

STOP_MESSAGE = (
    "Thank you for telling us, and we are sorry it was not good enough. "
    "Someone from our team will contact you personally."
)


@attrs.frozen(kw_only=True)
class SurveyGuard:
    """The survey-flow guard's answer: may the survey ask its next question?

    When ``ask`` is false, ``reason`` says why (``"open_case"``,
    ``"dissatisfied"``, ``"opted_out"``, ``"cooldown"``); for an open case,
    ``case_id`` points to it. After an unhappy answer, ``message`` is a fitting
    text to send instead of the next question (never ask a detractor how likely
    they are to recommend you).
    """

    ask: bool
    reason: str
    case_id: str | None = None
    message: str | None = None
