"""Checks shared by the model's validators and its ``from_dict`` readers.

Each ``check_*`` function takes a value and the field path it sits at, and
returns the value (possibly normalised) or raises
:class:`~loopkit.errors.ValidationError` naming that path. They never put
personal data in a message.
"""

from __future__ import annotations

import enum
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, TypeVar

from loopkit.errors import (
    BusinessTimeError,
    ValidationError,
    describe,
    describe_input,
    describe_key,
    suggest,
)

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)

MAX_ID_LENGTH: Final = 200
"""Longest id accepted for customers, touchpoints, responses, cases and employees."""

MAX_INT: Final = 2**63 - 1
"""Largest integer accepted anywhere in the model (and smallest: ``-MAX_INT - 1``):
a signed 64-bit integer, which every JSON reader and database keeps exactly."""
MAX_ATTRIBUTES: Final = 200
"""Most keys in one ``attributes`` mapping."""
MAX_ATTRIBUTE_KEY: Final = 100
"""Longest attribute name, in characters."""
MAX_ATTRIBUTE_TEXT: Final = 10_000
"""Longest string value of an attribute, in characters."""
MAX_ATTRIBUTE_ITEMS: Final = 1_000
"""Most values in one list-valued attribute (lists hold scalars only: no nesting)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
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


JsonScalar = str | int | float | bool | None
"""A value allowed in free ``attributes``: JSON scalars, or tuples of them."""


def check_id(value: object, path: str) -> str:
    """A non-empty identifier of at most 200 characters with no control
    characters and no lone surrogates."""
    if not isinstance(value, str):
        raise ValidationError(path, "a string id", describe_input(value))
    if not value or not value.strip():
        raise ValidationError(path, "a non-empty id", describe_input(value))
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(path, f"an id of at most {MAX_ID_LENGTH} characters", f"{len(value)}")
    if _CONTROL.search(value):
        raise ValidationError(
            path, "an id without control characters", "one with a control character"
        )
    if not value.isascii() and _UNSTORABLE.search(value):
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
    found = _UNSTORABLE.search(value)
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


def check_choice(kind: type[E], value: object, path: str) -> E:
    """A member of the string enum ``kind``, given as the member or its value."""
    if isinstance(value, kind):
        return value
    try:
        if isinstance(value, str):
            return kind(value)
    except ValueError:
        pass
    near = suggest(value, [k.value for k in kind]) if isinstance(value, str) else None
    raise ValidationError(
        path,
        f"one of {[k.value for k in kind]}",
        describe_input(value),  # not a member: shown only as a suggestion from the list
        hint=f"did you mean {near!r}?" if near else None,
    )


def choice(kind: type[E]) -> Callable[[object, str], E]:
    """A ``check(value, path)`` reader for ``Reader.get`` that accepts one of ``kind``."""
    return lambda value, path: check_choice(kind, value, path)


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


def check_aware(value: object, path: str) -> datetime:
    """A timezone-aware datetime; naive ones are refused, never guessed."""
    if not isinstance(value, datetime):
        raise ValidationError(path, "a timezone-aware datetime", describe_input(value))
    if value.tzinfo is None or value.utcoffset() is None:
        raise BusinessTimeError(
            path,
            "a timezone-aware datetime",
            "a naive datetime",
            hint="attach a zone, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Stockholm'))",
        )
    return value


def parse_instant(value: object, path: str) -> datetime:
    """An ISO 8601 string with a UTC offset (``2026-11-20T15:30:00+01:00``)."""
    if isinstance(value, datetime):
        return check_aware(value, path)
    if not isinstance(value, str):
        raise ValidationError(path, "an ISO 8601 timestamp with offset", describe_input(value))
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            path, "an ISO 8601 timestamp with offset", describe_input(value)
        ) from None
    if parsed.tzinfo is None:
        raise BusinessTimeError(  # it parsed as a timestamp: safe to show
            path, "an ISO 8601 timestamp with an offset such as +01:00 or Z", repr(value)
        )
    return parsed


_NAIVE_EPOCH: Final = datetime(1970, 1, 1)


_UTC_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def instant_key(value: datetime | None) -> timedelta | None:
    """The instant an aware datetime names, for comparing and ordering.

    Python compares two datetimes sharing one ``tzinfo`` by wall clock (a
    fall-back hour's second 02:10 sorts before its first 02:50), and never
    finds a zone-aware datetime in a DST fold or gap equal to the same instant
    with a fixed offset (what ``from_dict`` reads back). Comparing this key
    instead gives the real order and makes the ``to_dict`` round trip exact.
    Works for every aware datetime, ``datetime.min`` included.
    """
    if value is None:
        return None
    try:
        return value - _UTC_EPOCH  # aware minus aware: by instant, fold included
    except (TypeError, OverflowError):  # naive, or an offset at the edge of time
        offset = value.utcoffset()
        return value.replace(tzinfo=None) - _NAIVE_EPOCH - (offset or timedelta(0))


def format_instant(value: datetime) -> str:
    """The ISO 8601 form used by ``to_dict``: keeps the offset, microseconds if any."""
    return value.isoformat()


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
    if not isinstance(value, str) or not value or _CONTROL.search(value):
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
    return value


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ``ZoneInfo`` for a name already checked by :func:`check_timezone`."""
    found = _zone(name)
    if found is None:
        raise ValidationError("timezone", "an IANA time zone name", describe_input(name))
    return found


def check_attributes(value: object, path: str) -> Mapping[str, Any]:
    """Free attributes: a mapping of string keys to JSON scalars or lists of them.

    Returned as a read-only mapping; lists become tuples. Limits: at most
    :data:`MAX_ATTRIBUTES` keys of at most :data:`MAX_ATTRIBUTE_KEY` characters
    (no control characters), strings of at most :data:`MAX_ATTRIBUTE_TEXT`
    characters (no NUL, no lone surrogate), integers that fit in 64 bits, lists
    of at most :data:`MAX_ATTRIBUTE_ITEMS` scalars (a list in a list is refused).
    """
    if not isinstance(value, Mapping):
        raise ValidationError(path, "a mapping of names to values", describe_input(value))
    if len(value) > MAX_ATTRIBUTES:
        raise ValidationError(path, f"at most {MAX_ATTRIBUTES} attributes", f"{len(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(path, "string keys", describe_input(key))
        if len(key) > MAX_ATTRIBUTE_KEY or _CONTROL.search(key) or _UNSTORABLE.search(key):
            raise ValidationError(
                path,
                f"attribute names of at most {MAX_ATTRIBUTE_KEY} characters, without control "
                "characters or lone surrogates",
                describe_input(key),
            )
        # a key can be personal too: shown only when it is a plain name
        item_path = f"{path}.{key if key.isidentifier() else describe_key(key)}"
        if isinstance(item, list | tuple):
            if len(item) > MAX_ATTRIBUTE_ITEMS:
                raise ValidationError(
                    item_path, f"a list of at most {MAX_ATTRIBUTE_ITEMS} values", f"{len(item)}"
                )
            out[key] = tuple(_check_scalar(x, f"{item_path}[{i}]") for i, x in enumerate(item))
        else:
            out[key] = _check_scalar(item, item_path)
    return MappingProxyType(out) if out else _EMPTY


def _check_scalar(value: object, path: str) -> JsonScalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValidationError(
                path, f"at most {MAX_ATTRIBUTE_TEXT} characters", f"{len(value)} characters"
            )
        return check_storable(value, path)
    if isinstance(value, int | float):
        return check_number(value, path)
    if isinstance(value, list | tuple | Mapping):
        kind = "a list" if isinstance(value, list | tuple) else "a mapping"
        raise ValidationError(path, "a string, number, boolean or null", f"{kind} (nested)")
    raise ValidationError(path, "a string, number, boolean or null", describe_input(value))


def convert_attributes(value: object) -> Mapping[str, Any]:
    """An attrs converter that checks free attributes (path ``attributes``)."""
    return check_attributes(value, "attributes")


def freeze_attributes(value: object) -> object:
    """An attrs converter that makes free attributes read-only (lists become
    tuples); pair it with ``validator(check_attributes)``, which checks them and
    names the path ``Class.field.key``. Anything not a mapping is left for the
    validator to refuse."""
    if not isinstance(value, Mapping):
        return value
    if not value:
        return _EMPTY
    return MappingProxyType(
        {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in value.items()}
    )


def empty_attributes() -> Mapping[str, Any]:
    """The empty read-only mapping (one shared instance: it cannot change)."""
    return _EMPTY


_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def attributes_to_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}


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


def builder(cls: type[T]) -> Callable[..., T]:
    """A function taking ``cls``'s init fields as keywords (with their
    defaults) that sets them on a bare instance, skipping converters and
    validators; generated once per class. For values made of parts that were
    already checked (the engine's hot path: "validate at the edge, trust
    inside"); never for values from outside loopkit.

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int = attrs.field(validator=attrs.validators.gt(0))
    ...     y: int = 0
    >>> builder(Point)(x=-1)
    Point(x=-1, y=0)
    """
    found = _BUILDERS.get(cls)
    if found is None:
        found = _BUILDERS[cls] = _make_builder(cls)
    return found


_BUILDERS: Final[dict[type, Callable[..., Any]]] = {}


def _make_builder(cls: Any) -> Callable[..., Any]:
    import attrs

    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    for i, field in enumerate(attrs.fields(cls)):
        if not field.init:
            continue
        name = field.name
        arg = field.alias or name  # the keyword, as in ``__init__`` (``_x`` is ``x``)
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"_f{i}"] = field.default.factory
            made = f"_f{i}(obj)" if field.default.takes_self else f"_f{i}()"
            params.append(f"{arg}=_MISSING")
            body.append(f"    _set(obj, {name!r}, {made} if {arg} is _MISSING else {arg})")
        else:
            if field.default is not attrs.NOTHING:
                namespace[f"_d{i}"] = field.default
                params.append(f"{arg}=_d{i}")
            else:
                params.append(arg)
            body.append(f"    _set(obj, {name!r}, {arg})")
    namespace["_MISSING"] = _MISSING_FIELD
    source = (
        f"def build(*, {', '.join(params)}):\n    obj = _new(_cls)\n"
        + "\n".join(body)
        + "\n    return obj\n"
    )
    exec(compile(source, f"<loopkit builder {cls.__qualname__}>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


_MISSING_FIELD: Final = object()
