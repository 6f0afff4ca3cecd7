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
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from loopkit._input.checks import check_id, check_slug, check_timezone
from loopkit.errors import ValidationError, describe, suggest
from loopkit.model import Category, Customer, Response, SurveyKind, Touchpoint

__all__ = ["FIELDS", "FieldKind", "FieldSpec", "field_names", "resolve_field", "suggest_field"]


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
    format: Callable[[object, str], object] | None = attrs.field(default=None, eq=False, repr=False)
    """The check the model applies to this field's values (a lowercase slug
    for ``touchpoint.kind``, an id for ``touchpoint.employee_id``...): a
    literal that fails it could never match, so it is refused at load."""

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


def _slug(what: str) -> Callable[[object, str], object]:
    return lambda value, path: check_slug(value, path, what)


def _label(value: object, path: str) -> object:
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValidationError(path, "a non-empty label of at most 100 characters", describe(value))
    return value


def _language(value: object, path: str) -> object:
    if (
        not isinstance(value, str)
        or not 2 <= len(value) <= 35
        or not all(part.isalnum() for part in value.split("-"))
    ):
        raise ValidationError(path, "a language tag such as 'sv' or 'sv-SE'", describe(value))
    return value


_FORMATS: Final[Mapping[str, Callable[[object, str], object]]] = {
    "response.id": check_id,
    "response.customer_id": check_id,
    "response.scale": _slug("a scale name such as 'nps'"),
    "response.source": _slug("a source name such as 'sms_survey'"),
    "touchpoint.id": check_id,
    "touchpoint.kind": _slug("a touchpoint kind such as 'purchase'"),
    "touchpoint.channel": _slug("a channel such as 'phone'"),
    "touchpoint.employee_id": check_id,
    "touchpoint.reference": check_id,
    "customer.id": check_id,
    "customer.timezone": check_timezone,
    "customer.segment": _label,
    "customer.region": _label,
    "customer.language": _language,
    "customer.contact.channels": _slug("a channel such as 'phone'"),
}
"""The same checks the model's values pass, per field (see ``FieldSpec.format``)."""

FIELDS: Final[Mapping[str, FieldSpec]] = {
    path: FieldSpec(
        path=path,
        kind=kind,
        expr=expr,
        description=desc,
        personal=personal,
        choices=choices,
        format=_FORMATS.get(path),
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


# Words people write for a field, by what they mean: "did you mean" suggests
# the field meant (touchpoint.type -> touchpoint.kind), not the one spelt alike.
_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "kind": ("type", "kinds", "sort", "touchpoint", "touchpoint_type", "event", "step"),
    "channel": ("medium", "via", "media", "source_channel"),
    "occurred_at": ("date", "time", "when", "at", "timestamp", "happened_at", "created_at"),
    "answered_at": ("date", "time", "when", "at", "timestamp", "created_at", "submitted_at"),
    "employee_id": ("employee", "agent", "staff", "clerk", "handler", "served_by", "user"),
    "reference": ("order", "order_id", "ticket", "ticket_id", "ref", "order_number"),
    "score": ("rating", "nps", "grade", "points", "value", "answer"),
    "category": ("class", "band", "group", "bucket", "classification", "sentiment"),
    "comment": ("text", "feedback", "remark", "remarks", "note", "notes", "message", "verbatim"),
    "scale": ("metric", "survey_type"),
    "survey": ("survey_kind", "kind_of_survey"),
    "timezone": ("tz", "zone", "time_zone"),
    "language": ("lang", "locale"),
    "region": ("country", "area", "market", "location"),
    "segment": ("tier", "level", "plan", "class"),
    "value": ("worth", "ltv", "clv", "revenue", "spend"),
    "name": ("full_name", "first_name"),
}


def suggest_field(path: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The field ``path`` most likely means, by meaning first and then by
    spelling, among ``choices`` (every field by default).

    >>> suggest_field("touchpoint.type"), suggest_field("respnse.score")
    ('touchpoint.kind', 'response.score')
    >>> suggest_field("customer.tz"), suggest_field("customer.favourite_colour")
    ('customer.timezone', 'customer.attributes.favourite_colour')
    """
    pool = choices if choices is not None else field_names()
    root, _, leaf = path.partition(".")
    roots = sorted({p.split(".", 1)[0] for p in pool})
    if root not in roots:
        root = suggest(root, roots) or root
    head, _, rest = leaf.partition(".")
    if head in ("attributes", "attribute", "attrs", "attr", "extra") and choices is None:
        return f"{root}.attributes.{rest or 'NAME'}" if root != "response" else None
    leaf_key = leaf.replace("-", "_").replace(" ", "_").lower()
    for meant, words in _SYNONYMS.items():
        if leaf_key in words or leaf_key == meant:
            candidate = f"{root}.{meant}"
            if candidate in pool and candidate != path:
                return candidate
    leaves = [p[len(root) + 1 :] for p in pool if p.startswith(root + ".")]
    near = suggest(leaf, [x for x in leaves if not x.endswith("NAME")]) if leaf else None
    if near is not None and f"{root}.{near}" != path:
        return f"{root}.{near}"
    attribute = f"{root}.attributes.NAME"
    if choices is None and attribute in pool and leaf and "." not in leaf:
        return f"{root}.attributes.{leaf}"
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
