"""Time to first contact against the deadline: how much of the time allowed was
used before the customer was first reached, in bands, mergeable like the
metrics (``a + b``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import attrs

from loopkit.businesstime import BusinessCalendar
from loopkit.model import FollowUpCase, Transition

__all__ = ["BANDS", "DeadlineUse", "band_of", "deadline_use"]

BANDS: Final = (
    "within 25%",
    "25–50%",
    "50–75%",
    "75–100%",
    "late",
    "missed",
)
"""The bands, in order: the share of the allowed time used before the first
contact (up to 100% is in time), reached after the deadline (``late``), and
not reached by a deadline that has passed (``missed``)."""


@attrs.frozen
class DeadlineUse:
    """How many cases with a deadline fall in each of :data:`BANDS`; ``waiting``
    counts those not reached yet whose deadline is still ahead.

    >>> DeadlineUse(counts=(3, 1, 0, 1, 1, 0)).in_time
    5
    """

    counts: tuple[int, ...] = (0,) * len(BANDS)
    waiting: int = 0

    @property
    def in_time(self) -> int:
        return sum(self.counts[:4])

    @property
    def decided(self) -> int:
        return sum(self.counts)

    def __add__(self, other: object) -> DeadlineUse:
        if not isinstance(other, DeadlineUse):
            return NotImplemented
        return DeadlineUse(
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            waiting=self.waiting + other.waiting,
        )


def band_of(case: FollowUpCase, now: datetime, calendar: BusinessCalendar | None) -> int | None:
    """The index in :data:`BANDS` of ``case`` as of ``now``, ``-1`` while it
    waits (not reached, deadline ahead), ``None`` without a deadline."""
    due = case.due_at
    if due is None:
        return None
    contact = next((e.at for e in case.events if e.kind == Transition.CONTACT), None)
    if contact is None:
        return 5 if due < now else -1
    if contact > due:
        return 4
    start = case.opened_at
    if calendar is not None:
        used, allowed = calendar.between(start, contact), calendar.between(start, due)
    else:
        used, allowed = contact - start, due - start
    if allowed <= timedelta(0):
        return 0
    share = max(0.0, used / allowed)
    return min(3, int(share * 4)) if share < 1 else 3


def deadline_use(
    cases: Iterable[FollowUpCase], *, now: datetime, calendar: BusinessCalendar | None = None
) -> DeadlineUse:
    """Count ``cases`` (consumed once) into :data:`BANDS` as of ``now``, the
    time used measured in business time on ``calendar`` (wall-clock without).

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    >>> case = FollowUpCase.open(id="k-1", customer_id="c-1", at=t, by="loopkit",
    ...                          due_at=t + timedelta(hours=4))
    >>> deadline_use([case.contact(at=t + timedelta(hours=3), by="e")], now=t).counts
    (0, 0, 0, 1, 0, 0)
    """
    counts = [0] * len(BANDS)
    waiting = 0
    for case in cases:
        band = band_of(case, now, calendar)
        if band is None:
            continue
        if band < 0:
            waiting += 1
        else:
            counts[band] += 1
    return DeadlineUse(counts=tuple(counts), waiting=waiting)
