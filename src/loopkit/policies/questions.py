"""Don't ask what you know: drop survey questions whose answers loopkit already has."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from loopkit._input.checks import check_id
from loopkit.conditions import FieldSpec, field_names, resolve_field
from loopkit.errors import ValidationError, describe, suggest
from loopkit.model import Customer, Touchpoint

__all__ = ["Question", "questions_to_ask"]


def _asks_about(value: object, path: str) -> FieldSpec:
    spec = resolve_field(value)
    if spec is None or spec.root == "response":
        near = (
            suggest(value, [n for n in field_names() if not n.startswith("response.")])
            if isinstance(value, str)
            else None
        )
        raise ValidationError(
            path,
            "a customer or touchpoint field such as 'customer.region'",
            describe(value),
            hint=f"did you mean {near!r}?" if near else None,
        )
    return spec


@attrs.frozen(kw_only=True)
class Question:
    """A survey question, tagged with the customer or touchpoint field it asks about.

    >>> Question(id="q1", asks_about="customer.region", text="Where do you live?").field.path
    'customer.region'
    """

    id: str = attrs.field(validator=lambda _, a, v: check_id(v, "Question.id"))
    asks_about: str
    text: str = attrs.field(default="", repr=False)
    field: FieldSpec = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "field", _asks_about(self.asks_about, "Question.asks_about"))


def questions_to_ask(
    questions: Iterable[Question], customer: Customer, touchpoint: Touchpoint | None = None
) -> tuple[Question, ...]:
    """The questions whose answer is not already known from the customer or touchpoint.

    >>> from loopkit.testing import make_customer
    >>> qs = [Question(id="seg", asks_about="customer.segment"),
    ...       Question(id="tz", asks_about="customer.timezone")]
    >>> [q.id for q in questions_to_ask(qs, make_customer())]
    ['seg']
    """
    out = []
    for question in questions:
        value = question.field.get(None, touchpoint, customer)
        known = value is not None and not (isinstance(value, str | tuple) and not value)
        if not known:
            out.append(question)
    return tuple(out)
