"""How long personal data is kept: the playbook's ``[retention]`` table."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from loopkit._input.durations import parse_duration
from loopkit._input.reader import Reader
from loopkit.errors import ValidationError, describe

__all__ = ["RetentionRules"]


@attrs.frozen(kw_only=True)
class RetentionRules:
    """``personal_data``: how long after a case closes its personal data is
    kept (the customer's comments, the case's notes, the addresses and text of
    its messages); ``None`` (the default) keeps it until someone erases it.
    Erasing keeps the anonymous facts, so metrics still add up.

    >>> from datetime import datetime, timezone
    >>> rules = RetentionRules.from_dict({"personal_data": "365d"})
    >>> rules.erase_at(datetime(2026, 1, 1, tzinfo=timezone.utc)).date().isoformat()
    '2027-01-01'
    """

    personal_data: timedelta | None = None

    @classmethod
    def from_dict(cls, data: object, path: str = "retention") -> RetentionRules:
        r = Reader(data, path)
        kwargs = {"personal_data": r.get("personal_data", _period, default=None)}
        r.finish()
        return r.build(cls, kwargs)

    def erase_at(self, closed_at: datetime) -> datetime | None:
        """When the personal data of a case closed at ``closed_at`` is due to go."""
        return None if self.personal_data is None else closed_at + self.personal_data


def _period(value: object, path: str) -> timedelta:
    period = parse_duration(value, path)
    if period <= timedelta(0):
        raise ValidationError(path, 'a positive duration such as "365d"', describe(value))
    return period
