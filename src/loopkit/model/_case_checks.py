"""The checks and converters of :class:`~loopkit.FollowUpCase`'s fields (steps,
root-cause tags, the event log, owner, escalation level), private to the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from loopkit._input.checks import check_id, check_int, check_slug
from loopkit._input.instants import instant_key
from loopkit.errors import ValidationError, describe_input

from .event import CaseEvent

__all__ = [
    "CHECKED",
    "check_events",
    "check_level",
    "check_owner",
    "check_steps",
    "check_tags",
    "to_frozenset",
    "to_tuple",
]


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    # A lone string is left for the validator to refuse, not split into characters.
    return value if isinstance(value, str) else tuple(value)  # type: ignore[return-value]


def to_frozenset(value: Iterable[str]) -> frozenset[str]:
    # A lone string is left for the validator to refuse, not split into characters.
    return value if isinstance(value, str) else frozenset(value)  # type: ignore[return-value]


def check_steps(value: object, path: str) -> frozenset[str]:
    if not isinstance(value, frozenset):
        raise ValidationError(path, "a set of step names", describe_input(value))
    for step in value:
        check_slug(step, path, "a step name such as 'apology'")
    return value


def check_tags(value: object, path: str) -> frozenset[str]:
    if not isinstance(value, frozenset):
        raise ValidationError(path, "a set of root-cause tags", describe_input(value))
    for tag in value:
        check_slug(tag, path, "a root-cause tag such as 'campaign_targeting'")
    return value


def check_events(value: object, path: str) -> tuple[CaseEvent, ...]:
    if not isinstance(value, tuple) or not all(isinstance(e, CaseEvent) for e in value):
        raise ValidationError(path, "a tuple of CaseEvent", describe_input(value))
    for i in range(1, len(value)):
        if instant_key(value[i].at) < instant_key(value[i - 1].at):  # type: ignore[operator]
            raise ValidationError(f"{path}[{i}].at", "events in time order", "an earlier time")
    return value


def check_owner(value: object, path: str) -> str:
    return check_id(value, path)


def check_level(value: object, path: str) -> int:
    level = check_int(value, path)
    if level < 0:
        raise ValidationError(path, "an escalation level >= 0", describe_input(value))
    return level


def check_ids(value: object, path: str) -> None:
    if not isinstance(value, tuple):
        raise ValidationError(path, "a tuple of ids", describe_input(value))
    for i, item in enumerate(value):
        check_id(item, f"{path}[{i}]")


CHECKED: Final[Mapping[str, Any]] = {
    "response_ids": check_ids,
    "owner": lambda v, p: None if v is None else check_id(v, p),
    "required_steps": check_steps,
}
"""Changes checked on their own, without re-validating the rest of the case."""
