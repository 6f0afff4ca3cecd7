"""The stories that broke when loopkit was tried as a new user would, and when the seed
stories were replayed through the public API (issue 9). One test per fix, named as
the story."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import loopkit
from loopkit.testing import (
    STOCKHOLM,
    FakeClock,
    RecordingChannel,
    make_customer,
    make_response,
    make_touchpoint,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)


class World:
    """The example playbook with recording phone and e-mail channels."""

    def __init__(self, start: datetime = MONDAY_10, playbook: object = None) -> None:
        self.clock = FakeClock(start)
        self.phone = RecordingChannel()
        self.email = RecordingChannel()
        self.loop = loopkit.Loop(
            playbook or loopkit.load_playbook(EXAMPLE),  # type: ignore[arg-type]
            plugins=[loopkit.ChannelPlugin({"phone": self.phone, "email": self.email})],
            clock=self.clock,
        )


# -- 2. a broken promise is recovered properly (seed 002, provider A) ----------------


def _broken_call_back(world: World, customer: loopkit.Customer) -> loopkit.FollowUpCase:
    """Anna answers 1, the employee promises a call-back by 17:00 and does not call."""
    response = make_response(1, scale=loopkit.CSAT, customer_id=customer.id)
    case = world.loop.ingest(response, customer=customer).case
    assert case is not None
    world.loop.promise(case.id, "call_back", due_at=MONDAY_10.replace(hour=17), by="emp-7")
    world.clock.jump(MONDAY_10.replace(hour=17, minute=1))
    assert world.loop.tick().broken_promises == 1
    [recovery] = [c for c in world.loop.cases(customer.id) if c.topic == "recovery"]
    return recovery


def test_recovery_call_waits_for_the_end_of_her_quiet_hours() -> None:
    world = World()
    anna = make_customer("c-anna", quiet_hours="18:00-08:00")
    recovery = _broken_call_back(world, anna)
    [apology] = [m for m in world.loop.messages(recovery.id) if m.purpose == "apology"]
    # Not at 18:01 as before: her quiet hours start at 18:00, the support desk opens at 8.
    assert apology.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert apology.channel == "phone" and apology.address == "+46700000000"
    assert apology.data["ask"] == "when_it_suits"
    world.clock.jump(datetime(2026, 11, 23, 18, 1, tzinfo=STOCKHOLM))
    world.loop.tick()
    assert world.phone.sent == [m for m in world.phone.sent if m.purpose != "apology"]
    world.clock.jump(datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM))
    world.loop.tick()
    assert [m.id for m in world.phone.sent if m.purpose == "apology"] == [apology.id]


def test_recovery_respects_her_preferred_window_too() -> None:
    world = World()
    anna = make_customer(
        "c-anna",
        contact=loopkit.ContactPreferences(
            channels=[loopkit.ContactPoint(channel="phone", address="+46701234567")],
            preferred_window=loopkit.DailyWindow.parse("12:00-13:00"),
        ),
    )
    recovery = _broken_call_back(world, anna)
    [apology] = [m for m in world.loop.messages(recovery.id) if m.purpose == "apology"]
    assert apology.not_before == datetime(2026, 11, 24, 12, 0, tzinfo=STOCKHOLM)


def test_a_recovery_case_has_a_deadline_warns_breaches_and_escalates_like_any_other() -> None:
    world = World()
    recovery = _broken_call_back(world, make_customer("c-anna"))
    assert recovery.origin is loopkit.CaseOrigin.BROKEN_PROMISE
    assert recovery.owner == "emp-7"  # owner = "promise.made_by"
    assert recovery.required_steps == {"apology"}
    # [recovery] deadline: 2 business hours from 17:00 Monday, when the desk has closed.
    assert recovery.due_at == datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
    world.clock.jump(datetime(2026, 11, 24, 12, 30, tzinfo=STOCKHOLM))
    report = world.loop.tick()
    assert (report.warnings, report.breaches, report.escalations) == (1, 1, 1)
    recovery = world.loop.case(recovery.id)
    assert recovery.escalation_level == 1
    assert [e.kind for e in recovery.events][-3:] == [
        "deadline_warning",
        "deadline_breached",
        "escalate",
    ]
    world.loop.record_contact(recovery.id, "reached", by="emp-7")
    with pytest.raises(loopkit.MissingStepError):
        world.loop.close(recovery.id, resolved=True, by="emp-7")


def test_a_recovery_without_a_recovery_table_still_waits_for_her_window() -> None:
    data = {
        "version": 1,
        "policies": [
            {
                "name": "low",
                "when": {"field": "response.category", "equals": "detractor"},
                "channels": ["phone"],
                "owner": "touchpoint.employee_id",
            }
        ],
    }
    world = World(playbook=loopkit.load_playbook(data))
    recovery = _broken_call_back(world, make_customer("c-anna", quiet_hours="17:00-08:00"))
    assert recovery.owner == "emp-7" and recovery.due_at is None
    [apology] = [m for m in world.loop.messages(recovery.id) if m.purpose == "apology"]
    assert apology.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert apology.address is not None


# -- 3. a dissatisfied answer always stops the survey flow (seed 003) -----------------


def test_a_one_stops_the_survey_flow_even_when_the_follow_up_is_capped() -> None:
    data = loopkit.load_playbook(EXAMPLE)
    capped = loopkit.ContactRules(
        quiet_hours=data.contact.quiet_hours,
        follow_up_caps=(loopkit.Cap(count=1, per=timedelta(days=30)),),
    )
    playbook = data.__class__(
        version=1,
        policies=loopkit.PolicySet(
            policies=data.policies.policies, calendars=data.calendars, contact=capped
        ),
    )
    world = World(playbook=playbook)
    customer = make_customer("c-vm")
    first = world.loop.ingest(make_response(1, id="r-1", customer_id="c-vm"), customer=customer)
    assert first.case is not None
    world.loop.record_contact(first.case.id, "reached", by="emp-7")
    world.loop.close(first.case.id, resolved=True, by="emp-7")
    assert world.loop.survey_guard("c-vm").ask
    # A week later she answers "1" again; the cap suppresses a second follow-up ...
    world.clock.advance(days=7)
    second = make_response(1, id="r-2", customer_id="c-vm", answered_at=world.clock.now())
    result = world.loop.ingest(second, customer=customer)
    assert result.outcome is loopkit.IngestOutcome.SUPPRESSED
    # ... yet the flow must not go on to ask how likely she is to recommend us.
    guard = world.loop.survey_guard("c-vm")
    assert not guard.ask and guard.reason == "dissatisfied"
    assert guard.message is not None and "recommend" not in guard.message
    assert "contact you" not in guard.message  # no case: promise no call
    world.clock.advance(days=8)  # [contact] stop_survey_for, 7 days by default
    assert world.loop.survey_guard("c-vm").ask


def test_a_one_with_no_consented_channel_still_stops_the_flow() -> None:
    world = World()
    silent = make_customer("c-x", contact=loopkit.ContactPreferences())
    result = world.loop.ingest(make_response(1, customer_id="c-x"), customer=silent)
    assert result.outcome is loopkit.IngestOutcome.SUPPRESSED
    assert world.loop.survey_guard("c-x").reason == "dissatisfied"


def test_a_suppressed_answer_never_lifts_the_stop_an_open_case_holds() -> None:
    world = World()
    customer = make_customer("c-1")
    case = world.loop.ingest(make_response(1, id="r-1"), customer=customer).case
    assert case is not None
    world.loop.ingest(make_response(2, id="r-2", kind="purchase"), customer=customer)
    guard = world.loop.survey_guard("c-1")
    assert guard.reason == "open_case"


# -- 4. complaints made in person (seed 002's restaurant, seed 000's counter) ----------


def _at_the_table(employee: str = "waiter-4") -> loopkit.Touchpoint:
    return make_touchpoint(
        kind="store_visit", channel="in_person", employee_id=employee, occurred_at=MONDAY_10
    )


def test_a_complaint_at_the_table_is_the_waiters_case_and_needs_an_apology() -> None:
    world = World()
    guest = make_customer("c-guest", contact=loopkit.ContactPreferences())  # no details given
    logged = make_response(
        2,
        scale=loopkit.CSAT,
        customer_id="c-guest",
        touchpoint=_at_the_table(),
        source="employee",
    )
    result = world.loop.ingest(logged, customer=guest)
    assert result.outcome is loopkit.IngestOutcome.OPENED
    case = result.case
    assert case is not None
    assert (case.policy, case.owner, case.channel) == (
        "complaint-in-person",
        "waiter-4",
        "in_person",
    )
    assert case.required_steps == {"apology"}
    assert world.loop.messages(case.id) == []  # nothing to send: they are at the table
    # Replacing the dish is not enough: the restaurant never apologised.
    world.loop.record_contact(case.id, "reached", by="waiter-4")
    with pytest.raises(loopkit.MissingStepError):
        world.loop.close(case.id, resolved=True, by="waiter-4")
    world.loop.complete_step(case.id, "apology", by="waiter-4")
    assert world.loop.close(case.id, resolved=True, by="waiter-4").is_closed


def test_a_clerk_opening_a_case_on_the_in_person_policy_cannot_skip_the_apology() -> None:
    world = World()
    case = world.loop.open_case(
        "c-pharmacy", by="clerk-17", policy="complaint-in-person", required_steps=()
    )
    assert (case.owner, case.policy, case.topic) == (
        "clerk-17",
        "complaint-in-person",
        "complaint-in-person",
    )
    assert case.required_steps == {"apology"}
    with pytest.raises(loopkit.ValidationError) as info:
        world.loop.open_case("c-pharmacy", by="clerk-17", policy="complaint-in-persn")
    assert info.value.problems[0].path == "policy"
    assert info.value.problems[0].hint == "did you mean 'complaint-in-person'?"


# -- 5. offers with no price ---------------------------------------------------------------


def test_a_return_label_needs_no_authority_and_does_not_crash_the_check() -> None:
    playbook = loopkit.load_playbook(EXAMPLE)
    assert playbook.authority.allows("agent", None)
    assert playbook.authority.allows("someone-nobody-knows", None)
    assert not playbook.authority.allows(None, loopkit.Money.parse("1 SEK"))
    with pytest.raises(loopkit.ValidationError):
        playbook.authority.allows("agent", 75)  # type: ignore[arg-type]


# -- 6. no silent defaults that change meaning --------------------------------------------


def test_a_csat_answer_without_its_scale_is_refused_instead_of_read_as_nps() -> None:
    row = {"id": "r-1", "customer_id": "c-1", "score": 5, "answered_at": "2026-11-23T10:00Z"}
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.Response.from_dict(row)
    assert [p.path for p in info.value.problems] == ["response.scale"]


# -- 9. a loop that cannot deliver says so when it is built --------------------------------


def test_a_loop_missing_the_phone_channel_says_so_when_it_is_built() -> None:
    playbook = loopkit.load_playbook(EXAMPLE)
    email_only = loopkit.ChannelPlugin({"email": RecordingChannel()})
    with pytest.warns(loopkit.UndeliverableChannelWarning, match=r"\['phone'\]"):
        loopkit.Loop(playbook, plugins=[email_only], clock=FakeClock())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loopkit.Loop(playbook, plugins=[email_only], clock=FakeClock(), check_channels=False)
        World()  # every channel registered: no warning (in_person needs none)
