"""The fields a condition may test: dotted paths over ``response``, ``touchpoint``
and ``customer``, each with a type, checked when a policy file is loaded.

Every field knows how to read itself (``get``) and a fixed fragment of Python
source that reads it (``expr``), written here, never taken from a policy file.
Attribute keys (``customer.attributes.tier``) are the only part of a path that
comes from the file, and they reach generated code as bound constants only.

>>> resolve_field("response.score").kind.value
'integer'
>>> resolve_field("customer.attributes.tier").key
'tier'
>>> resolve_field("response.scor") is None
True
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from loopkit.model import Category, Customer, Response, SurveyKind, Touchpoint

__all__ = ["FIELDS", "FieldKind", "FieldSpec", "field_names", "resolve_field"]


class FieldKind(enum.StrEnum):
    """The type of a field, which decides the operators and literals it takes."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    TIME = "time"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    NAMES = "names"
    ANY = "any"


_ROOT_VARS: Final = {"response": "r", "touchpoint": "t", "customer": "c"}


@attrs.frozen(kw_only=True)
class FieldSpec:
    """One field a condition can name.

    ``expr`` is Python source over ``r`` (response), ``t`` (touchpoint) and
    ``c`` (customer); for an attribute it contains ``{key}``, replaced by the
    name of a bound constant holding the key. ``personal`` values are never
    shown in explanations or errors.
    """

    path: str
    kind: FieldKind
    expr: str
    description: str
    personal: bool = False
    choices: type[enum.Enum] | None = None
    key: str | None = None

    @property
    def root(self) -> str:
        """``"response"``, ``"touchpoint"`` or ``"customer"``."""
        return self.path.split(".", 1)[0]

    @property
    def var(self) -> str:
        return _ROOT_VARS[self.root]

    def get(
        self, response: Response | None, touchpoint: Touchpoint | None, customer: Customer | None
    ) -> Any:
        """The field's value, or ``None`` when it (or its touchpoint) is missing."""
        root = self.path[0]  # r(esponse), t(ouchpoint), c(ustomer)
        obj: Any = response if root == "r" else touchpoint if root == "t" else customer
        if obj is None:
            return None
        if self.key is not None:
            return obj.attributes.get(self.key)
        return _GETTERS[self.path](obj)


def _attr(name: str) -> Any:
    return operator.attrgetter(name)


# path, kind, expression (over r / t / c), description, personal, choices
_TABLE: Final[tuple[tuple[str, FieldKind, str, str, bool, type[enum.Enum] | None], ...]] = (
    ("response.id", FieldKind.TEXT, "r.id", "the response's id", False, None),
    ("response.customer_id", FieldKind.TEXT, "r.customer_id", "the customer's id", False, None),
    ("response.score", FieldKind.INTEGER, "r.score", "the score on its scale", False, None),
    (
        "response.category",
        FieldKind.CHOICE,
        "r.category",
        "detractor, passive or promoter",
        False,
        Category,
    ),
    ("response.comment", FieldKind.TEXT, "r.comment", "the free-text comment", True, None),
    ("response.answered_at", FieldKind.TIME, "r.answered_at", "when it was answered", False, None),
    (
        "response.scale",
        FieldKind.TEXT,
        "r.scale.name",
        "the scale's name (nps, csat...)",
        False,
        None,
    ),
    (
        "response.survey",
        FieldKind.CHOICE,
        "r.survey",
        "transactional or relationship",
        False,
        SurveyKind,
    ),
    ("response.source", FieldKind.TEXT, "r.source", "where the answer came from", False, None),
    ("touchpoint.id", FieldKind.TEXT, "t.id", "the touchpoint's id", False, None),
    ("touchpoint.kind", FieldKind.TEXT, "t.kind", "purchase, support_contact, ...", False, None),
    ("touchpoint.channel", FieldKind.TEXT, "t.channel", "phone, email, store, ...", False, None),
    ("touchpoint.occurred_at", FieldKind.TIME, "t.occurred_at", "when it happened", False, None),
    ("touchpoint.employee_id", FieldKind.TEXT, "t.employee_id", "who served", False, None),
    ("touchpoint.reference", FieldKind.TEXT, "t.reference", "order or ticket", False, None),
    ("customer.id", FieldKind.TEXT, "c.id", "the customer's id", False, None),
    ("customer.timezone", FieldKind.TEXT, "c.timezone", "IANA zone", False, None),
    ("customer.segment", FieldKind.TEXT, "c.segment", "segment such as gold", False, None),
    ("customer.region", FieldKind.TEXT, "c.region", "region", False, None),
    ("customer.value", FieldKind.NUMBER, "c.value", "customer value", False, None),
    ("customer.language", FieldKind.TEXT, "c.language", "language tag", False, None),
    ("customer.name", FieldKind.TEXT, "c.name", "the customer's name", True, None),
    (
        "customer.contact.channels",
        FieldKind.NAMES,
        "c.contact.consented_channels",
        "the channels the customer consented to",
        False,
        None,
    ),
    (
        "customer.contact.surveys_opt_out",
        FieldKind.BOOLEAN,
        "c.contact.surveys_opt_out",
        "opted out of surveys",
        False,
        None,
    ),
)

FIELDS: Final[Mapping[str, FieldSpec]] = {
    path: FieldSpec(
        path=path, kind=kind, expr=expr, description=desc, personal=personal, choices=choices
    )
    for path, kind, expr, desc, personal, choices in _TABLE
}
"""Every fixed field by path (attribute fields are resolved on demand)."""

_GETTERS: Final = {
    **{path: _attr(spec.expr.split(".", 1)[1]) for path, spec in FIELDS.items()},
}

_ATTRIBUTE_ROOTS: Final = ("touchpoint.attributes.", "customer.attributes.")


def resolve_field(path: object) -> FieldSpec | None:
    """The field named by ``path``, or ``None`` if there is no such field.

    ``touchpoint.attributes.NAME`` and ``customer.attributes.NAME`` name free
    attributes (any JSON scalar, or a list of them).

    >>> resolve_field("touchpoint.kind").expr
    't.kind'
    """
    if not isinstance(path, str):
        return None
    found = FIELDS.get(path)
    if found is not None:
        return found
    for prefix in _ATTRIBUTE_ROOTS:
        if path.startswith(prefix) and len(path) > len(prefix):
            var = _ROOT_VARS[prefix.split(".", 1)[0]]
            return FieldSpec(
                path=path,
                kind=FieldKind.ANY,
                expr=var + ".attributes.get({key})",
                description="a free attribute",
                key=path[len(prefix) :],
            )
    return None


def field_names() -> tuple[str, ...]:
    """Every fixed field path, plus the two attribute patterns."""
    return (*FIELDS, "touchpoint.attributes.NAME", "customer.attributes.NAME")


def show(value: Any, *, personal: bool = False) -> str:
    """A value as an explanation shows it: enums by value, times in ISO form,
    personal values redacted.

    >>> show(Category.DETRACTOR), show("Nobody called", personal=True)
    ("'detractor'", 'a redacted str of 13 characters')
    """
    from loopkit.errors import describe

    if personal:
        return describe(value, personal=True) if value is not None else "nothing (missing)"
    if value is None:
        return "nothing (missing)"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return describe(value)
