"""Promises and outgoing messages: what was said would happen, and what is sent."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._checks import (
    check_aware,
    check_id,
    check_slug,
    convert_attributes,
    empty_attributes,
    optional,
    validator,
)
from .customer import REDACTED

__all__ = ["Message", "MessageStatus", "Promise", "PromiseStatus"]


class PromiseStatus(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


def _check_kind(value: object, path: str) -> str:
    return check_slug(value, path, "a promise kind such as 'call_back'")


@attrs.frozen(kw_only=True)
class Promise:
    """Something an employee said would happen by a time: a call-back, an offer
    to be sent. A promise not kept by ``due_at`` is *broken*, and opens (or
    escalates) a recovery case whose first step is an apology.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
    >>> p = Promise(id="p-1", case_id="k-1", customer_id="c-1", kind="call_back",
    ...             made_by="emp-7", made_at=t, due_at=t.replace(hour=12))
    >>> p.status
    <PromiseStatus.PENDING: 'pending'>
    """

    id: str = attrs.field(validator=validator(check_id))
    case_id: str = attrs.field(validator=validator(check_id))
    customer_id: str = attrs.field(validator=validator(check_id))
    kind: str = attrs.field(validator=validator(_check_kind))
    made_by: str = attrs.field(validator=validator(check_id))
    made_at: datetime = attrs.field(validator=validator(check_aware))
    due_at: datetime = attrs.field(validator=validator(check_aware))
    status: PromiseStatus = PromiseStatus.PENDING
    settled_at: datetime | None = attrs.field(default=None, validator=optional(check_aware))


class MessageStatus(enum.StrEnum):
    """An outgoing message is pending (not yet sent, or waiting to retry), sent,
    or dead (gave up after the retry limit: kept for a person to look at)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@attrs.frozen(kw_only=True)
class Message:
    """A message the loop owes someone, stored before it is sent (the outbox).

    ``channel`` is the name a channel plugin registered; ``purpose`` says what
    it is for (``follow_up``, ``apology``, ``escalation``…); ``address`` is the
    customer's address on that channel (personal data, never in ``repr``);
    ``data`` carries what a channel needs to render it (owner, deadline…), with
    no personal data. ``last_error`` is the type of the last failure only.
    """

    id: str = attrs.field(validator=validator(check_id))
    case_id: str = attrs.field(validator=validator(check_id))
    customer_id: str = attrs.field(validator=validator(check_id))
    channel: str = attrs.field(validator=validator(check_id))
    purpose: str
    created_at: datetime = attrs.field(validator=validator(check_aware))
    not_before: datetime = attrs.field(validator=validator(check_aware))
    address: str | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else REDACTED
    )
    data: Mapping[str, Any] = attrs.field(
        factory=empty_attributes, converter=convert_attributes, hash=False
    )
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
