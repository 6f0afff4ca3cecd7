"""What a store keeps besides the model's own values: ingest records and timers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import attrs

from loopkit._input.checks import check_id, check_int
from loopkit._input.choices import check_choice, choice
from loopkit._input.instants import format_instant, parse_instant
from loopkit._input.reader import Reader
from loopkit._input.trusted import builder
from loopkit.errors import ValidationError, describe
from loopkit.model import Response, Touchpoint

__all__ = [
    "IngestOutcome",
    "IngestRecord",
    "Later",
    "LaterTimer",
    "Timer",
    "TimerKind",
    "signal_key",
]

SIGNAL_PREFIX: Final = "touchpoint:"


def signal_key(touchpoint_id: str) -> str:
    """The ingest key of a touchpoint signal: ``touchpoint:<id>``.

    >>> signal_key("t-1")
    'touchpoint:t-1'
    """
    return SIGNAL_PREFIX + touchpoint_id


class IngestOutcome(enum.StrEnum):
    """What ingesting a response (or a touchpoint signal) did."""

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
    """One ingest and what came of it, stored under :attr:`key`: either a
    response (keyed by its id) or a touchpoint signal, a touchpoint ingested
    without a response (``response`` is ``None``, ``touchpoint`` and
    ``customer_id`` are set, keyed ``touchpoint:<id>``).

    The stored response (or touchpoint and customer id) lets the engine tell
    a replay (the same content) from a conflict (the same id with other
    content).

    >>> from loopkit.testing import make_touchpoint
    >>> tp = make_touchpoint("cancellation")
    >>> record = IngestRecord(touchpoint=tp, customer_id="c-1",
    ...     outcome=IngestOutcome.NO_FOLLOW_UP, case_id=None, policy=None,
    ...     reason="no policy matched", ingested_at=tp.occurred_at)
    >>> record.key, record.customer_id, record.response_id
    ('touchpoint:t-1', 'c-1', None)
    """

    response: Response | None = None
    outcome: IngestOutcome
    case_id: str | None
    policy: str | None
    reason: str
    ingested_at: datetime
    touchpoint: Touchpoint | None = None
    """The touchpoint of a signal (``None`` for a response: see ``response.touchpoint``)."""
    _customer_id: str | None = attrs.field(default=None, alias="customer_id")

    def __attrs_post_init__(self) -> None:
        if self.response is None:
            if self.touchpoint is None or self._customer_id is None:
                raise ValidationError(
                    "IngestRecord",
                    "a response, or a touchpoint with a customer_id (a signal)",
                    "neither",
                )
            check_id(self._customer_id, "IngestRecord.customer_id")
        elif self.touchpoint is not None or self._customer_id is not None:
            raise ValidationError(
                "IngestRecord.touchpoint",
                "no touchpoint or customer_id beside a response (its own are used)",
                "both",
            )

    @property
    def key(self) -> str:
        """The store key: the response id, or ``touchpoint:<id>`` for a signal."""
        if self.response is not None:
            return self.response.id
        assert self.touchpoint is not None  # checked when built
        return SIGNAL_PREFIX + self.touchpoint.id

    @property
    def response_id(self) -> str | None:
        """The response's id (``None`` for a touchpoint signal)."""
        return None if self.response is None else self.response.id

    @property
    def customer_id(self) -> str:
        """The customer the response or signal is about."""
        if self.response is not None:
            return self.response.customer_id
        assert self._customer_id is not None  # checked when built
        return self._customer_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the response, or the signal's touchpoint and customer
        id, nested), for stores that serialise."""
        head: dict[str, Any]
        if self.response is not None:
            head = {"response": self.response.to_dict()}
        else:
            assert self.touchpoint is not None  # checked when built
            head = {"touchpoint": self.touchpoint.to_dict(), "customer_id": self._customer_id}
        return {
            **head,
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
        signal = isinstance(data, dict) and "response" not in data and "touchpoint" in data
        subject: dict[str, Any]
        if signal:
            subject = {
                "touchpoint": r.get("touchpoint", lambda v, p: Touchpoint.from_dict(v, p)),
                "customer_id": r.get("customer_id", check_id),
            }
        else:
            subject = {"response": r.get("response", lambda v, p: Response.from_dict(v, p))}
        kwargs = {
            **subject,
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
    RETENTION = "retention"
    """Erase the personal data of a closed case (the playbook's ``[retention]``)."""
    RESURVEY = "resurvey"
    """Invite the customer of a closed case to answer again (its policy's ``resurvey``)."""
    ANSWER_WINDOW = "answer_window"
    """The re-survey's answer window ends: without an answer, the case records "no answer"."""


@attrs.frozen(kw_only=True)
class LaterTimer:
    """One of the timers queued after a case's next timer (see
    :attr:`Timer.later`): what to do, when, and for an escalation the level
    and the owner (``to``) it escalates to.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    >>> step = LaterTimer(kind=TimerKind.ESCALATION, due_at=at, level=1, to="team:leads")
    >>> step.to_dict()
    {'kind': 'escalation', 'due_at': '2026-11-24T09:00:00+00:00', 'level': 1, 'to': 'team:leads'}
    """

    kind: TimerKind
    due_at: datetime
    level: int = 0
    to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the time as ISO 8601 with offset)."""
        return {
            "kind": self.kind.value,
            "due_at": format_instant(self.due_at),
            "level": self.level,
            "to": self.to,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "later") -> LaterTimer:
        """Read what :meth:`to_dict` wrote, or the ``[kind, due_at, level, to]``
        row that stores wrote before this value had names; every problem is
        reported with its path.

        >>> LaterTimer.from_dict(["breach", "2026-11-24T09:00:00+00:00", 0, None]).kind
        <TimerKind.BREACH: 'breach'>
        """
        if isinstance(data, list | tuple):  # the unnamed row of earlier releases
            if len(data) != 4:
                raise ValidationError(
                    path,
                    "a mapping of kind, due_at, level and to (or a [kind, due_at, level, to] row)",
                    describe(data),
                )
            data = dict(zip(_LATER_FIELDS, data, strict=True))
        if type(data) is dict and data.keys() == _LATER_KEYS:
            try:  # the common case, read without a Reader (tick reads one per due timer)
                to = data["to"]
                return _build_later(
                    kind=check_choice(TimerKind, data["kind"], path),
                    due_at=parse_instant(data["due_at"], path),
                    level=check_int(data["level"], path),
                    to=None if to is None else check_id(to, path),
                )
            except ValidationError:
                pass  # read again below, to report every problem with its path
        r = Reader(data, path)
        kwargs = {
            "kind": r.get("kind", choice(TimerKind)),
            "due_at": r.get("due_at", parse_instant),
            "level": r.get("level", check_int, default=0),
            "to": r.get("to", check_id, default=None),
        }
        r.finish()
        return r.build(cls, kwargs)


_LATER_FIELDS: Final = ("kind", "due_at", "level", "to")
_LATER_KEYS: Final = frozenset(_LATER_FIELDS)
_build_later: Final = builder(LaterTimer)

Later = tuple[LaterTimer, ...]
"""The timers after a timer, earliest first."""


def _check_later(instance: object, attribute: object, value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError("Timer.later", "a tuple of LaterTimer values", describe(value))
    for i, item in enumerate(value):
        if not isinstance(item, LaterTimer):
            raise ValidationError(f"Timer.later[{i}]", "a LaterTimer", describe(item))


@attrs.frozen(kw_only=True)
class Timer:
    """Something :meth:`loopkit.Loop.tick` must do for a case at ``due_at``.

    The engine keeps one timer per case, with id ``case_id``: the next thing
    due. ``later`` holds the ones after it (:class:`LaterTimer` values),
    earliest first; when the timer fires, the engine saves the first of them
    as the case's next timer. A store saves and returns ``later`` as it got
    it.
    """

    id: str
    case_id: str
    kind: TimerKind
    due_at: datetime
    level: int = 0
    to: str | None = None
    later: Later = attrs.field(default=(), validator=_check_later)

    def following(self) -> Timer | None:
        """The timer that replaces this one when it fires, if any.

        >>> from datetime import datetime, timezone
        >>> at = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
        >>> t = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=at,
        ...           later=(LaterTimer(kind=TimerKind.BREACH, due_at=at),))
        >>> t.following().kind, t.following().following()
        (<TimerKind.BREACH: 'breach'>, None)
        """
        if not self.later:
            return None
        first = self.later[0]
        return _build_timer(
            id=self.id,
            case_id=self.case_id,
            kind=first.kind,
            due_at=first.due_at,
            level=first.level,
            to=first.to,
            later=self.later[1:],
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
            "later": [step.to_dict() for step in self.later],
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "timer") -> Timer:
        """Read what :meth:`to_dict` wrote (also the ``[kind, due_at, level,
        to]`` rows of ``later`` that earlier releases wrote); every problem is
        reported with its path."""
        r = Reader(data, path)

        def later(value: object, p: str) -> Later:
            if not isinstance(value, list | tuple):
                raise ValidationError(p, "a list of later timers", describe(value))
            return tuple(LaterTimer.from_dict(item, f"{p}[{i}]") for i, item in enumerate(value))

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


_build_timer: Final = builder(Timer)
