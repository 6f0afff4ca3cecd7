"""What a store keeps besides the model's own values: ingest records and timers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from loopkit.errors import ValidationError, describe
from loopkit.model import Response
from loopkit.model._checks import (
    check_choice,
    check_id,
    check_int,
    choice,
    format_instant,
    parse_instant,
)
from loopkit.model._reader import Reader

__all__ = ["IngestOutcome", "IngestRecord", "Later", "Timer", "TimerKind"]


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the response nested), for stores that serialise."""
        return {
            "response": self.response.to_dict(),
            "outcome": self.outcome.value,
            "case_id": self.case_id,
            "policy": self.policy,
            "reason": self.reason,
            "ingested_at": format_instant(self.ingested_at),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "ingest") -> IngestRecord:
        """Read what :meth:`to_dict` wrote; every problem is reported with its path."""
        r = Reader(data, path)
        kwargs = {
            "response": r.get("response", lambda v, p: Response.from_dict(v, p)),
            "outcome": r.get("outcome", choice(IngestOutcome)),
            "case_id": r.get("case_id", check_id, default=None),
            "policy": r.get("policy", check_id, default=None),
            "reason": r.get("reason", _check_reason),
            "ingested_at": r.get("ingested_at", parse_instant),
        }
        r.finish()
        return r.build(cls, kwargs)


def _check_reason(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(path, "a string", describe(value))
    return value


class TimerKind(enum.StrEnum):
    """What a timer does when it comes due."""

    WARNING = "warning"
    """Warn the owner that the deadline is near (``loopkit_deadline_warning``)."""
    BREACH = "breach"
    """Mark the deadline breached (``loopkit_deadline_breached``)."""
    ESCALATION = "escalation"
    """Move the case one step up its escalation ladder, to ``to``."""


Later = tuple[tuple[str, datetime, int, str | None], ...]
"""The timers after a timer, as ``(kind, due_at, level, to)`` rows."""


@attrs.frozen(kw_only=True)
class Timer:
    """Something :meth:`loopkit.Loop.tick` must do for a case at ``due_at``.

    The engine keeps one timer per case, with id ``case_id``: the next thing
    due. ``later`` holds the ones after it, earliest first; when the timer
    fires, the engine saves the first of them as the case's next timer. A
    store saves and returns ``later`` as it got it.
    """

    id: str
    case_id: str
    kind: TimerKind
    due_at: datetime
    level: int = 0
    to: str | None = None
    later: Later = ()

    def following(self) -> Timer | None:
        """The timer that replaces this one when it fires, if any.

        >>> from datetime import datetime, timezone
        >>> at = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
        >>> t = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=at,
        ...           later=(("breach", at, 0, None),))
        >>> t.following().kind, t.following().following()
        (<TimerKind.BREACH: 'breach'>, None)
        """
        if not self.later:
            return None
        (kind, due_at, level, to), *rest = self.later
        return Timer(
            id=self.id,
            case_id=self.case_id,
            kind=TimerKind(kind),
            due_at=due_at,
            level=level,
            to=to,
            later=tuple(rest),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 with offset), for stores that serialise."""
        return {
            "id": self.id,
            "case_id": self.case_id,
            "kind": self.kind.value,
            "due_at": format_instant(self.due_at),
            "level": self.level,
            "to": self.to,
            "later": [[k, format_instant(at), level, to] for k, at, level, to in self.later],
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "timer") -> Timer:
        """Read what :meth:`to_dict` wrote; every problem is reported with its path."""
        r = Reader(data, path)

        def later(value: object, p: str) -> Later:
            if not isinstance(value, list | tuple):
                raise ValidationError(
                    p, "a list of [kind, due_at, level, to] rows", describe(value)
                )
            rows = []
            for i, row in enumerate(value):
                if not isinstance(row, list | tuple) or len(row) != 4:
                    raise ValidationError(
                        f"{p}[{i}]", "a [kind, due_at, level, to] row", describe(row)
                    )
                kind, at, level, to = row
                rows.append(
                    (
                        check_choice(TimerKind, kind, f"{p}[{i}][0]").value,
                        parse_instant(at, f"{p}[{i}][1]"),
                        check_int(level, f"{p}[{i}][2]"),
                        None if to is None else check_id(to, f"{p}[{i}][3]"),
                    )
                )
            return tuple(rows)

        kwargs = {
            "id": r.get("id", check_id),
            "case_id": r.get("case_id", check_id),
            "kind": r.get("kind", choice(TimerKind)),
            "due_at": r.get("due_at", parse_instant),
            "level": r.get("level", check_int, default=0),
            "to": r.get("to", check_id, default=None),
            "later": r.get("later", later, default=()),
        }
        r.finish()
        return r.build(cls, kwargs)
