"""Business time on integer UTC microseconds: the fast path of planning.

An internal API for loopkit's own packages (not re-exported from
:mod:`loopkit`): instants as integer microseconds since 1970-01-01 UTC and
durations as integer microseconds, so a decision converts its start once,
does every deadline, warning, escalation and first-contact sum on integers,
and converts each result back once.

Why it exists (measured on the machines of this release, 2026-11-29): a
deadline, its warning and two escalations cost 6.5 µs this way against 9.1 µs
through :meth:`BusinessCalendar.add` on datetimes, about 5% of ingest on a feed
where half the answers open a case, which is what keeps that feed near the 3×
target (docs/performance.md). Everything else uses the datetime API.

>>> from datetime import datetime, timedelta, timezone
>>> from loopkit.businesstime import BusinessCalendar
>>> cal = BusinessCalendar.weekly("UTC", mon="09:00-17:00")
>>> start = to_us(datetime(2026, 11, 23, 16, tzinfo=timezone.utc))
>>> from_us(add_us(cal, start, td_us(timedelta(hours=2))), cal.zone).isoformat()
'2026-11-30T10:00:00+00:00'
"""

from __future__ import annotations

from ._table import add_us, from_us, next_open_us, td_us, to_us

__all__ = ["add_us", "from_us", "next_open_us", "td_us", "to_us"]
