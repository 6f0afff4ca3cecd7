"""The support team of ``loopkit demo``: a plugin that learns of each case
as it is opened (``loopkit_case_opened``) and, after each tick of ``loopkit
run``, works its queue through the loop's public methods, as a host
application's users would: in office hours (Stockholm, weekdays 08-17,
not on the support calendar's holidays) each case is called back a few
hours after it opened (one in ten is not reached at first), its required
steps done, one in four unhappy customers given a 100 SEK discount code by the
team lead, and closed a few hours later, mostly resolved and most with a
root cause. One case in fourteen is never worked, so deadlines are also
missed. Every choice comes from the case's id (CRC-32): the same story on
every run."""

from __future__ import annotations

import contextlib
import zlib
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from loopkit.compensation import Offer
from loopkit.engine import Loop
from loopkit.errors import LoopkitError
from loopkit.hooks import hookimpl
from loopkit.model import FollowUpCase

__all__ = ["Team"]

_OFFICE: Final = ZoneInfo("Europe/Stockholm")
_HOLIDAYS: Final = frozenset(
    {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)}
)
# Who works a team's cases (a case owned by an employee is worked by them).
_STAFF: Final = {
    "team:ecommerce": "emp-50",
    "team:cx": "emp-60",
    "team:retention": "emp-40",
    "team:support-leads": "lead-1",
}
# The root causes the team finds, by the case's policy ("" for none found).
_CAUSES: Final = {
    "support-detractor-callback": (
        "long-queue",
        "callback-missed",
        "invoice-error",
        "invoice-error",
        "agent-knowledge",
        "",
    ),
    "purchase-detractor-email": (
        "late-delivery",
        "late-delivery",
        "damaged-parcel",
        "campaign-targeting",
        "wrong-item",
        "",
    ),
    "offboarding-last-impression": ("price-increase", "moving", "app-broken", ""),
    "passive-ask-what-would-make-it-ten": ("checkout-discount", "size-guide", "", ""),
    "complaint-in-person": ("campaign-targeting", "till-queue", ""),
}


_GOODWILL: Final = frozenset({"support-detractor-callback", "purchase-detractor-email"})
_GOODWILL_OFFER: Final = Offer.from_dict({"kind": "discount_code", "value": "100 SEK"})


class Team:
    """The demo's team: a plugin (``loopkit_case_opened``) and, through
    :meth:`work`, the people who call customers back and close cases. It
    keeps the cases it learnt of (only it works them: no store read)."""

    def __init__(self) -> None:
        # case id -> (the case as last seen, contact attempts, when reached)
        self.queue: dict[str, tuple[FollowUpCase, int, datetime | None]] = {}
        self.contacted = 0
        self.closed = 0
        self.ignored = 0

    @hookimpl
    def loopkit_case_opened(self, case: FollowUpCase) -> None:
        if zlib.crc32(case.id.encode()) % 14 == 0:  # never worked: its deadline is missed
            self.ignored += 1
            return
        self.queue.setdefault(case.id, (case, 0, None))

    def work(self, loop: Loop, at: datetime) -> None:
        """Work the queue at ``at`` (when it is office hours)."""
        local = at.astimezone(_OFFICE)
        if local.weekday() >= 5 or local.date() in _HOLIDAYS or not 8 <= local.hour < 17:
            return
        for case_id, (case, tries, reached) in list(self.queue.items()):
            h = zlib.crc32(case_id.encode())
            by = _STAFF.get(case.owner or "", case.owner or "emp-60")
            if reached is None:
                wait = timedelta(minutes=30 + (h >> 8) % 300 + 120 * tries)
                if at < case.opened_at + wait:
                    continue
                outcome = "no_answer" if tries == 0 and (h >> 16) % 10 == 0 else "reached"
                case = loop.record_contact(case_id, outcome, by=by, channel=case.channel)
                self.contacted += outcome == "reached"
                self.queue[case_id] = (case, tries + 1, at if outcome == "reached" else None)
                continue
            if at < reached + timedelta(hours=1 + (h >> 12) % 28):
                continue
            for step in sorted(case.missing_steps):
                loop.complete_step(case_id, step, by=by)
            if case.policy in _GOODWILL and (h >> 28) % 4 == 0:  # a goodwill gesture
                with contextlib.suppress(LoopkitError):  # refused: over budget, say
                    loop.compensation.grant(case_id, _GOODWILL_OFFER, by="lead-1", key=case_id)
            causes = _CAUSES.get(case.policy or "", ("",))
            cause = causes[(h >> 20) % len(causes)]
            loop.close(
                case_id,
                resolved=(h >> 24) % 10 != 0,
                by=by,
                root_causes=[cause] if cause else [],
            )
            self.closed += 1
            del self.queue[case_id]
