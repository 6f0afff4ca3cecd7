"""The capacity model of a simulation: how many deadlines ``staff`` people
could have met (pure).

The model, stated so a team can judge it: every case is one contact. Cases
are taken in the order they opened (the order of the answers); each of the
``staff`` people works one case at a time, and one contact takes
``per_contact`` of business time on the case's deadline calendar (of wall
time when its policy has no deadline calendar). A person starts a case at
the later of when it opened and when they finished their last one, so
nobody is ever idle while a case waits. A deadline is met when the contact
ends by it. The model ignores quiet hours, sickness and cases that take two
contacts: it is an upper bound on what ``staff`` people could do.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from loopkit.businesstime import BusinessCalendar
from loopkit.errors import ValidationError

__all__ = ["DEFAULT_PER_CONTACT", "Team", "contacts_made"]

DEFAULT_PER_CONTACT = timedelta(minutes=30)
"""One contact's business time when none is given: half an hour."""


class Team:
    """``staff`` people, each free from a time on (the earliest first): a
    small heap, so memory does not grow with the number of cases.

    >>> from datetime import UTC
    >>> team = Team(1, timedelta(minutes=30))
    >>> at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    >>> team.contact(at).time(), team.contact(at).time()  # the second waits
    (datetime.time(9, 30), datetime.time(10, 0))
    """

    def __init__(self, staff: int, per_contact: timedelta = DEFAULT_PER_CONTACT) -> None:
        if isinstance(staff, bool) or not isinstance(staff, int) or staff < 1:
            raise ValidationError("staff", "a whole number of people, at least 1", repr(staff))
        if not isinstance(per_contact, timedelta) or per_contact <= timedelta(0):
            raise ValidationError("per_contact", "a positive duration", repr(per_contact))
        self.staff = staff
        self.per_contact = per_contact
        self._free: list[datetime] = []

    def contact(self, opened_at: datetime, calendar: BusinessCalendar | None = None) -> datetime:
        """When the contact for a case opened at ``opened_at`` ends: by the
        person free first, on ``calendar``'s business time (wall time without one)."""
        if len(self._free) < self.staff:
            start = opened_at
        else:
            start = max(heapq.heappop(self._free), opened_at)
        done = (
            start + self.per_contact if calendar is None else calendar.add(start, self.per_contact)
        )
        heapq.heappush(self._free, done)
        return done


def contacts_made(
    cases: Iterable[tuple[datetime, BusinessCalendar | None]],
    staff: int,
    per_contact: timedelta = DEFAULT_PER_CONTACT,
) -> Iterator[datetime]:
    """When each case's contact would end with ``staff`` people (pure; see
    the module's model). ``cases`` are ``(opened_at, calendar)`` in the order
    they opened.

    >>> from datetime import UTC
    >>> at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    >>> [t.strftime("%H:%M") for t in contacts_made([(at, None)] * 3, 2)]
    ['09:30', '09:30', '10:00']
    """
    team = Team(staff, per_contact)
    for opened_at, calendar in cases:
        yield team.contact(opened_at, calendar)
