"""At most N per period: the one cap value, for follow-ups and for compensation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from loopkit._input.checks import check_whole, validator
from loopkit._input.durations import format_duration, parse_duration
from loopkit._input.reader import Reader
from loopkit.errors import ValidationError, describe

if TYPE_CHECKING:
    from .customer import Customer
    from .response import Response
    from .touchpoint import Touchpoint

__all__ = ["Cap", "CapCondition"]


class CapCondition(Protocol):
    """Whom a cap applies to: what a :class:`~loopkit.Condition` does (the
    policy condition language lives above the model, so the model names only
    what a cap needs of it)."""

    def matches(
        self,
        response: Response | None,
        customer: Customer | None,
        *,
        touchpoint: Touchpoint | None = None,
        now: datetime | None = None,
    ) -> bool: ...


def _check_count(value: object, path: str) -> int:
    count = check_whole(value, path)
    if count < 1:
        raise ValidationError(path, "a count >= 1", describe(count))
    return count


def _check_per(value: object, path: str) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(path, 'a positive duration such as "30d"', describe(value))
    return value


@attrs.frozen(kw_only=True)
class Cap:
    """At most ``count`` within any ``per``: how often one customer may get a
    follow-up (``[[contact.follow_up_caps]]``, where ``when`` says which
    customers the cap is for) or an offer from one compensation rule
    (``max_per_customer``, where the rule's own ``when`` says that, so the cap
    has none).

    >>> cap = Cap.from_dict({"count": 1, "per": "90d"}, "compensation[0].max_per_customer")
    >>> cap.count, cap.per.days, str(cap)
    (1, 90, 'at most 1 per 90d')
    >>> Cap.from_dict({"count": 0, "per": "90d"}, "max_per_customer")
    Traceback (most recent call last):
    ...
    loopkit.errors.ValidationError: max_per_customer.count: expected a count >= 1, got 0
    """

    count: int = attrs.field(validator=validator(_check_count))
    per: timedelta = attrs.field(validator=validator(_check_per))
    when: CapCondition | None = None

    def __str__(self) -> str:
        return f"at most {self.count} per {format_duration(self.per)}"

    @classmethod
    def from_dict(
        cls,
        data: object,
        path: str,
        *,
        count_key: str = "count",
        when: Callable[[Any, str], CapCondition] | None = None,
    ) -> Cap:
        """Read ``{count, per}`` found at ``path``. A policy file's follow-up
        caps write the count as ``max`` and may say ``when``: pass
        ``count_key="max"`` and the reader of conditions as ``when``
        (without it, a ``when`` key is refused as unknown)."""
        r = Reader(data, path)
        kwargs: dict[str, Any] = {
            "count": r.get(count_key, _check_count),
            "per": r.get("per", _positive_duration),
        }
        if when is not None:
            kwargs["when"] = r.get("when", when, default=None)
        r.finish()
        return r.build(cls, kwargs)


def _positive_duration(value: object, path: str) -> timedelta:
    duration = parse_duration(value, path)
    if duration <= timedelta(0):
        raise ValidationError(path, 'a positive duration such as "30d"', describe(value))
    return duration
