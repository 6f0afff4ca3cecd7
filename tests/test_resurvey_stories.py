"""Seed 001, the outer half of the loop: a re-survey after the case closes, and
whether the customer was won back, end to end through the public API."""

from __future__ import annotations

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
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
EVENING = datetime(2026, 11, 20, 21, 30, tzinfo=STOCKHOLM)  # inside her quiet hours
DAYS14 = timedelta(days=14)


class World:
    def __init__(self, store: loopkit.Store | None = None) -> None:
        self.clock = FakeClock(FRIDAY)
        self.phone, self.email = RecordingChannel(), RecordingChannel()
        self.loop = loopkit.Loop(
            loopkit.load_playbook(EXAMPLE),
            plugins=[loopkit.ChannelPlugin({"phone": self.phone, "email": self.email})],
            clock=self.clock,
            store=store,
        )

    def closed_detractor_case(
        self, customer: loopkit.Customer, *, at: datetime = EVENING, rid: str = "r-1"
    ) -> loopkit.FollowUpCase:
        result = self.loop.ingest(
            make_response(2, id=rid, customer_id=customer.id, answered_at=FRIDAY),
            customer=customer,
        )
        assert result.case is not None
        self.loop.record_contact(result.case.id, "reached", by="emp-7", at=FRIDAY)
        return self.loop.close(result.case.id, resolved=True, by="emp-7", at=at)


def kinds(case: loopkit.FollowUpCase) -> list[str]:
    return [e.kind for e in case.events]


def details(case: loopkit.FollowUpCase, kind: str) -> dict[str, object]:
    return dict(next(e for e in reversed(case.events) if e.kind == kind).details)


def anna() -> loopkit.Customer:
    return make_customer(
        "c-anna", quiet_hours="21:00-08:00", language="sv-SE", name="Anna Lindqvist"
    )


@pytest.fixture
def world(story_store: loopkit.Store | None) -> World:
    return World(story_store)


# -- seed 001: the ladder, end to end ------------------------------------------------------


def test_a_won_back_detractor_is_recorded_as_recovered(world: World) -> None:
    # Her case is closed on Friday evening, in her quiet hours (21:00-08:00).
    case = world.closed_detractor_case(anna())
    assert details(case, "resurvey_scheduled") == {
        "due_at": (EVENING + DAYS14).isoformat(),
        "answer_by": (EVENING + 2 * DAYS14).isoformat(),
    }
    # Nothing goes out before the 14 days are up.
    assert world.loop.tick(EVENING + DAYS14 - timedelta(minutes=1)).resurveys == 0
    # 14 days later the invitation is queued, by e-mail (the policy's first
    # choice), and held until her quiet hours end at 08:00.
    report = world.loop.tick(EVENING + DAYS14)
    assert report.resurveys == 1
    (invite,) = [m for m in world.loop.messages(case.id) if m.purpose == "resurvey"]
    assert invite.channel == "email" and invite.address == "customer@example.com"
    assert invite.not_before == datetime(2026, 12, 5, 8, 0, tzinfo=STOCKHOLM)
    # Rendered from the playbook's Swedish template, with her name; never in a repr.
    assert invite.subject == "Hur går det nu?"
    assert invite.body is not None and invite.body.startswith("Hej Anna Lindqvist!")
    assert "Anna" not in repr(invite)
    assert world.email.sent == []
    world.loop.tick(datetime(2026, 12, 5, 7, 59, tzinfo=STOCKHOLM))
    assert world.email.sent == []
    world.loop.tick(datetime(2026, 12, 5, 8, 0, tzinfo=STOCKHOLM))
    assert [m.id for m in world.email.sent] == [invite.id]
    # She answers 9: the answer is linked to her closed case, which records it.
    answer = make_response(
        9, id="r-2", customer_id="c-anna", answered_at=datetime(2026, 12, 5, 10, tzinfo=STOCKHOLM)
    )
    world.clock.jump(datetime(2026, 12, 5, 10, 5, tzinfo=STOCKHOLM))
    world.loop.ingest(answer, customer=anna())
    stored = world.loop.case(case.id)
    assert stored.recovery == "recovered"
    assert details(stored, "recovery_outcome") == {
        "outcome": "recovered",
        "response_id": "r-2",
        "category": "promoter",
    }
    # Later ticks change nothing: the window's end finds the outcome known.
    assert world.loop.tick(EVENING + 3 * DAYS14).no_answers == 0
    assert world.loop.case(case.id) == stored


def test_a_detractor_who_answers_unhappy_again_is_not_recovered(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.loop.tick(EVENING + DAYS14)
    world.clock.jump(EVENING + DAYS14 + timedelta(days=1))
    answer = make_response(
        3, id="r-2", customer_id="c-anna", answered_at=EVENING + DAYS14 + timedelta(hours=13)
    )
    result = world.loop.ingest(answer, customer=anna())
    assert world.loop.case(case.id).recovery == "not_recovered"
    assert result.outcome is loopkit.IngestOutcome.OPENED  # and a new case for the new answer


def test_an_answer_in_a_batch_is_linked_too(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.clock.jump(EVENING + DAYS14 + timedelta(days=1))
    answers = [
        (make_response(7, id="r-7", customer_id="c-anna", answered_at=world.clock.now()), anna()),
        (make_response(9, id="r-8", customer_id="c-other", answered_at=world.clock.now()), None),
    ]
    items = world.loop.ingest_many(answers)
    assert items[0].error is None and isinstance(items[1].error, loopkit.UnknownCustomer)
    assert world.loop.case(case.id).recovery == "recovered"


def test_no_answer_within_the_window_is_recorded_on_tick(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.loop.tick(EVENING + DAYS14)
    assert world.loop.tick(EVENING + 2 * DAYS14 - timedelta(minutes=1)).no_answers == 0
    assert world.loop.case(case.id).recovery is None
    assert world.loop.tick(EVENING + 2 * DAYS14).no_answers == 1
    assert world.loop.case(case.id).recovery == "no_answer"
    # A late answer links to nothing any more.
    world.clock.jump(EVENING + 3 * DAYS14)
    late = make_response(10, id="r-9", customer_id="c-anna", answered_at=EVENING + 3 * DAYS14)
    world.loop.ingest(late, customer=anna())
    assert world.loop.case(case.id).recovery == "no_answer"


def test_an_answer_before_the_invitation_cancels_it(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.clock.jump(EVENING + timedelta(days=3))
    answer = make_response(8, id="r-2", customer_id="c-anna", answered_at=world.clock.now())
    world.loop.ingest(answer, customer=anna())
    stored = world.loop.case(case.id)
    assert stored.recovery == "recovered"
    assert details(stored, "resurvey_cancelled") == {"reason": "answered"}
    assert world.loop.tick(EVENING + 3 * DAYS14).resurveys == 0
    assert [m.purpose for m in world.loop.messages(case.id)] == ["follow_up"]


# -- the rules an invitation respects --------------------------------------------------------


def test_a_new_case_opened_first_cancels_the_resurvey(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.loop.open_case("c-anna", by="emp-7", at=EVENING + timedelta(days=2))
    stored = world.loop.case(case.id)
    assert details(stored, "resurvey_cancelled") == {"reason": "new_case_opened"}
    assert world.loop.tick(EVENING + DAYS14).resurveys == 0
    assert [m.purpose for m in world.loop.messages(case.id)] == ["follow_up"]
    # The answer window still runs: without an answer, the case says so.
    assert world.loop.tick(EVENING + 2 * DAYS14).no_answers == 1


def test_a_customer_who_opted_out_of_surveys_is_not_resurveyed(world: World) -> None:
    quiet = make_customer(
        "c-2",
        contact=loopkit.ContactPreferences(
            channels=[loopkit.ContactPoint(channel="email", address="c2@example.com")],
            surveys_opt_out=True,
        ),
    )
    case = world.closed_detractor_case(quiet)
    assert world.loop.tick(EVENING + DAYS14).resurveys == 0
    assert details(world.loop.case(case.id), "resurvey_cancelled") == {"reason": "opted_out"}


def test_the_survey_cooldown_postpones_the_resurvey(world: World) -> None:
    # The host's own survey invited her the day before her case closed.
    invited = world.loop.survey_guard("c-anna", invitation=True, at=EVENING - timedelta(days=1))
    assert invited.ask
    case = world.closed_detractor_case(anna())
    assert world.loop.tick(EVENING + DAYS14).resurveys == 0
    cooled = EVENING - timedelta(days=1) + timedelta(days=30)
    assert details(world.loop.case(case.id), "resurvey_postponed") == {
        "reason": "cooldown",
        "due_at": cooled.isoformat(),
        "answer_by": (cooled + DAYS14).isoformat(),
    }
    assert world.loop.tick(EVENING + 2 * DAYS14).no_answers == 0  # the window moved too
    assert world.loop.tick(cooled).resurveys == 1
    assert world.loop.survey_guard("c-anna", invitation=True, at=cooled).reason == "cooldown"


def test_a_reopened_case_is_not_resurveyed_until_it_closes_again(world: World) -> None:
    case = world.closed_detractor_case(anna())
    world.loop.reopen(case.id, by="emp-7", at=EVENING + timedelta(days=1))
    assert world.loop.tick(EVENING + DAYS14).resurveys == 0
    assert details(world.loop.case(case.id), "resurvey_cancelled") == {"reason": "case_reopened"}


def test_a_case_whose_policy_asks_for_no_resurvey_gets_none(world: World) -> None:
    # A passive's case (the example's passive policy, by e-mail): its policy
    # has no resurvey, so nothing is scheduled or watched.
    gold = make_customer("c-3", segment="gold")
    result = world.loop.ingest(make_response(8, id="r-3", customer_id="c-3"), customer=gold)
    assert result.case is not None
    world.loop.record_contact(result.case.id, "reached", by="emp-7")
    closed = world.loop.close(result.case.id, resolved=True, by="emp-7")
    assert "resurvey_scheduled" not in kinds(closed)
    assert world.loop.tick(FRIDAY + 3 * DAYS14).resurveys == 0


def test_no_channel_the_policy_invites_on_cancels_with_a_reason(world: World) -> None:
    phone_only = make_customer("c-4", channels={"phone": "+46701111111"})
    case = world.closed_detractor_case(phone_only)
    # The policy invites by e-mail or text only: never a phone call for a survey.
    assert world.loop.tick(EVENING + DAYS14).resurveys == 0
    assert details(world.loop.case(case.id), "resurvey_cancelled") == {"reason": "no_channel"}
    assert [m.purpose for m in world.loop.messages(case.id)] == ["follow_up"]


def test_a_resurvey_the_policy_no_longer_asks_for_is_cancelled(tmp_path: Path) -> None:
    store = loopkit.SQLiteStore(tmp_path / "loop.db")
    world = World(store)
    case = world.closed_detractor_case(anna())
    # The team drops the re-survey from the policy; the worker restarts on the same file.
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'resurvey = { after = "14d", window = "14d", channels = ["email", "sms"] }', ""
    )
    changed = tmp_path / "policies.toml"
    changed.write_text(text, encoding="utf-8")
    loop = loopkit.Loop(
        loopkit.load_playbook(changed), store=store, clock=world.clock, check_channels=False
    )
    assert loop.tick(EVENING + DAYS14).resurveys == 0
    assert details(loop.case(case.id), "resurvey_cancelled") == {"reason": "policy_changed"}
    assert loop.tick(EVENING + 3 * DAYS14).no_answers == 0
    assert loop.case(case.id).recovery is None
