"""The tree a condition is parsed into: leaves (one field, one operator, one
checked literal) and groups (``all``, ``any``, ``not``), with the operators
each kind of field takes.

The nodes are frozen values; :mod:`~loopkit.conditions.parser` builds them,
:mod:`~loopkit.conditions.compiler` turns them into Python and
:mod:`~loopkit.conditions.trace` explains them. ``str()`` of a node is the
condition as the policy file wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from .fields import FieldKind, FieldSpec

__all__ = ["COMBINERS", "OPERATORS", "OPS_FOR", "Group", "Leaf", "Node"]

OPERATORS: Final = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "lt",
    "le",
    "gt",
    "ge",
    "between",
    "exists",
    "contains",
    "matches",
    "within",
)
"""Every leaf operator, in the order the reference documents them."""

COMBINERS: Final = ("all", "any", "not")
"""The keys that combine conditions."""

_ORDERED: Final = frozenset({FieldKind.INTEGER, FieldKind.NUMBER, FieldKind.TIME, FieldKind.ANY})
_TEXTUAL: Final = frozenset({FieldKind.TEXT, FieldKind.ANY, FieldKind.NAMES})
_SCALAR: Final = frozenset(FieldKind) - {FieldKind.NAMES}

OPS_FOR: Final[Mapping[FieldKind, frozenset[str]]] = {
    kind: frozenset(
        op
        for op in OPERATORS
        if op == "exists"
        or (op in ("equals", "not_equals", "in", "not_in") and kind in _SCALAR)
        or (op in ("lt", "le", "gt", "ge", "between") and kind in _ORDERED)
        or (op in ("contains",) and kind in _TEXTUAL)
        or (op == "matches" and kind in (FieldKind.TEXT, FieldKind.ANY))
        or (op == "within" and kind is FieldKind.TIME)
    )
    for kind in FieldKind
}
"""The operators that apply to each kind of field."""


@attrs.frozen(kw_only=True)
class Leaf:
    """One test: ``field`` ``op`` ``value`` (``since`` only for ``within``).

    ``at`` is where it sits in its rule (``when.all[1]``); ``compiled`` caches
    the leaf compiled alone, for explanations.
    """

    at: str
    field: FieldSpec
    op: str
    written: Any  # the literal as written, for display
    value: Any  # the literal as compared
    since: FieldSpec | None = None
    compiled: Any = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        if self.op == "exists":
            return f"{self.field.path} {'exists' if self.value else 'is missing'}"
        if self.op == "within":
            tail = f" since {self.since.path}" if self.since else " before now"
            return f"{self.field.path} within {self.written!r}{tail}"
        return f"{self.field.path} {self.op} {_written(self.written)}"


def _written(value: object) -> str:
    """A literal as the policy file wrote it (lists as lists, times in ISO form)."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_written(v) for v in value) + "]"
    if isinstance(value, datetime):
        return repr(value.isoformat())
    return repr(value)


@attrs.frozen(kw_only=True)
class Group:
    """``all``, ``any`` or ``not`` (one child) over other nodes."""

    at: str
    kind: str  # "all", "any" or "not"
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(str(c) for c in self.children)})"


Node = Leaf | Group
"""A node of the tree."""
