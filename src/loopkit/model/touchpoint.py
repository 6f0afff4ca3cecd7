"""Touchpoints: the moments a customer met the organisation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from loopkit._input.attributes import (
    attributes_to_dict,
    check_attributes,
    empty_attributes,
    freeze_attributes,
)
from loopkit._input.checks import check_id, check_optional_id, check_slug, optional, validator
from loopkit._input.compiled import SLOW, SLUG, compile_reader, guard
from loopkit._input.instants import check_aware, format_instant, instant_key, parse_instant
from loopkit._input.reader import REQUIRED, Reader

from ._pickling import getstate, setstate
from .customer import keys_repr

__all__ = ["CHANNELS", "TOUCHPOINT_KINDS", "Touchpoint"]

TOUCHPOINT_KINDS: Final = frozenset(
    {"purchase", "delivery", "support_contact", "store_visit", "cancellation", "campaign"}
)
"""The touchpoint kinds loopkit knows by name; any other lowercase name is a custom kind."""

CHANNELS: Final = frozenset({"phone", "email", "sms", "chat", "store", "web", "in_person"})
"""The channels loopkit knows by name; any other lowercase name is a custom channel."""


def _check_kind(value: object, path: str) -> str:
    return check_slug(value, path, "a touchpoint kind such as 'purchase'")


def _check_channel(value: object, path: str) -> str:
    return check_slug(value, path, "a channel such as 'phone'")


@attrs.frozen(kw_only=True)
class Touchpoint:
    """One moment a customer met the organisation: a purchase, a delivery, a
    support contact, a store visit, a cancellation, a campaign, or a custom kind.

    ``employee_id`` is who served the customer (often the owner of the
    follow-up); ``reference`` is the order or ticket number.

    >>> from datetime import datetime, timezone
    >>> tp = Touchpoint(id="t-1", kind="support_contact", channel="phone",
    ...                 occurred_at=datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc),
    ...                 employee_id="emp-7")
    >>> tp.kind
    'support_contact'
    """

    id: str = attrs.field(validator=validator(check_id))
    kind: str = attrs.field(validator=validator(_check_kind))
    channel: str = attrs.field(validator=validator(_check_channel))
    occurred_at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    employee_id: str | None = attrs.field(default=None, validator=optional(check_id))
    reference: str | None = attrs.field(default=None, validator=optional(check_id))
    attributes: Mapping[str, Any] = attrs.field(
        factory=empty_attributes,
        converter=freeze_attributes,
        validator=validator(check_attributes),
        repr=keys_repr,
        hash=False,
    )

    __getstate__ = getstate  # read-only attributes pickle too
    __setstate__ = setstate

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` turns it back into an equal touchpoint."""
        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "occurred_at": format_instant(self.occurred_at),
            "employee_id": self.employee_id,
            "reference": self.reference,
            "attributes": attributes_to_dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "touchpoint") -> Touchpoint:
        """Read and validate a touchpoint from untrusted, JSON-like input."""
        if cls is Touchpoint:
            found = _read(data)
            if found is not SLOW:
                return found
        r = Reader(data, path)
        kwargs = {
            "id": r.get("id", check_id),
            "kind": r.get("kind", _check_kind),
            "channel": r.get("channel", _check_channel),
            "occurred_at": r.get("occurred_at", parse_instant),
            "employee_id": r.get("employee_id", check_optional_id, default=None),
            "reference": r.get("reference", check_optional_id, default=None),
            "attributes": r.get("attributes", check_attributes, default=empty_attributes()),
        }
        r.finish()
        return r.build_checked(cls, kwargs)  # each field checked once, above


guard(_check_kind, SLUG)
guard(_check_channel, SLUG)
_read: Final = compile_reader(
    Touchpoint,
    {
        "id": (check_id, REQUIRED),
        "kind": (_check_kind, REQUIRED),
        "channel": (_check_channel, REQUIRED),
        "occurred_at": (parse_instant, REQUIRED),
        "employee_id": (check_optional_id, None),
        "reference": (check_optional_id, None),
        "attributes": (check_attributes, empty_attributes()),
    },
)
"""The fields :meth:`Touchpoint.from_dict` reads, read at once when nothing is wrong."""
