"""Recovery after a broken promise: the playbook's ``[recovery]`` table.

A promise to the customer that is not kept by its time (a call-back that never
came, seed 002) opens a recovery case. It is a case like any other: channels
with fallback, an owner, a deadline in business time, an escalation ladder,
required steps (an apology before it may be resolved) and a first contact that
respects the customer's quiet hours and preferred window. What the case looks
like is decided here, in the pure core; the engine only applies it.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from loopkit._input.checks import check_slug
from loopkit._input.choices import choice
from loopkit._input.reader import Reader
from loopkit.errors import ValidationError, describe
from loopkit.model import FollowUpCase, Promise

from .policy import TEAM, Deadline, EscalationStep, _fraction, _names

__all__ = ["RECOVERY_TOPIC", "RecoveryAsk", "RecoveryOwner", "RecoveryPolicy"]

RECOVERY_TOPIC: Final = "recovery"
"""The topic of recovery cases: one unclosed recovery case per customer."""


class RecoveryAsk(enum.StrEnum):
    """What the apology message asks of the customer."""

    WHEN_IT_SUITS = "when_it_suits"
    """Ask when a call would suit them (seed 002: provider A got this right)."""
    NOTHING = "nothing"
    """Apologise only."""


_OWNER_FIELDS: Final = ("promise.made_by", "case.owner")


@attrs.frozen
class RecoveryOwner:
    """Who owns a recovery case: the employee who made the promise
    (``promise.made_by``), the broken promise's case owner (``case.owner``), or
    a team (``team:NAME``).

    >>> RecoveryOwner.parse("team:support-leads").text
    'team:support-leads'
    """

    text: str

    @classmethod
    def parse(cls, value: object, path: str = "owner") -> RecoveryOwner:
        if isinstance(value, str) and value.startswith(TEAM):
            check_slug(value[len(TEAM) :], path, "a team name after 'team:'")
            return cls(value)
        if value not in _OWNER_FIELDS:
            raise ValidationError(
                path, "'promise.made_by', 'case.owner' or 'team:NAME'", describe(value)
            )
        return cls(str(value))

    def resolve(self, promise: Promise, case: FollowUpCase) -> str:
        """The owner for one broken promise. ``case.owner`` falls back to the
        employee who made the promise when the case has no owner."""
        if self.text == "promise.made_by":
            return promise.made_by
        if self.text == "case.owner":
            return case.owner or promise.made_by
        return self.text

    def __str__(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class RecoveryPolicy:
    """The ``[recovery]`` table: how a broken promise is put right.

    ``channels`` are tried in order, the first one the customer consented to
    (and has an address for) is used; empty means the channel of the case the
    promise was made on. The deadline counts in business time from when the
    promise broke (its ``due_at``). ``require`` lists the steps the recovery
    case must record before it may be resolved (an apology, by default).
    ``ask`` says what the apology message asks of the customer.

    Without a ``[recovery]`` table a playbook recovers with these defaults:
    the original case's channel and owner, no deadline, an apology required,
    and the customer asked when it suits them.

    >>> rec = RecoveryPolicy.from_dict({"channels": ["phone", "email"],
    ...     "owner": "promise.made_by", "deadline": {"within": "2h", "calendar": "support"},
    ...     "escalate": [{"after": "2h", "to": "team:support-leads"}]})
    >>> rec.channels, str(rec.owner), sorted(rec.require), rec.ask.value
    (('phone', 'email'), 'promise.made_by', ['apology'], 'when_it_suits')
    """

    channels: tuple[str, ...] = ()
    owner: RecoveryOwner = RecoveryOwner("case.owner")
    deadline: Deadline | None = None
    escalate: tuple[EscalationStep, ...] = ()
    warn_at_fraction: float = 0.75
    require: frozenset[str] = frozenset({"apology"})
    ask: RecoveryAsk = RecoveryAsk.WHEN_IT_SUITS

    @classmethod
    def from_dict(cls, data: object, path: str = "recovery") -> RecoveryPolicy:
        """Read the ``[recovery]`` table; every problem is reported with its path."""
        r = Reader(data, path)
        kwargs = {
            "channels": r.get("channels", _names("channel names"), default=()),
            "owner": r.get("owner", RecoveryOwner.parse, default=RecoveryOwner("case.owner")),
            "deadline": r.get("deadline", Deadline.from_dict, default=None),
            "escalate": r.items("escalate", EscalationStep.from_dict),
            "warn_at_fraction": r.get("warn_at", _fraction, default=0.75),
            "require": frozenset(
                r.get("require", _names("step names"), default=("apology",)) or ()
            ),
            "ask": r.get("ask", choice(RecoveryAsk), default=RecoveryAsk.WHEN_IT_SUITS),
        }
        r.finish()
        if kwargs["escalate"] and kwargs["deadline"] is None and not r.problems:
            r.note(
                ValidationError(
                    r.at("escalate"), "a deadline to escalate after (add deadline = {...})"
                )
            )
        return r.build(cls, kwargs)
