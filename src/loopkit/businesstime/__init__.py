"""Business time: calendars, durations and contact windows (pure, no I/O).

Every operation takes timezone-aware datetimes (naive ones raise
:class:`~loopkit.errors.BusinessTimeError`) and works on the wall clock of the
zone it belongs to: the calendar's for opening hours and holidays, the
customer's for quiet hours.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> support = BusinessCalendar.weekly("Europe/Stockholm", fri="08:00-16:00", mon="08:00-17:00")
>>> start = datetime(2026, 11, 20, 15, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
>>> support.add(start, parse_duration("4h")).isoformat()
'2026-11-23T11:30:00+01:00'
"""

from loopkit.businesstime.calendar import WEEKDAYS, BusinessCalendar
from loopkit.businesstime.contact import ContactWindow
from loopkit.businesstime.durations import format_duration, parse_duration

__all__ = ["WEEKDAYS", "BusinessCalendar", "ContactWindow", "format_duration", "parse_duration"]
