"""What erasing a customer's personal data leaves of each value (GDPR art. 17).

Erasure keeps the anonymous facts that metrics are made of (scores,
categories, timings, channels, segments, amounts, root causes) and removes
what identifies or describes the person: names, addresses, free text
(comments, notes, message subjects and bodies), free attributes and order or
ticket references. The customer's id stays: it is the host's pseudonymous
key, and it lets a later answer, a count of customers or an opt-out still
work. (A host whose customer ids are themselves personal, such as an e-mail
address, should hand loopkit pseudonymous ids.)

Each function returns an erased copy, equal to what erasing it again gives.

>>> from loopkit.testing import make_customer
>>> anna = make_customer(name="Anna")
>>> erased = erased_customer(anna)
>>> erased.name, erased.contact.channels, erased.id == anna.id
(None, (), True)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from loopkit._input.checks import check_id, validator
from loopkit._input.instants import check_aware, format_instant, instant_key, parse_instant
from loopkit._input.reader import Reader
from loopkit.errors import ValidationError, describe_input

from .case import CaseEvent, FollowUpCase
from .customer import Customer
from .promise import Message
from .response import Response
from .touchpoint import Touchpoint

__all__ = [
    "Erasure",
    "erased_case",
    "erased_customer",
    "erased_message",
    "erased_response",
    "erased_touchpoint",
]


def erased_customer(customer: Customer) -> Customer:
    """Without name, addresses and free attributes; time zone, segment,
    region, value, language, quiet hours and opt-out stay."""
    contact = attrs.evolve(customer.contact, channels=())
    return attrs.evolve(customer, name=None, contact=contact, attributes={})


def erased_touchpoint(touchpoint: Touchpoint) -> Touchpoint:
    """Without its reference (an order or ticket number) and free attributes."""
    return attrs.evolve(touchpoint, reference=None, attributes={})


def erased_response(response: Response) -> Response:
    """Without the comment; its touchpoint erased. The score and its
    category stay."""
    touchpoint = None if response.touchpoint is None else erased_touchpoint(response.touchpoint)
    return attrs.evolve(response, comment=None, touchpoint=touchpoint)


def erased_case(case: FollowUpCase) -> FollowUpCase:
    """Every event's note removed; the log's times, actors, kinds and facts
    stay (the state, deadlines, owner and root causes are not personal)."""
    if all(event.note is None for event in case.events):
        return case
    events = tuple(_erased_event(event) for event in case.events)
    return attrs.evolve(case, events=events)


def _erased_event(event: CaseEvent) -> CaseEvent:
    return event if event.note is None else attrs.evolve(event, note=None)


def erased_message(message: Message) -> Message:
    """Without address, subject and body; channel, purpose, status and times stay."""
    return attrs.evolve(message, address=None, subject=None, body=None)


REASONS = ("request", "retention")


def _as_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _check_reason(value: object, path: str) -> str:
    if value not in REASONS:
        raise ValidationError(path, "'request' or 'retention'", describe_input(value))
    return str(value)


def _case_ids(value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "a list of case ids", describe_input(value))
    return tuple(check_id(v, f"{path}[{i}]") for i, v in enumerate(value))


@attrs.frozen(kw_only=True)
class Erasure:
    """The record that a customer's personal data was erased, kept so that it
    can be shown (it holds no personal data itself): whose, when, by whom
    (an employee, or ``loopkit`` for retention), why (``"request"``: the
    customer asked, GDPR art. 17; ``"retention"``: the playbook's
    ``[retention]`` period passed) and the cases whose data went.

    >>> from datetime import datetime, timezone
    >>> e = Erasure(customer_id="c-1", at=datetime(2026, 11, 29, tzinfo=timezone.utc),
    ...             by="dpo-1", reason="request", case_ids=("case-1",))
    >>> Erasure.from_dict(e.to_dict()) == e
    True
    """

    customer_id: str = attrs.field(validator=validator(check_id))
    at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    by: str = attrs.field(validator=validator(check_id))
    reason: str = attrs.field(validator=validator(_check_reason))
    case_ids: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "at": format_instant(self.at),
            "by": self.by,
            "reason": self.reason,
            "case_ids": list(self.case_ids),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "erasure") -> Erasure:
        r = Reader(data, path)
        kwargs = {
            "customer_id": r.get("customer_id", check_id),
            "at": r.get("at", parse_instant),
            "by": r.get("by", check_id),
            "reason": r.get("reason", _check_reason),
            "case_ids": r.get("case_ids", _case_ids, default=()),
        }
        r.finish()
        return r.build(cls, kwargs)
