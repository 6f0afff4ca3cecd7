"""One follow-up policy: when it applies, who follows up, how, and by when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import attrs

from loopkit._input.checks import check_id, check_slug
from loopkit._input.names import check_name
from loopkit._input.reader import Reader
from loopkit.businesstime import parse_duration
from loopkit.conditions import Condition, FieldKind, FieldSpec, resolve_field, suggest_field
from loopkit.errors import ValidationError, describe
from loopkit.model import Customer, Response, Touchpoint

__all__ = [
    "MAX_DEADLINE",
    "PRESENT_CHANNELS",
    "Deadline",
    "EscalationStep",
    "FollowUpPolicy",
    "Owner",
    "Resurvey",
]

TEAM: Final = "team:"
PRESENT_CHANNELS: Final = frozenset({"in_person"})
"""Channels on which the employee is with the customer (at the counter, at the
table): no address or consent is needed, and no message is sent."""
UNASSIGNED: Final = "unassigned"
"""The owner of a case whose owner field was empty (for example no employee on
the touchpoint) and whose policy has no escalation target to fall back on."""


MAX_DEADLINE: Final = timedelta(days=30)
"""The longest ``deadline.within`` and escalation ``after``: ``"30d"``, that is
720 business hours (18 weeks of 40-hour weeks). A longer one is almost
certainly a typo, and would make every decision search years of calendar."""


def _positive_duration(value: object, path: str) -> timedelta:
    try:
        duration = parse_duration(value, path)
    except ValidationError as err:
        if not err.expected.startswith("a duration of at most"):
            raise
        duration = MAX_DEADLINE * 2  # well-formed, but past any duration: say this bound
    if duration <= timedelta(0):
        raise ValidationError(path, 'a positive duration such as "4h"', describe(value))
    if duration > MAX_DEADLINE:
        raise ValidationError(
            path,
            f'a business duration of at most "{MAX_DEADLINE.days}d" (720 business hours)',
            describe(value),
            hint='"8h" is one working day; "1d" is 24 business hours',
        )
    return duration


@attrs.frozen(kw_only=True)
class Deadline:
    """``within`` business time on the named calendar, counted from when the
    customer answered.

    >>> Deadline.from_dict({"within": "4h", "calendar": "support"}).within
    datetime.timedelta(seconds=14400)
    """

    within: timedelta
    calendar: str

    @classmethod
    def from_dict(cls, data: object, path: str = "deadline") -> Deadline:
        r = Reader(data, path)
        kwargs = {
            "within": r.get("within", _positive_duration),
            "calendar": r.get("calendar", check_id),
        }
        r.finish()
        return r.build(cls, kwargs)


@attrs.frozen(kw_only=True)
class Owner:
    """Who owns a case: a team (``team:NAME``) or a field naming a person
    (``touchpoint.employee_id``, ``customer.attributes.account_manager``).

    >>> Owner.parse("team:retention").team
    'retention'
    """

    text: str
    field: FieldSpec | None = attrs.field(default=None, repr=False)

    @property
    def team(self) -> str | None:
        return self.text[len(TEAM) :] if self.field is None else None

    @classmethod
    def parse(cls, value: object, path: str = "owner") -> Owner:
        if isinstance(value, str) and value.startswith(TEAM):
            check_slug(value[len(TEAM) :], path, "a team name after 'team:'")
            return cls(text=value)
        spec = resolve_field(value)
        if spec is None or spec.kind not in (FieldKind.TEXT, FieldKind.ANY) or spec.personal:
            near = suggest_field(value) if isinstance(value, str) else None
            raise ValidationError(
                path,
                "'team:NAME' or a field naming a person, such as 'touchpoint.employee_id'",
                describe(value),
                hint=f"did you mean {near!r}?" if near else None,
            )
        return cls(text=str(value), field=spec)

    def resolve(
        self, response: Response | None, touchpoint: Touchpoint | None, customer: Customer
    ) -> str | None:
        """The owner for one response (``None`` for a touchpoint signal: a
        response field is then missing), or ``None`` when the field is empty or
        holds something that is not an id (such as a 300-character note)."""
        if self.field is None:
            return self.text
        value = self.field.get(response, touchpoint, customer)
        try:
            return check_id(value, "owner")
        except ValidationError:
            return None

    def __str__(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class EscalationStep:
    """``after`` business time past the deadline (step 1) or past the previous
    step, on the deadline's calendar, the case moves to ``to``.

    >>> str(EscalationStep.from_dict({"after": "4h", "to": "team:leads"}, "escalate[0]").to)
    'team:leads'
    """

    after: timedelta
    to: Owner

    @classmethod
    def from_dict(cls, data: object, path: str) -> EscalationStep:
        r = Reader(data, path)
        kwargs = {"after": r.get("after", _positive_duration), "to": r.get("to", Owner.parse)}
        r.finish()
        return r.build(cls, kwargs)


def _calendar_duration(value: object, path: str) -> timedelta:
    duration = parse_duration(value, path)
    if duration <= timedelta(0):
        raise ValidationError(path, 'a positive duration such as "14d"', describe(value))
    return duration


@attrs.frozen(kw_only=True)
class Resurvey:
    """``resurvey = { after = "14d", window = "14d" }``: ask the customer again
    ``after`` the case closes (calendar time), then wait ``window`` for an answer.
    An answer by ``after + window`` after the close records whether they were won
    back; none by then records "no answer". ``channels`` (optional) are the
    only channels to invite on, the first the customer consented to; without
    them, the case's own channel, else the customer's first consented one.

    >>> Resurvey.from_dict({"after": "14d"}).window.days
    14
    """

    after: timedelta
    window: timedelta = timedelta(days=14)
    channels: tuple[str, ...] = ()

    @property
    def answer_by(self) -> timedelta:
        """How long after the close an answer counts: ``after + window``."""
        return self.after + self.window

    @classmethod
    def from_dict(cls, data: object, path: str = "resurvey") -> Resurvey:
        r = Reader(data, path)
        kwargs = {
            "after": r.get("after", _calendar_duration),
            "window": r.get("window", _calendar_duration, default=timedelta(days=14)),
            "channels": r.get("channels", _names("channel names"), default=()),
        }
        r.finish()
        return r.build(cls, kwargs)


def _fraction(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValidationError(path, "a fraction between 0 and 1, such as 0.75", describe(value))
    return float(value)


def _names(what: str) -> Any:
    def read(value: object, path: str) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise ValidationError(path, f"a non-empty list of {what}", describe(value))
        out = tuple(check_slug(v, f"{path}[{i}]", what) for i, v in enumerate(value))
        if len(set(out)) != len(out):
            raise ValidationError(path, f"{what} without repeats", describe(list(value)))
        return out

    return read


@attrs.frozen(kw_only=True)
class FollowUpPolicy:
    """A rule the customer-experience team wrote: *when* a response matches,
    *who* follows up, on *which channel*, *by when*, and what happens after.

    ``channels`` are tried in order: the first one the customer consented to
    (and has an address for) is used. ``topic`` (by default the name) keeps one
    open case per customer and topic. ``require`` lists steps (such as
    ``"apology"``) a case must record before it may be resolved.
    ``stop_survey`` is the survey-flow guard: no more automated questions to
    this customer while the case is open. ``resurvey`` asks again some time
    after the case closes, to learn whether the customer was won back.

    >>> policy = FollowUpPolicy.from_dict({
    ...     "name": "support-detractor-callback",
    ...     "when": {"field": "response.category", "equals": "detractor"},
    ...     "channels": ["phone", "email"],
    ...     "owner": "touchpoint.employee_id",
    ...     "deadline": {"within": "4h", "calendar": "support"},
    ...     "escalate": [{"after": "4h", "to": "team:support-leads"}],
    ... })
    >>> policy.topic, policy.warn_at_fraction, str(policy.escalate[0].to)
    ('support-detractor-callback', 0.75, 'team:support-leads')
    """

    name: str
    when: Condition
    channels: tuple[str, ...]
    owner: Owner
    deadline: Deadline | None = None
    escalate: tuple[EscalationStep, ...] = ()
    warn_at_fraction: float = 0.75
    stop_survey: bool = False
    require: frozenset[str] = frozenset()
    resurvey: Resurvey | None = None
    topic: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))

    @classmethod
    def from_dict(cls, data: object, path: str = "policy") -> FollowUpPolicy:
        """Read one ``[[policies]]`` table; every problem is reported with its path."""
        r = Reader(data, path)
        kwargs: dict[str, Any] = {
            "name": r.get("name", check_name),
            "when": r.get("when", Condition.parse),
            "channels": r.get("channels", _names("channel names")),
            "owner": r.get("owner", Owner.parse),
            "deadline": r.get("deadline", Deadline.from_dict, default=None),
            "escalate": r.items("escalate", EscalationStep.from_dict),
            "warn_at_fraction": r.get("warn_at", _fraction, default=0.75),
            "stop_survey": r.get("stop_survey", bool, default=False),
            "require": frozenset(r.get("require", _names("step names"), default=()) or ()),
            "resurvey": r.get("resurvey", Resurvey.from_dict, default=None),
        }
        topic = r.get("topic", check_name, default=None)
        if topic is not None:
            kwargs["topic"] = topic
        r.finish()
        if kwargs["escalate"] and "deadline" in r.data and kwargs["deadline"] is None:
            pass  # the deadline's own problem is already noted
        elif kwargs["escalate"] and kwargs["deadline"] is None and not r.problems:
            r.problems.append(
                ValidationError(
                    r.at("escalate"), "a deadline to escalate after (add deadline = {...})"
                ).problems[0]
            )
        return r.build(cls, kwargs)

    def to_dict(self) -> Mapping[str, Any]:
        """The policy as a policy file would say it (for explanations and reports)."""
        from loopkit.businesstime import format_duration

        out: dict[str, Any] = {
            "name": self.name,
            "when": str(self.when),
            "channels": list(self.channels),
            "owner": str(self.owner),
        }
        if self.deadline is not None:
            out["deadline"] = {
                "within": format_duration(self.deadline.within),
                "calendar": self.deadline.calendar,
            }
        return out


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
