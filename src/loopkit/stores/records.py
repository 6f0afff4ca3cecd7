"""What a store keeps besides the model's own values: ingest records and timers."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from loopkit.model import Response

__all__ = ["IngestOutcome", "IngestRecord", "Timer", "TimerKind"]


class IngestOutcome(enum.StrEnum):
    """What ingesting a response did."""

    OPENED = "opened"
    """A new case was opened."""
    ATTACHED = "attached"
    """The customer already had an open case on the same topic: the response was added to it."""
    NO_FOLLOW_UP = "no_follow_up"
    """No policy matched."""
    SUPPRESSED = "suppressed"
    """A policy matched, but contact rules said no (opt-out, cooldown, cap, no channel)."""


@attrs.frozen(kw_only=True)
class IngestRecord:
    """One ingested response and what came of it; keyed by the response id.

    The stored ``response`` lets the engine tell a replay (the same content)
    from a conflict (the same id with other content).
    """

    response: Response
    outcome: IngestOutcome
    case_id: str | None
    policy: str | None
    reason: str
    ingested_at: datetime

    @property
    def response_id(self) -> str:
        return self.response.id


class TimerKind(enum.StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


@attrs.frozen(kw_only=True)
class Timer:
    """Something :meth:`loopkit.Loop.tick` must do for a case at ``due_at``."""

    id: str
    case_id: str
    kind: TimerKind
    due_at: datetime
    level: int = 0
    to: str | None = None
