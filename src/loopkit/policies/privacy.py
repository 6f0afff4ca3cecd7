"""Which free attribute values explanations may show: the playbook's
``[privacy] shown_attributes`` (every other attribute value is described, never
shown, since free attributes may hold personal data)."""

from __future__ import annotations

from collections.abc import Iterable

from loopkit.conditions import resolve_field
from loopkit.errors import ValidationError, describe_input

__all__ = ["check_shown_attributes"]


def check_shown_attributes(value: object, path: str) -> frozenset[str]:
    """Attribute fields whose values explanations may show, such as
    ``customer.attributes.tier`` (every other attribute value is described)."""
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(path, "a list of attribute fields", describe_input(value))
    for i, item in enumerate(value):
        spec = resolve_field(item)
        if spec is None or spec.key is None:
            raise ValidationError(
                f"{path}[{i}]",
                "an attribute field such as 'customer.attributes.tier'",
                describe_input(item),
            )
    return frozenset(value)


def _to_shown(value: Iterable[str]) -> frozenset[str]:
    return value if isinstance(value, frozenset) else frozenset(value)


def _check_shown(value: frozenset[str]) -> None:
    check_shown_attributes(value, "PolicySet.shown_attributes")
