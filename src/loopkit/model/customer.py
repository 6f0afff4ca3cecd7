"""Customers and how they may be contacted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from loopkit._input.attributes import (
    attributes_to_dict,
    check_attributes,
    empty_attributes,
    freeze_attributes,
)
from loopkit._input.checks import (
    check_id,
    check_slug,
    check_text,
    check_timezone,
    optional,
    validator,
)
from loopkit._input.compiled import SLOW, SLUG, Each, compile_reader, guard, lookup, plain_text
from loopkit._input.reader import REQUIRED, Reader
from loopkit.errors import ValidationError, describe, describe_input, describe_key

from ._pickling import getstate, setstate
from .window import PARSED_WINDOWS, DailyWindow

__all__ = ["ContactPoint", "ContactPreferences", "Customer"]

REDACTED: Final = "<redacted>"
_MAX_ADDRESS: Final = 320
_MAX_NAME: Final = 200


def _redacted(value: object) -> str:
    return REDACTED if value is not None else "None"


def keys_repr(value: Mapping[str, Any]) -> str:
    """How a ``repr`` shows free attributes: their names, never their values
    (a key that is not a plain name, such as an e-mail address, is described)."""
    return f"<keys: {sorted(describe_key(k) for k in value)}>"


_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _check_address(value: object, path: str) -> str:
    text = check_text(value, path, max_length=_MAX_ADDRESS, personal=True)
    if not text.strip():
        raise ValidationError(path, "a non-empty address", describe(value, personal=True))
    return text


def _check_channel(value: object, path: str) -> str:
    return check_slug(value, path, "a channel name such as 'email'")


@attrs.frozen(kw_only=True)
class ContactPoint:
    """A channel the customer has consented to, with their address on it.

    The address is personal data: it never shows in ``repr``.

    >>> ContactPoint(channel="email", address="anna@example.com")
    ContactPoint(channel='email', address=<redacted>)
    """

    channel: str = attrs.field(validator=validator(_check_channel))
    address: str = attrs.field(validator=validator(_check_address), repr=lambda _: REDACTED)

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "address": self.address}

    @classmethod
    def from_dict(cls, data: object, path: str = "contact_point") -> ContactPoint:
        if cls is ContactPoint:
            found = _read_point(data)
            if found is not SLOW:
                return found
        r = Reader(data, path)
        kwargs = {
            "channel": r.get("channel", _check_channel),
            "address": r.get("address", _check_address),
        }
        r.finish()
        return r.build_checked(cls, kwargs)  # each field checked once, above


def _check_points(value: object, path: str) -> tuple[ContactPoint, ...]:
    if not isinstance(value, tuple) or not all(isinstance(p, ContactPoint) for p in value):
        raise ValidationError(path, "a tuple of ContactPoint", describe_input(value))
    return value


def _window_or_none(value: object, path: str) -> DailyWindow | None:
    if value is None or isinstance(value, DailyWindow):
        return value
    raise ValidationError(
        path, 'a DailyWindow, a window such as "20:00-08:00", or None', describe_input(value)
    )


def _to_points(value: Iterable[ContactPoint]) -> tuple[ContactPoint, ...]:
    return tuple(value)


def _to_window(value: object) -> object:
    # A string that does not parse is left for the validator, which names the field.
    try:
        return DailyWindow.parse(value) if isinstance(value, str) else value
    except ValidationError:
        return value


@attrs.frozen(kw_only=True)
class ContactPreferences:
    """How a customer may be reached.

    ``channels``: the channels the customer consented to, in their order of
    preference, each with an address. A channel not listed may not be used.
    ``quiet_hours``: a daily window in the customer's own time zone when no
    one may call or text them. ``preferred_window``: when they would rather be
    contacted, if they said. ``surveys_opt_out``: no automated survey questions.

    >>> prefs = ContactPreferences(quiet_hours="21:00-08:00")
    >>> str(prefs.quiet_hours)
    '21:00-08:00'
    """

    channels: tuple[ContactPoint, ...] = attrs.field(
        default=(), converter=_to_points, validator=validator(_check_points)
    )
    quiet_hours: DailyWindow | None = attrs.field(
        default=None, converter=_to_window, validator=validator(_window_or_none)
    )
    preferred_window: DailyWindow | None = attrs.field(
        default=None, converter=_to_window, validator=validator(_window_or_none)
    )
    surveys_opt_out: bool = False

    def address_for(self, channel: str) -> str | None:
        """The customer's address on ``channel``, or None without consent."""
        for point in self.channels:
            if point.channel == channel:
                return point.address
        return None

    @property
    def consented_channels(self) -> tuple[str, ...]:
        return tuple(p.channel for p in self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "channels": [p.to_dict() for p in self.channels],
            "quiet_hours": None if self.quiet_hours is None else str(self.quiet_hours),
            "preferred_window": (
                None if self.preferred_window is None else str(self.preferred_window)
            ),
            "surveys_opt_out": self.surveys_opt_out,
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "contact") -> ContactPreferences:
        if cls is ContactPreferences:
            found = _read_contact(data)
            if found is not SLOW:
                return found
        r = Reader(data, path)
        kwargs = {
            "channels": r.items("channels", ContactPoint.from_dict),
            "quiet_hours": r.get("quiet_hours", DailyWindow.parse, default=None),
            "preferred_window": r.get("preferred_window", DailyWindow.parse, default=None),
            "surveys_opt_out": r.get("surveys_opt_out", bool, default=False),
        }
        r.finish()
        return r.build_checked(cls, kwargs)  # each field checked once, above


_NUMBER: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _to_decimal(value: object) -> object:
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        return value  # not a plain number ("+46 70..." is a phone number): refused
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _check_value(value: object, path: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(path, "a finite number (customer value)", describe_input(value))
    return value


def _check_language(value: object, path: str) -> str:
    """A BCP 47 language tag: a 2-3 letter language, then subtags of 1-8
    letters or digits (``sv``, ``sv-SE``, ``zh-Hant-TW``), at most 35 long."""
    if not isinstance(value, str) or len(value) > 35 or not _LANGUAGE.fullmatch(value):
        raise ValidationError(path, "a language tag such as 'sv' or 'sv-SE'", describe_input(value))
    return value


def _check_name(value: object, path: str) -> str:
    return check_text(value, path, max_length=_MAX_NAME, personal=True)


def _label(value: object, path: str) -> str:
    """A segment or region: printable text (no NUL, control characters or
    ANSI escape codes, which would reach terminals and logs) and no e-mail
    address (a label shows in reprs and explanations)."""
    text = check_text(value, path, max_length=100, personal=False)
    if not text.strip():
        raise ValidationError(path, "a non-empty label", describe_input(value))
    if _CONTROL.search(text):
        raise ValidationError(
            path, "a label without control characters", "one with a control character"
        )
    if "@" in text:
        raise ValidationError(
            path,
            "a label such as 'gold', not an e-mail address",
            describe_input(value),
            hint="labels show in reprs and explanations",
        )
    return text


@attrs.frozen(kw_only=True)
class Customer:
    """A customer, as the host's CRM knows them.

    ``timezone`` is an IANA name (checked); ``value`` is the customer's worth in
    the host's own unit (for example 12-month revenue), used by policies and
    compensation rules; ``attributes`` holds anything else (read-only). ``name``
    and contact addresses are personal data and never show in ``repr``.

    >>> c = Customer(id="c-1", timezone="Europe/Stockholm", segment="gold", name="Anna")
    >>> "Anna" in repr(c)
    False
    """

    id: str = attrs.field(validator=validator(check_id))
    timezone: str = attrs.field(validator=validator(check_timezone))
    segment: str | None = attrs.field(default=None, validator=optional(_label))
    region: str | None = attrs.field(default=None, validator=optional(_label))
    value: Decimal | None = attrs.field(
        default=None, converter=_to_decimal, validator=optional(_check_value)
    )
    language: str | None = attrs.field(default=None, validator=optional(_check_language))
    name: str | None = attrs.field(default=None, validator=optional(_check_name), repr=_redacted)
    contact: ContactPreferences = attrs.field(factory=ContactPreferences)
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
        """A JSON-safe dict; :meth:`from_dict` turns it back into an equal customer."""
        return {
            "id": self.id,
            "timezone": self.timezone,
            "segment": self.segment,
            "region": self.region,
            "value": None if self.value is None else str(self.value),
            "language": self.language,
            "name": self.name,
            "contact": self.contact.to_dict(),
            "attributes": attributes_to_dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "customer") -> Customer:
        """Read and validate a customer from untrusted, JSON-like input."""
        if cls is Customer:
            found = _read_customer(data)
            if found is not SLOW:
                return found
        r = Reader(data, path)
        kwargs = {
            "id": r.get("id", check_id),
            "timezone": r.get("timezone", check_timezone),
            "segment": r.get("segment", _label, default=None),
            "region": r.get("region", _label, default=None),
            "value": r.get("value", lambda v, p: _check_value(_to_decimal(v), p), default=None),
            "language": r.get("language", _check_language, default=None),
            "name": r.get("name", _check_name, default=None, personal=True),
            "contact": r.get("contact", ContactPreferences.from_dict, default=_NO_CONTACT),
            "attributes": r.get("attributes", check_attributes, default=empty_attributes()),
        }
        r.finish()
        return r.build_checked(cls, kwargs)  # each field checked once, above


_NO_CONTACT: Final = ContactPreferences()
"""A customer's contact preferences when none are given (a value: shared)."""


_LABEL: Final = re.compile(r"[!-?A-~][ -?A-~]{0,99}")
"""A label :func:`_label` passes as it is: printable ASCII without ``@``, not
starting with a space, at most 100 characters."""

guard(_check_channel, SLUG)
lookup(DailyWindow.parse, PARSED_WINDOWS)  # a window parsed before
guard(_check_address, plain_text(_MAX_ADDRESS) + " and not {v}.isspace() and {v} != ''")
guard(_check_name, plain_text(_MAX_NAME))
guard(_label, "type({v}) is str and _LABEL.fullmatch({v}) is not None")
_read_point: Final = compile_reader(
    ContactPoint,
    {"channel": (_check_channel, REQUIRED), "address": (_check_address, REQUIRED)},
)
_read_contact: Final = compile_reader(
    ContactPreferences,
    {
        "channels": (Each(ContactPoint), ()),
        "quiet_hours": (DailyWindow.parse, None),
        "preferred_window": (DailyWindow.parse, None),
        "surveys_opt_out": (bool, False),
    },
)
_read_customer: Final = compile_reader(
    Customer,
    {
        "id": (check_id, REQUIRED),
        "timezone": (check_timezone, REQUIRED),
        "segment": (_label, None),
        "region": (_label, None),
        "value": (lambda v, p: _check_value(_to_decimal(v), p), None),
        "language": (_check_language, None),
        "name": (_check_name, None),
        "contact": (ContactPreferences, _NO_CONTACT),
        "attributes": (check_attributes, empty_attributes()),
    },
    names={"_LABEL": _LABEL},
)
"""The fields each ``from_dict`` above reads, read at once when nothing is wrong."""
