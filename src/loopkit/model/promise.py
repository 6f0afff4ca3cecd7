"""Promises and outgoing messages: what was said would happen, and what is sent."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from loopkit._input.attributes import (
    attributes_to_dict,
    check_attributes,
    convert_attributes,
    empty_attributes,
)
from loopkit._input.checks import check_id, check_int, check_slug, check_text, optional, validator
from loopkit._input.choices import choice
from loopkit._input.instants import check_aware, format_instant, instant_key, parse_instant
from loopkit._input.reader import Reader
from loopkit.errors import ValidationError, describe

from ._pickling import getstate, setstate
from .customer import _MAX_ADDRESS, REDACTED

__all__ = ["Message", "MessageStatus", "Promise", "PromiseStatus"]

_MAX_SUBJECT = 998  # the longest line RFC 5322 allows in a header
_MAX_BODY = 100_000


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
    made_at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    due_at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    status: PromiseStatus = PromiseStatus.PENDING
    settled_at: datetime | None = attrs.field(
        default=None, validator=optional(check_aware), eq=instant_key
    )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` turns it back into an equal promise."""
        return {
            "id": self.id,
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "kind": self.kind,
            "made_by": self.made_by,
            "made_at": format_instant(self.made_at),
            "due_at": format_instant(self.due_at),
            "status": self.status.value,
            "settled_at": _instant_or_none(self.settled_at),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "promise") -> Promise:
        """Read and validate a promise from JSON-like input; every problem is
        reported with its path.

        >>> from loopkit.errors import ValidationError
        >>> try:
        ...     Promise.from_dict({"id": "p-1", "case_id": "k-1", "customer_id": "c-1",
        ...         "kind": "call back", "made_by": "emp-7",
        ...         "made_at": "2026-11-20T09:00:00Z", "due_at": "2026-11-20T12:00:00"})
        ... except ValidationError as err:
        ...     [problem.path for problem in err.problems]
        ['promise.kind', 'promise.due_at']
        """
        r = Reader(data, path)
        kwargs = {
            "id": r.get("id", check_id),
            "case_id": r.get("case_id", check_id),
            "customer_id": r.get("customer_id", check_id),
            "kind": r.get("kind", _check_kind),
            "made_by": r.get("made_by", check_id),
            "made_at": r.get("made_at", parse_instant),
            "due_at": r.get("due_at", parse_instant),
            "status": r.get("status", choice(PromiseStatus), default=PromiseStatus.PENDING),
            "settled_at": r.get("settled_at", parse_instant, default=None),
        }
        r.finish()
        return r.build(cls, kwargs)


class MessageStatus(enum.StrEnum):
    """An outgoing message is pending (not yet sent, or waiting to retry), sent,
    dead (gave up after the retry limit: kept for a person to look at), or
    cancelled (no longer owed, say because the customer was reached first: the
    case's log says why)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Message:
    """A message the loop owes someone, stored before it is sent (the outbox).

    ``channel`` is the name a channel plugin registered; ``purpose`` says what
    it is for (``follow_up``, ``apology``, ``escalation``…); ``address`` is the
    customer's address on that channel; ``subject`` and ``body`` are the text
    rendered for them from the playbook's templates, if any (all three are
    personal data, never in ``repr``);
    ``data`` carries what a channel needs to render it (owner, deadline…), with
    no personal data. ``last_error`` is the type of the last failure only.
    """

    id: str = attrs.field(validator=validator(check_id))
    case_id: str = attrs.field(validator=validator(check_id))
    customer_id: str = attrs.field(validator=validator(check_id))
    channel: str = attrs.field(validator=validator(check_id))
    purpose: str
    created_at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    not_before: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    address: str | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else REDACTED
    )
    subject: str | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else REDACTED
    )
    body: str | None = attrs.field(default=None, repr=lambda v: "None" if v is None else REDACTED)
    data: Mapping[str, Any] = attrs.field(
        factory=empty_attributes, converter=convert_attributes, hash=False
    )
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = attrs.field(default=None, eq=instant_key)
    last_error: str | None = None
    sent_at: datetime | None = attrs.field(default=None, eq=instant_key)

    @property
    def idempotency_key(self) -> str:
        """The key a channel deduplicates sends by: the message id, the same on
        every attempt. Delivery is at least once (a crash between a send and its
        record sends the message again), so a channel that must not repeat a
        message hands this key to its provider, or remembers the keys it sent.

        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
        >>> Message(id="m-1", case_id="k-1", customer_id="c-1", channel="sms",
        ...         purpose="follow_up", created_at=t, not_before=t).idempotency_key
        'm-1'
        """
        return self.id

    __getstate__ = getstate  # read-only data pickles too
    __setstate__ = setstate

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (the address included: store it as personal data);
        :meth:`from_dict` turns it back into an equal message."""
        return {
            "id": self.id,
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "purpose": self.purpose,
            "created_at": format_instant(self.created_at),
            "not_before": format_instant(self.not_before),
            "address": self.address,
            "subject": self.subject,
            "body": self.body,
            "data": attributes_to_dict(self.data),
            "status": self.status.value,
            "attempts": self.attempts,
            "next_attempt_at": _instant_or_none(self.next_attempt_at),
            "last_error": self.last_error,
            "sent_at": _instant_or_none(self.sent_at),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "message") -> Message:
        """Read and validate a message from JSON-like input; every problem is
        reported with its path, and the address is never shown in one.

        >>> Message.from_dict({"id": "m-1", "case_id": "k-1", "customer_id": "c-1",
        ...     "channel": "phone", "purpose": "follow_up", "address": 4670123,
        ...     "created_at": "2026-11-20T09:00:00Z", "not_before": "2026-11-20T09:00:00Z",
        ...     "attempts": -1})
        Traceback (most recent call last):
        ...
        loopkit.errors.ValidationError: 2 problems:
          message.address: expected a string, got a redacted int
          message.attempts: expected a count >= 0, got -1
        """
        r = Reader(data, path)
        kwargs = {
            "id": r.get("id", check_id),
            "case_id": r.get("case_id", check_id),
            "customer_id": r.get("customer_id", check_id),
            "channel": r.get("channel", check_id),
            "purpose": r.get("purpose", _check_purpose),
            "created_at": r.get("created_at", parse_instant),
            "not_before": r.get("not_before", parse_instant),
            "address": r.get("address", _check_address, default=None, personal=True),
            "subject": r.get("subject", _check_subject, default=None, personal=True),
            "body": r.get("body", _check_body, default=None, personal=True),
            "data": r.get("data", check_attributes, default={}),
            "status": r.get("status", choice(MessageStatus), default=MessageStatus.PENDING),
            "attempts": r.get("attempts", _check_attempts, default=0),
            "next_attempt_at": r.get("next_attempt_at", parse_instant, default=None),
            "last_error": r.get("last_error", _check_error, default=None),
            "sent_at": r.get("sent_at", parse_instant, default=None),
        }
        r.finish()
        return r.build(cls, kwargs)


def _instant_or_none(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _check_purpose(value: object, path: str) -> str:
    return check_slug(value, path, "a purpose such as 'follow_up'")


def _check_address(value: object, path: str) -> str:
    return check_text(value, path, max_length=_MAX_ADDRESS, personal=True)


def _check_subject(value: object, path: str) -> str:
    return check_text(value, path, max_length=_MAX_SUBJECT, personal=True)


def _check_body(value: object, path: str) -> str:
    return check_text(value, path, max_length=_MAX_BODY, personal=True)


def _check_attempts(value: object, path: str) -> int:
    attempts = check_int(value, path)
    if attempts < 0:
        raise ValidationError(path, "a count >= 0", describe(value))
    return attempts


def _check_error(value: object, path: str) -> str:
    return check_text(value, path, max_length=200, personal=False)
