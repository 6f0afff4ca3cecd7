"""The seed stories, end to end through the public API with a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs
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
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)


class Recorder:
    """A plugin that notes each case event the loop announces."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        self.events.append(("opened", case.id))

    @loopkit.hookimpl
    def loopkit_case_escalated(self, case: loopkit.FollowUpCase) -> None:
        self.events.append(("escalated", case.id))

    @loopkit.hookimpl
    def loopkit_deadline_warning(self, case: loopkit.FollowUpCase) -> None:
        self.events.append(("warning", case.id))

    @loopkit.hookimpl
    def loopkit_deadline_breached(self, case: loopkit.FollowUpCase) -> None:
        self.events.append(("breached", case.id))

    @loopkit.hookimpl
    def loopkit_case_closed(self, case: loopkit.FollowUpCase) -> None:
        self.events.append(("closed", case.id))

    @loopkit.hookimpl
    def loopkit_promise_broken(self, promise: loopkit.Promise, case: loopkit.FollowUpCase) -> None:
        self.events.append(("promise_broken", case.id))


@attrs.define
class World:
    """A loop over the example playbook with recording phone and e-mail
    channels, and the case events it announced."""

    loop: loopkit.Loop
    clock: FakeClock
    phone: RecordingChannel
    email: RecordingChannel
    recorder: Recorder

    @property
    def events(self) -> list[tuple[str, str]]:
        return self.recorder.events

    @classmethod
    def build(cls, start: datetime = FRIDAY, plugins: tuple[object, ...] = ()) -> World:
        """A world built by hand, for a test that needs more plugins."""
        clock, recorder = FakeClock(start), Recorder()
        phone, email = RecordingChannel(), RecordingChannel()
        loop = loopkit.Loop(
            loopkit.load_playbook(EXAMPLE),
            plugins=[
                loopkit.ChannelPlugin({"phone": phone, "email": email}),
                recorder,
                *plugins,
            ],
            clock=clock,
        )
        return cls(loop=loop, clock=clock, phone=phone, email=email, recorder=recorder)


# The world of most stories comes from loopkit's own pytest fixtures (the
# bundled example playbook is examples/policies.toml): the recorder joins the
# loop as a plugin by overriding ``loopkit_plugins``.


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def loopkit_plugins(recorder: Recorder) -> tuple[object, ...]:
    return (recorder,)


@pytest.fixture
def world(
    loopkit_loop: loopkit.Loop,
    loopkit_clock: FakeClock,
    loopkit_channels: dict[str, RecordingChannel],
    recorder: Recorder,
) -> World:
    assert loopkit_clock.now() == FRIDAY
    return World(
        loop=loopkit_loop,
        clock=loopkit_clock,
        phone=loopkit_channels["phone"],
        email=loopkit_channels["email"],
        recorder=recorder,
    )


def kinds(case: loopkit.FollowUpCase) -> list[str]:
    return [e.kind for e in case.events]


# -- seed 000: the pharmacy clerk -----------------------------------------------------


def test_clerk_opens_and_resolves_a_case_at_the_counter(world: World) -> None:
    # The campaign e-mail promised a gift that was not valid in this region; the clerk,
    # trusted to act, apologises, gives it anyway and tags the cause so it gets fixed.
    case = world.loop.open_case(
        "c-1", by="clerk-3", topic="counter", required_steps={"apology"}, note="Campaign gift"
    )
    assert case.origin is loopkit.CaseOrigin.EMPLOYEE and case.owner == "clerk-3"
    world.loop.record_contact(case.id, "reached", by="clerk-3", channel="store")
    with pytest.raises(loopkit.MissingStepError):
        world.loop.close(case.id, resolved=True, by="clerk-3")
    world.loop.complete_step(case.id, "apology", by="clerk-3")
    closed = world.loop.close(
        case.id, resolved=True, by="clerk-3", root_causes=["campaign_targeting"]
    )
    assert closed.state is loopkit.CaseState.CLOSED
    assert closed.root_causes == {"campaign_targeting"}
    assert kinds(closed) == ["opened", "contact", "step", "resolve", "close"]
    assert all(e.actor == "clerk-3" for e in closed.events)
    assert world.events == [("opened", case.id), ("closed", case.id)]
    assert world.loop.messages() == []  # face to face: nothing to send


# -- seed 001: call right after a support contact ---------------------------------------


def test_unhappy_support_customer_gets_a_call_from_the_employee_in_business_time(
    world: World,
) -> None:
    result = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer())
    case = result.case
    assert result.outcome is loopkit.IngestOutcome.OPENED
    assert case is not None
    assert (case.policy, case.owner, case.channel) == (
        "support-detractor-callback",
        "emp-7",
        "phone",
    )
    assert case.due_at == datetime(2026, 11, 23, 11, 30, tzinfo=STOCKHOLM)
    # 75% of 4 business hours = 3 h: 30 min on Friday, 2 h 30 on Monday.
    assert case.warn_at == datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM)

    assert world.loop.tick().sent == 1
    assert [m.purpose for m in world.phone.sent] == ["follow_up"]
    assert world.phone.sent[0].address == "+46700000000"

    world.clock.jump(datetime(2026, 11, 23, 10, 45, tzinfo=STOCKHOLM))
    assert world.loop.tick().warnings == 1
    world.loop.record_contact(case.id, "reached", by="emp-7")
    world.clock.advance(days=3)
    report = world.loop.tick()
    assert (report.breaches, report.escalations) == (0, 0)
    assert ("warning", case.id) in world.events
    assert ("breached", case.id) not in world.events


def test_a_missed_deadline_is_breached_at_the_tick_and_escalated_along_the_ladder(
    world: World,
) -> None:
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer()).case
    assert case is not None
    late = datetime(2026, 11, 24, 9, 0, tzinfo=STOCKHOLM)  # Tuesday morning
    world.clock.jump(late)
    report = world.loop.tick()
    assert (report.warnings, report.breaches, report.escalations) == (1, 1, 1)
    stored = world.loop.case(case.id)
    breach = next(e for e in stored.events if e.kind == "deadline_breached")
    assert breach.at == late >= case.due_at  # never back-dated
    assert stored.escalation_level == 1 and stored.owner == "team:support-leads"


# -- seed 002: the broken call-back promise (provider A) --------------------------------


def test_a_broken_call_back_promise_opens_a_recovery_case_starting_with_an_apology(
    world: World,
) -> None:
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer()).case
    assert case is not None
    world.loop.record_contact(case.id, "reached", by="emp-7")
    promise = world.loop.promise(
        case.id, "call_back", due_at=FRIDAY + timedelta(hours=1), by="emp-7"
    )
    world.clock.advance(hours=5)  # the evening comes; nobody called
    report = world.loop.tick()
    assert report.broken_promises == 1
    assert world.loop.promises(case.id)[0].status is loopkit.PromiseStatus.BROKEN
    recovery = [c for c in world.loop.cases() if c.origin is loopkit.CaseOrigin.BROKEN_PROMISE]
    assert len(recovery) == 1
    rescue = recovery[0]
    assert rescue.required_steps == {"apology"} and rescue.owner == "emp-7"
    apology = world.loop.messages(rescue.id)[0]
    assert apology.purpose == "apology" and apology.data["ask"] == "when_it_suits"
    assert ("promise_broken", rescue.id) in world.events
    assert "promise_broken" in kinds(world.loop.case(case.id))
    # It cannot be resolved without the apology.
    world.loop.record_contact(rescue.id, "reached", by="emp-7")
    with pytest.raises(loopkit.MissingStepError):
        world.loop.close(rescue.id, resolved=True, by="emp-7")
    world.loop.complete_step(rescue.id, "apology", by="emp-7")
    assert world.loop.close(rescue.id, resolved=True, by="emp-7").is_closed
    assert promise.id == world.loop.promises(case.id)[0].id


def test_a_kept_promise_is_not_broken(world: World) -> None:
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer()).case
    assert case is not None
    promise = world.loop.promise(case.id, "call_back", due_at=FRIDAY + timedelta(hours=1), by="e")
    world.loop.keep_promise(promise.id, by="e")
    world.clock.advance(hours=5)
    assert world.loop.tick().broken_promises == 0
    with pytest.raises(loopkit.ConflictError):
        world.loop.keep_promise(promise.id, by="e")


def test_a_second_broken_promise_escalates_the_open_recovery_case(world: World) -> None:
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer()).case
    assert case is not None
    for hours in (1, 2):
        world.loop.promise(case.id, "call_back", due_at=FRIDAY + timedelta(hours=hours), by="e")
    world.clock.advance(hours=3)
    assert world.loop.tick().broken_promises == 2
    recovery = [c for c in world.loop.cases() if c.topic == "recovery"]
    assert len(recovery) == 1 and recovery[0].escalation_level == 1


# -- seed 003: the survey flow after a "1" (Virgin Mobile) ------------------------------


def test_after_a_one_the_survey_flow_stops_and_hands_over_to_a_human(world: World) -> None:
    customer = make_customer()
    assert world.loop.survey_guard(customer.id).ask
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=customer).case
    assert case is not None
    guard = world.loop.survey_guard(customer.id)
    assert not guard.ask and guard.reason == "open_case" and guard.case_id == case.id
    assert guard.message is not None and "recommend" not in guard.message
    world.loop.record_contact(case.id, "reached", by="emp-7")
    world.loop.close(case.id, resolved=True, by="emp-7")
    assert world.loop.survey_guard(customer.id).ask


def test_the_survey_cooldown_allows_one_invitation_per_30_days(world: World) -> None:
    assert world.loop.survey_guard("c-9", invitation=True).ask
    world.clock.advance(days=29)
    assert world.loop.survey_guard("c-9", invitation=True).reason == "cooldown"
    world.clock.advance(days=2)
    assert world.loop.survey_guard("c-9", invitation=True).ask


def test_a_customer_who_opted_out_is_never_surveyed(world: World) -> None:
    customer = make_customer(
        contact=loopkit.ContactPreferences(surveys_opt_out=True),
    )
    assert world.loop.survey_guard(customer.id, customer=customer).reason == "opted_out"


# -- seed 002: last impressions when a customer leaves ---------------------------------


def test_an_unhappy_cancellation_gets_a_retention_call(world: World) -> None:
    response = make_response(5, touchpoint=make_touchpoint("cancellation"))
    result = world.loop.ingest(response, customer=make_customer())
    assert result.case is not None
    assert result.policy == "offboarding-last-impression"
    assert result.case.owner == "team:retention" and result.case.channel == "phone"
    assert result.case.due_at == datetime(2026, 11, 23, 15, 30, tzinfo=STOCKHOLM)


# -- idempotency, de-duplication, nothing lost ------------------------------------------


def test_the_same_response_twice_is_one_response_one_case_one_message(world: World) -> None:
    response = make_response(1, scale=loopkit.CSAT)
    first = world.loop.ingest(response, customer=make_customer())
    again = world.loop.ingest(response, customer=make_customer())
    assert again.replayed and again.case == first.case and again.outcome == first.outcome
    assert len(world.loop.cases()) == 1 and len(world.loop.messages()) == 1


def test_the_same_response_id_with_other_content_is_a_conflict(world: World) -> None:
    world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer())
    with pytest.raises(loopkit.ConflictError):
        world.loop.ingest(make_response(2, scale=loopkit.CSAT), customer=make_customer())


def test_a_second_low_score_attaches_to_the_open_case(world: World) -> None:
    customer = make_customer()
    first = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=customer)
    world.clock.advance(minutes=10)
    second = world.loop.ingest(make_response(2, id="r-2", scale=loopkit.CSAT), customer=customer)
    assert second.outcome is loopkit.IngestOutcome.ATTACHED
    assert first.case is not None and second.case is not None
    assert second.case.id == first.case.id
    assert second.case.response_ids == ("r-1", "r-2")
    assert kinds(second.case)[-1] == "response_attached"
    assert len(world.loop.cases()) == 1


def test_a_second_low_score_attaches_even_when_a_cap_would_stop_a_new_contact() -> None:
    """Attaching contacts nobody, so contact rules (here: one follow-up per 60
    days) do not turn the second answer away from the open case."""
    playbook = loopkit.load_playbook(
        {
            "version": 1,
            "policies": [
                {
                    "name": "low",
                    "owner": "team:cx",
                    "channels": ["email"],
                    "when": {"field": "response.score", "le": 6},
                }
            ],
            "contact": {"follow_up_caps": [{"max": 1, "per": "60d"}]},
        }
    )
    clock = FakeClock(FRIDAY)
    loop = loopkit.Loop(playbook, clock=clock)
    customer = make_customer()
    first = loop.ingest(make_response(1), customer=customer)
    clock.advance(minutes=10)
    second = loop.ingest(make_response(2, id="r-2"), customer=customer)
    assert first.outcome is loopkit.IngestOutcome.OPENED
    assert second.outcome is loopkit.IngestOutcome.ATTACHED
    assert second.decision is None and "attached to the open case" in second.reason
    assert second.case is not None and second.case.response_ids == ("r-1", "r-2")
    assert len(loop.messages()) == 1  # no second contact


def test_a_customer_reached_before_the_follow_up_is_sent_gets_no_second_prompt(
    world: World,
) -> None:
    """The case opens at 15:30 on a Friday; support calls back at once, before
    any tick. The queued follow-up is cancelled, with a reason in the log."""
    result = world.loop.ingest(
        make_response(2, touchpoint=make_touchpoint("support_contact")), customer=make_customer()
    )
    assert result.case is not None
    world.loop.record_contact(result.case.id, "reached", by="emp-7")
    report = world.loop.tick(FRIDAY + timedelta(days=3))
    assert report.sent == 0 and world.phone.sent == [] and world.email.sent == []
    (message,) = world.loop.messages(result.case.id)
    assert message.status is loopkit.MessageStatus.CANCELLED
    cancelled = world.loop.case(result.case.id).events[-1]
    assert cancelled.kind == "message_cancelled"
    assert dict(cancelled.details) == {"message_id": message.id, "reason": "customer_reached"}


def test_closing_a_case_cancels_its_unsent_follow_up(world: World) -> None:
    result = world.loop.ingest(make_response(2), customer=make_customer())
    assert result.case is not None
    closed = world.loop.close(result.case.id, resolved=False, by="emp-7")
    assert [m.status for m in world.loop.messages(result.case.id)] == [
        loopkit.MessageStatus.CANCELLED
    ]
    # its policy asks to re-survey the customer later: scheduled after the close
    assert kinds(closed)[-3:] == ["message_cancelled", "close", "resurvey_scheduled"]


def test_a_promoter_gets_no_case_and_a_reason(world: World) -> None:
    result = world.loop.ingest(make_response(10), customer=make_customer())
    assert result.outcome is loopkit.IngestOutcome.NO_FOLLOW_UP
    assert result.case is None and result.decision is None
    assert result.reason == "no follow-up: none of the 5 policies matched this promoter response"


def test_a_failing_channel_is_retried_then_dead_lettered_and_never_stops_the_others() -> None:
    world = World.build()
    world.phone.always_fail = True
    customer = make_customer()
    world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=customer)
    world.loop.ingest(
        make_response(2, id="r-2", customer_id="c-2", kind="purchase"),
        customer=make_customer("c-2"),
    )
    report = world.loop.tick()
    assert (report.sent, report.retried) == (1, 1)
    assert [m.customer_id for m in world.email.sent] == ["c-2"]
    for _ in range(10):
        world.clock.advance(hours=2)
        world.loop.tick()
    dead = world.loop.messages(status=loopkit.MessageStatus.DEAD)
    assert len(dead) == 1 and dead[0].attempts == 5 and dead[0].last_error == "DeliveryError"
    assert world.phone.attempts == 5


def test_a_message_for_an_unregistered_channel_is_kept_not_lost() -> None:
    clock = FakeClock(FRIDAY)
    loop = loopkit.Loop(loopkit.load_playbook(EXAMPLE), clock=clock)
    loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer())
    for _ in range(8):
        loop.tick()
        clock.advance(hours=2)
    (message,) = loop.messages()
    assert message.status is loopkit.MessageStatus.DEAD and message.last_error == "LookupError"


def test_a_failing_notification_plugin_does_not_undo_the_case_or_stop_others() -> None:
    class Broken:
        @loopkit.hookimpl
        def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
            raise RuntimeError("boom")

    world = World.build(plugins=(Broken(),))
    result = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer())
    assert result.case is not None
    assert world.events == [("opened", result.case.id)]
    assert world.loop.cases() == [result.case]


def test_an_unknown_customer_stores_nothing(world: World) -> None:
    with pytest.raises(loopkit.UnknownCustomer):
        world.loop.ingest(make_response(1, scale=loopkit.CSAT))
    assert world.loop.cases() == []


def test_a_reopened_case_can_be_worked_again(world: World) -> None:
    case = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=make_customer()).case
    assert case is not None
    world.loop.record_contact(case.id, "no_answer", by="emp-7")
    world.loop.close(case.id, resolved=False, by="emp-7")
    reopened = world.loop.reopen(case.id, by="emp-7")
    assert reopened.state is loopkit.CaseState.OPEN
    with pytest.raises(loopkit.IllegalTransition):
        world.loop.close(reopened.id, resolved=True, by="emp-7")


def test_a_case_is_not_reopened_while_another_is_open_on_its_topic(world: World) -> None:
    customer = make_customer()
    first = world.loop.ingest(make_response(1, scale=loopkit.CSAT), customer=customer).case
    assert first is not None
    world.loop.close(first.id, resolved=False, by="emp-7")
    second = world.loop.ingest(make_response(1, id="r-2", scale=loopkit.CSAT), customer=customer)
    assert second.outcome is loopkit.IngestOutcome.OPENED
    with pytest.raises(loopkit.ConflictError, match=second.case.id if second.case else "x"):
        world.loop.reopen(first.id, by="emp-7")
