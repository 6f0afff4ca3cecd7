"""One entry in a follow-up case's append-only log: :class:`CaseEvent`."""

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
from loopkit._input.checks import check_id, check_slug, check_text, optional, validator
from loopkit._input.instants import check_aware, format_instant, instant_key, parse_instant
from loopkit._input.reader import Reader

from ._pickling import getstate, setstate
from .customer import REDACTED, keys_repr

__all__ = ["MAX_NOTE_LENGTH", "CaseEvent"]

MAX_NOTE_LENGTH: Final = 10_000


def _check_note(value: object, path: str) -> str:
    return check_text(value, path, max_length=MAX_NOTE_LENGTH, personal=True)


def _check_event_kind(value: object, path: str) -> str:
    return check_slug(value, path, "an event kind such as 'contact'")


@attrs.frozen(kw_only=True)
class CaseEvent:
    """One entry in a case's append-only log: who did what, when.

    ``kind`` is a transition name (``"contact"``, ``"close"``…), ``"opened"``,
    ``"note"``, ``"step"`` (a required step such as an apology was done), or a
    name the engine or host chose. ``note`` is free text and personal data:
    never shown in ``repr``. ``details`` holds small JSON-safe facts.
    """

    at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    actor: str = attrs.field(validator=validator(check_id))
    kind: str = attrs.field(validator=validator(_check_event_kind))
    note: str | None = attrs.field(
        default=None,
        validator=optional(_check_note),
        repr=lambda v: "None" if v is None else REDACTED,
    )
    details: Mapping[str, Any] = attrs.field(
        factory=empty_attributes,
        converter=freeze_attributes,
        validator=validator(check_attributes),
        repr=keys_repr,
        hash=False,
    )

    __getstate__ = getstate  # read-only details pickle too
    __setstate__ = setstate

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": format_instant(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "note": self.note,
            "details": attributes_to_dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "event") -> CaseEvent:
        r = Reader(data, path)
        kwargs = {
            "at": r.get("at", parse_instant),
            "actor": r.get("actor", check_id),
            "kind": r.get("kind", _check_event_kind),
            "note": r.get("note", _check_note, default=None, personal=True),
            "details": r.get("details", check_attributes, default={}),
        }
        r.finish()
        return r.build(cls, kwargs)
