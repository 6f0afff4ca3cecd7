"""Close one loop by hand with loopkit's domain model.

A customer answers CSAT 1 after a support call; a follow-up case is opened, the
employee calls, apologises, and the case is resolved and closed. Run it with
``python examples/first_loop.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import loopkit

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def main() -> None:
    customer = loopkit.Customer(
        id="c-42",
        timezone="Europe/Stockholm",
        segment="gold",
        name="Anna Andersson",
        contact=loopkit.ContactPreferences(
            channels=[loopkit.ContactPoint(channel="phone", address="+46701234567")],
            quiet_hours="20:00-08:00",
        ),
    )
    touchpoint = loopkit.Touchpoint(
        id="t-9",
        kind="support_contact",
        channel="phone",
        occurred_at=datetime(2026, 11, 20, 14, 50, tzinfo=STOCKHOLM),
        employee_id="emp-7",
        reference="ticket-1234",
    )
    answered = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
    response = loopkit.Response(
        id="r-1",
        customer_id=customer.id,
        touchpoint=touchpoint,
        scale=loopkit.CSAT,
        score=1,
        comment="I was promised a call back and nobody called.",
        answered_at=answered,
    )
    print("customer:", customer)
    print("response:", response, "->", response.category.value)

    case = loopkit.FollowUpCase.open(
        id="case-1",
        customer_id=customer.id,
        at=answered,
        by="system",
        policy="support-detractor-callback",
        owner=touchpoint.employee_id,
        channel="phone",
        response_ids=[response.id],
        required_steps={"apology"},
    )
    later = answered + timedelta(minutes=20)
    case = case.start(at=later, by="emp-7").contact(at=later, by="emp-7")
    case = case.complete_step("apology", at=later, by="emp-7", note="Apologised for the miss.")
    case = case.resolve(at=later, by="emp-7").close(at=later, by="emp-7")

    print(f"case {case.id}: {case.state.value}, {len(case.events)} events")
    for event in case.events:
        print(f"  {event.at:%Y-%m-%d %H:%M} {event.actor:<7} {event.kind}")


if __name__ == "__main__":
    main()
