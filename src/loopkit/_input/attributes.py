"""Free ``attributes``: a read-only mapping of names to JSON scalars or lists of them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from loopkit.errors import ValidationError, describe_input, describe_key

from .checks import CONTROL, UNSTORABLE, check_number, check_storable

MAX_ATTRIBUTES: Final = 200
"""Most keys in one ``attributes`` mapping."""
MAX_ATTRIBUTE_KEY: Final = 100
"""Longest attribute name, in characters."""
MAX_ATTRIBUTE_TEXT: Final = 10_000
"""Longest string value of an attribute, in characters."""
MAX_ATTRIBUTE_ITEMS: Final = 1_000
"""Most values in one list-valued attribute (lists hold scalars only: no nesting)."""

JsonScalar = str | int | float | bool | None
"""A value allowed in free ``attributes``: JSON scalars, or tuples of them."""


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
        if len(key) > MAX_ATTRIBUTE_KEY or CONTROL.search(key) or UNSTORABLE.search(key):
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
