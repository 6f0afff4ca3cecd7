"""Safe descriptions of values for error messages: what a value is, never
what personal data it holds.

:func:`describe` shows a shortened ``repr`` (or, for a personal value, its
type and length); :func:`describe_input` describes a value from untrusted
input; :func:`describe_key` shows a mapping key as a field path may;
:class:`Unreadable` stands in for an input value that could not be read;
:func:`suggest` names the nearest valid key for a misspelt one. All are
re-exported by :mod:`loopkit.errors`, where callers import them.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

__all__ = ["Unreadable", "describe", "describe_input", "describe_key", "suggest"]

_MAX_SHOWN: Final = 60


def describe(value: object, *, personal: bool = False) -> str:
    """Describe ``value`` for an error message without leaking personal data.

    Personal values are shown as their type and length only; others as a
    shortened ``repr``. Never raises, whatever the value: a huge int, a list
    nested 10,000 deep, a list that contains itself, an object whose
    ``__repr__`` or ``__len__`` raises.

    >>> describe("six")
    "'six'"
    >>> describe("anna@example.com", personal=True)
    'a redacted str of 16 characters'
    >>> describe(10**5000)
    'an int of about 5001 digits'
    """
    try:
        if personal and value is not None:
            return _redacted(value)
        return _shown(value)
    except Exception:  # a hostile value: its type is all that is safe to say
        return f"a {_type_name(value)}"


@attrs.frozen
class Unreadable:
    """Stands in for an input value loopkit could not even read (an integer of
    more than 4,300 digits in a JSON line): no field accepts it, and an error
    about it says ``description`` (which holds no part of the value)."""

    description: str


def describe_input(value: object) -> str:
    """Describe a value from untrusted input (a record, a feed line, a plugin)
    that may hold personal data in the wrong place: ``None``, booleans and
    numbers below a million are shown; everything else (text above all: an
    e-mail address given as a channel, a whole record given as a string) is
    described by its type and length only.

    >>> describe_input(11)
    '11'
    >>> describe_input("anna@example.com")
    'a str of 16 characters'
    >>> describe_input({"email": "anna@example.com"})
    'a dict of 1 item'
    """
    try:
        if value is None or isinstance(value, bool):
            return repr(bool(value)) if value is not None else "None"
        if isinstance(value, Unreadable):
            return value.description
        if type(value) is int and -_SHOWN_NUMBER < value < _SHOWN_NUMBER:
            return int.__repr__(value)
        if type(value) is float and (value != value or -_SHOWN_NUMBER < value < _SHOWN_NUMBER):
            return float.__repr__(value)
        if type(value) is int:  # a long number such as a phone number
            return _int_text(value, shown=False)
        if type(value) is float:  # an infinity, or a long number such as a phone number
            return "an infinite float" if abs(value) == float("inf") else "a large float"
        return _redacted(value).replace("a redacted ", "a ", 1)
    except Exception:
        return f"a {_type_name(value)}"


_SHOWN_NUMBER: Final = 1_000_000
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,39}")


def describe_key(key: object) -> str:
    """A key of an input mapping as a path may show it: a name such as
    ``timezon`` or ``order_total`` as it is, anything else (an e-mail address
    used as a key, text with spaces) described by type and length.

    >>> describe_key("timezon"), describe_key("anna@example.com")
    ('timezon', '<a str key of 16 characters>')
    """
    if type(key) is str and _NAME.fullmatch(key):
        return key
    return f"<{describe_input(key).replace(' of ', ' key of ', 1)}>"


def _type_name(value: object) -> str:
    try:
        name = type(value).__name__
    except Exception:
        return "value"
    return name if isinstance(name, str) and _NAME.fullmatch(name) else "value"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _redacted(value: object) -> str:
    kind = _type_name(value)
    if isinstance(value, str):
        return f"a redacted {kind} of {_count(str.__len__(value), 'character')}"
    for base, length, unit in _SIZED:
        if isinstance(value, base):  # the base's own length: an override may raise
            return f"a redacted {kind} of {_count(length(value), unit)}"
    return f"a redacted {kind}"


_SIZED: Final[tuple[tuple[type, Callable[[Any], int], str], ...]] = (
    (bytes, bytes.__len__, "byte"),
    (bytearray, bytearray.__len__, "byte"),
    (list, list.__len__, "item"),
    (tuple, tuple.__len__, "item"),
    (dict, dict.__len__, "item"),
    (set, set.__len__, "item"),
    (frozenset, frozenset.__len__, "item"),
)


def _int_text(value: int, *, shown: bool = True) -> str:
    if shown and -(10**18) < value < 10**18:
        return int.__repr__(value)
    digits = len(int.__repr__(abs(value))) if value.bit_length() < 10_000 else None
    if digits is None:  # beyond the int-str conversion limit: estimate from the bits
        return f"an int of about {int(value.bit_length() * 0.30103) + 1} digits"
    return f"an int of {digits} digits"


class _SafeRepr(reprlib.Repr):
    """``reprlib`` with small limits, ints that never hit the int-str limit,
    and objects whose ``__repr__`` raises named by their type."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = _MAX_SHOWN
        self.maxother = _MAX_SHOWN
        self.maxlong = _MAX_SHOWN

    def repr_int(self, x: int, level: int) -> str:
        return _int_text(x)

    def repr_instance(self, x: object, level: int) -> str:
        try:
            if type(x).__repr__ is object.__repr__:  # names the type (and so its name)
                return f"<a {_type_name(x)}>"
            text = repr(x)
        except Exception:
            return f"<a {_type_name(x)}>"
        return text if len(text) <= self.maxother else text[: self.maxother - 3] + "..."


_REPR: Final = _SafeRepr()


def _shown(value: object) -> str:
    if type(value) is int:
        return _int_text(value)
    text = repr(value[: _MAX_SHOWN + 1]) if type(value) is str else _REPR.repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest of ``choices`` to ``word``, if any is close enough.

    >>> suggest("chanels", ["channels", "owner"])
    'channels'
    """
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None
