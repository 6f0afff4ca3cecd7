"""The playbook's calendars with the host's holidays (``loopkit_holidays``)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ._plugins import PluginHooks

if TYPE_CHECKING:
    from loopkit.playbook import Playbook


def with_host_holidays(playbook: Playbook, hooks: PluginHooks, year: int) -> Playbook:
    """The playbook with the holidays ``loopkit_holidays`` plugins add to its
    calendars, for the years around ``year``."""
    years = range(year - 1, year + 4)
    calendars = dict(playbook.calendars)
    changed = False
    for name, calendar in calendars.items():
        extra: set[date] = hooks.holidays(name, years)
        if extra:
            calendars[name] = calendar.with_holidays(extra)
            changed = True
    return playbook.with_calendars(calendars) if changed else playbook
