"""The one way to read a member of a string enum from input.

A value from outside loopkit (a policy file, a ``from_dict`` mapping, a
plugin's answer, a caller's string) becomes a member with
:func:`check_choice`, or with :func:`choice` in a :class:`~loopkit._input.reader.Reader`,
or with :func:`to_choice` in an attrs converter paired with
``validator(choice(kind))``. Never with ``Kind(value)``, whose ``ValueError``
names no field and suggests nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from loopkit.errors import ValidationError, describe_input, suggest

E = TypeVar("E", bound=enum.StrEnum)


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


def to_choice(kind: type[E], value: object) -> object:
    """For an attrs converter: the member whose value ``value`` is
    (``"relationship"`` becomes ``SurveyKind.RELATIONSHIP``); anything else is
    returned as it came, for ``validator(choice(kind))`` to refuse with the
    field's path. (mypy's attrs plugin wants a named function as converter, so
    a class wraps this in one: ``def _to_survey(v): return to_choice(SurveyKind, v)``.)"""
    if isinstance(value, str) and not isinstance(value, kind):
        try:
            return kind(value)
        except ValueError:
            return value
    return value
