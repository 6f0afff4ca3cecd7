"""Checks for scalar input: ids, text, numbers and time zone names.

Each ``check_*`` function takes a value and the field path it sits at, and
returns the value (possibly normalised) or raises
:class:`~loopkit.errors.ValidationError` naming that path. They never put
personal data in a message. :func:`validator` and :func:`optional` turn one
into an attrs validator.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from loopkit.errors import ValidationError, describe, describe_input

MAX_ID_LENGTH: Final = 200
"""Longest id accepted for customers, touchpoints, responses, cases and employees."""

MAX_INT: Final = 2**63 - 1
"""Largest integer accepted anywhere in the model (and smallest: ``-MAX_INT - 1``):
a signed 64-bit integer, which every JSON reader and database keeps exactly."""

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and lone surrogates: a str may hold them, but UTF-8 (files, SQLite,
JSON for other systems) cannot encode a lone surrogate, and NUL ends a string
in C."""
_SLUG = re.compile(r"[a-z][a-z0-9_\-]{0,63}")  # fullmatch: "$" would let "email\n" in
_PHONE = re.compile(r"\+[0-9][0-9 ()\-]{5,}")
_NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})
"""Files in a zoneinfo directory that load but are not IANA zone keys."""


def looks_personal(value: str) -> bool:
    """Whether an id looks like an e-mail address or a phone number: ids show
    in reprs, logs and errors, so those are refused (use an opaque key)."""
    return "@" in value or _PHONE.fullmatch(value.strip()) is not None


_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:/\-]{1,200}")
"""An id every check below passes at once (ASCII letters, digits and ``_.:/-``:
no space, no ``@``, no ``+``, so neither an e-mail address nor a phone number);
one match instead of six checks for the ids a feed is made of."""


def check_id(value: object, path: str) -> str:
    """A non-empty identifier of at most 200 characters with no control
    characters and no lone surrogates."""
    if type(value) is str and _PLAIN_ID.fullmatch(value) is not None:
        return value
    if not isinstance(value, str):
        raise ValidationError(path, "a string id", describe_input(value))
    if not value or not value.strip():
        raise ValidationError(path, "a non-empty id", describe_input(value))
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(path, f"an id of at most {MAX_ID_LENGTH} characters", f"{len(value)}")
    if CONTROL.search(value):
        raise ValidationError(
            path, "an id without control characters", "one with a control character"
        )
    if not value.isascii() and UNSTORABLE.search(value):
        raise ValidationError(
            path, "an id of valid Unicode text", "one with a lone surrogate (not UTF-8 encodable)"
        )
    if looks_personal(value):
        raise ValidationError(
            path,
            "an opaque id, not an e-mail address or phone number",
            describe_input(value),
            hint="ids show in logs and errors: use a key such as the CRM's customer number",
        )
    return value


def check_storable(value: str, path: str) -> str:
    """Text that every store can keep: no NUL character, no lone surrogate
    (``"\\ud800"`` from a JSON escape cannot be encoded as UTF-8). Says where
    the first one is, never what the text says."""
    if value.isascii() and "\x00" not in value:
        return value
    found = UNSTORABLE.search(value)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
        raise ValidationError(
            path,
            "text without NUL characters or lone surrogates",
            f"{what} at position {found.start()} of {len(value)} characters",
        )
    return value


def shown_id(value: object) -> str:
    """An id as a message shows it: quoted when it is a valid id, else
    described (a caller may pass an e-mail address where an id belongs)."""
    try:
        return repr(check_id(value, "id"))
    except ValidationError:
        return describe_input(value)


def check_optional_id(value: object, path: str) -> str | None:
    return None if value is None else check_id(value, path)


def check_slug(value: object, path: str, what: str) -> str:
    """A lowercase name such as ``support_contact`` or ``email`` (custom values allowed)."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValidationError(
            path,
            f"{what}: lowercase letters, digits, '_' or '-', starting with a letter",
            describe_input(value),
        )
    return value


def check_text(value: object, path: str, *, max_length: int, personal: bool) -> str:
    """A string of at most ``max_length`` characters that a store can keep
    (see :func:`check_storable`)."""
    if not isinstance(value, str):
        raise ValidationError(
            path, "a string", describe(value, personal=True) if personal else describe_input(value)
        )
    if len(value) > max_length:
        raise ValidationError(path, f"at most {max_length} characters", f"{len(value)} characters")
    return check_storable(value, path)


def check_whole(value: object, path: str) -> int:
    """An ``int`` of any size (for a reader whose caller checks a range next,
    so the message names that range): bools, floats, NaN and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, "an integer", describe_input(value))
    return value


def check_int(value: object, path: str) -> int:
    """An ``int`` proper that fits in 64 bits (see :data:`MAX_INT`): bools,
    floats (even 3.0), NaN and strings are refused."""
    value = check_whole(value, path)
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise ValidationError(path, "an integer that fits in 64 bits", _big(value))
    return value


def _big(value: int) -> str:
    """Describes an integer too large to print (Python refuses to turn one of
    more than 4,300 digits into text)."""
    return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"


def check_number(value: object, path: str) -> int | float:
    """A finite int or float (bools, NaN and infinities are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(path, "a number", describe_input(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(path, "a finite number", describe_input(value))
    elif not -MAX_INT - 1 <= value <= MAX_INT:
        raise ValidationError(path, "a number that fits in 64 bits", _big(value))
    return value


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    if name in _NOT_ZONES or name.startswith(("posix/", "right/")):
        return None  # they load from a zoneinfo directory, but are not zone keys
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_timezone(value: object, path: str) -> str:
    """An IANA time zone key that ``zoneinfo`` knows, such as ``Europe/Stockholm``
    (not ``localtime``, ``posixrules``, ``Factory`` or ``posix/...``, which a
    zoneinfo directory holds but which name no real zone)."""
    if not isinstance(value, str) or not value or CONTROL.search(value):
        raise ValidationError(path, "an IANA time zone name", describe_input(value))
    if value in _NOT_ZONES or value.startswith(("posix/", "right/")):
        raise ValidationError(
            path,
            "a real IANA zone key such as 'Europe/Stockholm'",
            repr(value) if value in _NOT_ZONES else describe_input(value),
            hint="a zoneinfo directory holds it, but it names no zone",
        )
    if _zone(value) is None:
        raise ValidationError(
            path, "an IANA time zone name such as 'Europe/Stockholm'", describe_input(value)
        )
    if len(KNOWN_ZONES) < 4096:  # about 600 exist: a bound against a feed of odd names
        KNOWN_ZONES.add(value)
    return value


KNOWN_ZONES: Final[set[str]] = set()
"""Zone names :func:`check_timezone` has passed: one passes it again as it is."""


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ``ZoneInfo`` for a name already checked by :func:`check_timezone`."""
    found = _zone(name)
    if found is None:
        raise ValidationError("timezone", "an IANA time zone name", describe_input(name))
    return found


def validator(check: Callable[[object, str], Any]) -> Callable[[Any, Any, Any], None]:
    """Turn a ``check_*`` function into an attrs validator naming ``Class.field``."""

    def run(instance: Any, attribute: Any, value: Any) -> None:
        try:
            check(value, attribute.name)
        except ValidationError as err:  # name the class only when there is an error
            raise err.under(type(instance).__name__) from None

    return run


def optional(check: Callable[[object, str], Any]) -> Callable[[Any, Any, Any], None]:
    def run(instance: Any, attribute: Any, value: Any) -> None:
        if value is not None:
            try:
                check(value, attribute.name)
            except ValidationError as err:
                raise err.under(type(instance).__name__) from None

    return run
