"""Close one loop end to end with loopkit, on the bundled example playbook.

A customer answers CSAT 1 right after a support call on a Friday afternoon.
loopkit opens a case owned by the employee who took the call, due in four
business hours (Monday 11:30), sends the call task, and, when nobody calls in
time, warns, records the breach and escalates. A second customer's call-back
promise is broken, which opens a recovery case that starts with an apology.
Run it with ``python examples/first_loop.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import loopkit
from loopkit.testing import FakeClock

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PLAYBOOK = Path(__file__).with_name("policies.toml")


class PrintLifecycle:
    """A plugin that prints every lifecycle notification."""

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        print(f"  opened     {case.id} ({case.origin.value}) owner={case.owner}")

    @loopkit.hookimpl
    def loopkit_deadline_warning(self, case: loopkit.FollowUpCase) -> None:
        print(f"  warning    {case.id}: due {case.due_at:%a %H:%M}")

    @loopkit.hookimpl
    def loopkit_deadline_breached(self, case: loopkit.FollowUpCase) -> None:
        print(f"  breached   {case.id}")

    @loopkit.hookimpl
    def loopkit_case_escalated(self, case: loopkit.FollowUpCase) -> None:
        print(f"  escalated  {case.id} to {case.owner} (level {case.escalation_level})")

    @loopkit.hookimpl
    def loopkit_case_closed(self, case: loopkit.FollowUpCase) -> None:
        print(f"  closed     {case.id}: root causes {sorted(case.root_causes)}")


def customer(id: str, phone: str) -> loopkit.Customer:
    return loopkit.Customer(
        id=id,
        timezone="Europe/Stockholm",
        name="Anna Andersson",
        contact=loopkit.ContactPreferences(
            channels=[loopkit.ContactPoint(channel="phone", address=phone)],
            quiet_hours="20:00-08:00",
        ),
    )


def answer(id: str, customer_id: str, at: datetime) -> loopkit.Response:
    return loopkit.Response(
        id=id,
        customer_id=customer_id,
        scale=loopkit.CSAT,
        score=1,
        comment="I was promised a call back and nobody called.",
        answered_at=at,
        touchpoint=loopkit.Touchpoint(
            id=f"t-{id}",
            kind="support_contact",
            channel="phone",
            occurred_at=at - timedelta(minutes=40),
            employee_id="emp-7",
        ),
    )


def main() -> None:
    friday = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
    clock = FakeClock(friday)
    channels = loopkit.ChannelPlugin({"phone": loopkit.ConsoleChannel()})
    loop = loopkit.Loop(
        loopkit.load_playbook(PLAYBOOK), plugins=[channels, PrintLifecycle()], clock=clock
    )

    print("Friday 15:30 - Anna answers CSAT 1 after a support call")
    anna = customer("c-42", "+46701234567")
    result = loop.ingest(answer("r-1", anna.id, friday), customer=anna)
    case = result.case
    assert case is not None
    print(f"  decision: {result.reason}")
    print(f"  due {case.due_at:%a %d %b %H:%M}, warning {case.warn_at:%a %H:%M}")
    print(f"  survey flow may ask Anna more questions: {loop.survey_guard(anna.id).ask}")
    loop.tick()

    print("Monday 16:00 - nobody called in time")
    clock.jump(datetime(2026, 11, 23, 16, 0, tzinfo=STOCKHOLM))
    print(f"  tick: {loop.tick()}")

    print("Monday 16:05 - the support lead calls, apologises and closes the loop")
    clock.advance(minutes=5)
    loop.record_contact(case.id, "reached", by="lead-2")
    loop.complete_step(case.id, "apology", by="lead-2")
    loop.close(case.id, resolved=True, by="lead-2", root_causes=["missed_call_back"])

    print("Monday 16:10 - Bo is promised a call back within the hour; nobody calls")
    bo = customer("c-43", "+46709876543")
    second = loop.ingest(answer("r-2", bo.id, clock.advance(minutes=5)), customer=bo).case
    assert second is not None
    loop.record_contact(second.id, "reached", by="emp-7")
    loop.promise(second.id, "call_back", due_at=clock.now() + timedelta(hours=1), by="emp-7")
    clock.advance(hours=2)
    print(f"  tick: {loop.tick()}")

    print("Where things stand")
    for each in loop.cases():
        print(f"  {each.id}: {each.state.value:<9} owner={each.owner} events={len(each.events)}")
    for message in loop.messages():
        print(f"  {message.id}: {message.purpose:<9} via {message.channel} {message.status.value}")


if __name__ == "__main__":
    main()
