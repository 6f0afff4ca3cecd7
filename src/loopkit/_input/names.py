"""Names written in a policy file (policies, topics, calendars, roles, budgets).

A name is an id (:func:`~loopkit._input.checks.check_id`: non-empty, at most
200 characters, no control characters, so no NUL and no ANSI escape) that
also has no invisible formatting characters (bidi overrides, zero-width
spaces, line separators) and no blank edges: what a reader sees in the file
or a report is the name.
"""

from __future__ import annotations

import unicodedata

from loopkit.errors import ValidationError

from .checks import check_id

__all__ = ["check_name"]


def check_name(value: object, path: str) -> str:
    """A name a person can read and type.

    >>> check_name("support-detractor-callback", "policies[0].name")
    'support-detractor-callback'
    """
    name = check_id(value, path)
    if name != name.strip():
        raise ValidationError(path, "a name without leading or trailing spaces", repr(name))
    for char in name:
        if unicodedata.category(char) in ("Cf", "Zl", "Zp", "Co", "Cs", "Cn"):
            raise ValidationError(
                path,
                "a name without invisible or formatting characters",
                f"one with U+{ord(char):04X}",
            )
    return name
