"""Signals without a score, end to end through the public API.

Seed 002, "last impressions last": a customer who cancels has answered no
survey, yet the moment calls for a call. Seed 003: Norwegian should have
welcomed the travellers SAS left stranded; a booking from someone who just
left a rival calls for a welcome. Both are touchpoints ingested on their own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
import loopkit.testing.strategies as lks
from loopkit.stores import IngestOutcome, MemoryStore, SQLiteStore, signal_key
from loopkit.testing import (
    STOCKHOLM,
    FakeClock,
    RecordingChannel,
    make_customer,
    make_response,
    make_touchpoint,
)

FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
KINDS = ("cancellation", "booking", "purchase")

POLICIES = """
version = 1

[calendars.support]
timezone = "Europe/Stockholm"
hours.mon = "08:00-17:00"
hours.tue = "08:00-17:00"
hours.wed = "08:00-17:00"
hours.thu = "08:00-17:00"
hours.fri = "08:00-17:00"

[contact]
quiet_hours = "20:00-08:00"

[[policies]]
name = "detractor-call"
when = { field = "response.category", equals = "detractor" }
channels = ["phone"]
owner = "touchpoint.employee_id"

[[policies]]
name = "last-impression"
topic = "offboarding"
# Leaving, and not known to be happy: a silent leaver gets the call too.
when.all = [
  { field = "touchpoint.kind", equals = "cancellation" },
  { not = { field = "response.category", equals = "promoter" } },
]
channels = ["phone"]
owner = "team:retention"
deadline = { within = "8h", calendar = "support" }
require = ["apology"]
stop_survey = true

[[policies]]
name = "welcome-switcher"
# A traveller who just left a rival books with us: welcome them.
when.all = [
  { field = "touchpoint.kind", equals = "booking" },
  { field = "touchpoint.attributes.switched_from", exists = true },
]
channels = ["email"]
owner = "team:loyalty"
deadline = { within = "4h", calendar = "support" }
"""


class World:
    """A loop over the signal policies with recording phone and e-mail channels,
    a customer directory plugin, and a record of the hooks called."""

    def __init__(self, store: loopkit.Store | None = None) -> None:
        self.clock = FakeClock(FRIDAY)
        self.phone = RecordingChannel()
        self.email = RecordingChannel()
        self.opened: list[str] = []
        self.lookups: list[str] = []
        self.customers = {"c-1": make_customer(), "c-2": make_customer("c-2")}
        self.loop = loopkit.Loop(
            loopkit.load_playbook(tomllib.loads(POLICIES)),
            plugins=[loopkit.ChannelPlugin({"phone": self.phone, "email": self.email}), self],
            clock=self.clock,
            store=store,
        )

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        self.opened.append(case.id)

    @loopkit.hookimpl
    def loopkit_load_customer(self, customer_id: str) -> loopkit.Customer | None:
        self.lookups.append(customer_id)
        return self.customers.get(customer_id)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    store: loopkit.Store
    if request.param == "postgres":
        from loopkit.stores.postgres import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        store = PostgresStore(dsn, schema=request.getfixturevalue("postgres_schema"))
    else:
        store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "loop.db")
    try:
        yield World(store)
    finally:
        store.close()


def cancellation(**fields: object) -> loopkit.Touchpoint:
    """The customer cancelled their broadband by phone, Friday 15:30."""
    base: dict[str, object] = {"id": "tp-cancel-1", "channel": "phone", "occurred_at": FRIDAY}
    base.update(fields)
    return make_touchpoint("cancellation", employee_id="emp-7", **base)  # type: ignore[arg-type]


# -- seed 002: last impressions last -----------------------------------------------------


def test_a_customer_who_cancels_without_answering_gets_the_last_impression_call(
    world: World,
) -> None:
    result = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")

    assert result.outcome is IngestOutcome.OPENED and not result.replayed
    assert (result.response_id, result.touchpoint_id) == (None, "tp-cancel-1")
    assert result.policy == "last-impression"
    case = result.case
    assert case is not None
    assert case.origin is loopkit.CaseOrigin.TOUCHPOINT
    assert case.response_ids == ()
    assert dict(case.events[0].details) == {
        "touchpoint_id": "tp-cancel-1",
        "touchpoint_kind": "cancellation",
    }
    assert (case.topic, case.owner, case.channel) == ("offboarding", "team:retention", "phone")
    assert case.required_steps == frozenset({"apology"})
    # 8 business hours from the cancellation: 1h30 on Friday, 6h30 on Monday.
    assert case.due_at == datetime(2026, 11, 23, 14, 30, tzinfo=STOCKHOLM)
    assert world.opened == [case.id]
    # The explanation says why the detractor policy could not decide.
    assert result.decision is not None
    assert result.decision.explanation.trace("detractor-call").saw == "no response"

    # The retention team gets the call to make, with what happened.
    assert world.loop.tick().sent == 1
    [sent] = world.phone.sent
    assert sent.case_id == case.id and sent.purpose == "follow_up"
    assert sent.data["touchpoint_kind"] == "cancellation"

    # The call is made, the apology given; the case closes like any other.
    world.loop.record_contact(case.id, "reached", by="emp-9")
    world.loop.complete_step(case.id, "apology", by="emp-9")
    closed = world.loop.close(case.id, resolved=True, by="emp-9")
    assert closed.state is loopkit.CaseState.CLOSED


def test_a_customer_who_cancels_gets_no_more_automated_survey_questions(world: World) -> None:
    result = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")
    assert result.case is not None
    guard = world.loop.survey_guard("c-1")
    assert (guard.ask, guard.reason, guard.case_id) == (False, "open_case", result.case.id)
    world.loop.record_contact(result.case.id, "reached", by="emp-9")
    world.loop.complete_step(result.case.id, "apology", by="emp-9")
    world.loop.close(result.case.id, resolved=True, by="emp-9")
    assert world.loop.survey_guard("c-1").ask


def test_a_happy_leaver_who_answered_is_left_alone_but_a_silent_one_is_not(world: World) -> None:
    happy = make_response(10, id="r-happy", touchpoint=cancellation(id="tp-happy"))
    assert world.loop.ingest(happy).outcome is IngestOutcome.NO_FOLLOW_UP
    silent = world.loop.ingest_touchpoint(cancellation(id="tp-silent"), customer_id="c-2")
    assert silent.outcome is IngestOutcome.OPENED


def test_a_later_answer_about_the_cancellation_joins_the_signal_case(world: World) -> None:
    opened = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")
    world.clock.advance(timedelta(hours=1))
    passive = make_response(8, id="r-1", touchpoint=cancellation())  # NPS 8: a passive
    joined = world.loop.ingest(passive)
    assert joined.outcome is IngestOutcome.ATTACHED and joined.policy == "last-impression"
    assert opened.case is not None and joined.case is not None
    assert joined.case.id == opened.case.id
    assert joined.case.response_ids == ("r-1",)
    assert len(world.loop.messages()) == 1  # the call is already owed


def test_a_second_cancellation_signal_attaches_to_the_open_case(world: World) -> None:
    first = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")
    world.clock.advance(timedelta(minutes=5))
    second = world.loop.ingest_touchpoint(
        cancellation(id="tp-cancel-2", channel="web"), customer_id="c-1"
    )
    assert second.outcome is IngestOutcome.ATTACHED
    assert first.case is not None and second.case is not None
    assert second.case.id == first.case.id
    assert second.case.events[-1].kind == "touchpoint_attached"
    assert second.case.events[-1].details["touchpoint_id"] == "tp-cancel-2"
    assert len(world.loop.cases("c-1")) == 1
    assert len(world.loop.messages(first.case.id)) == 1  # no second call


# -- seed 003: welcome the travellers a rival left stranded --------------------------


def test_a_traveller_who_switches_from_a_rival_gets_a_welcome_case(world: World) -> None:
    booking = make_touchpoint(
        "booking",
        id="tp-booking-1",
        channel="web",
        occurred_at=FRIDAY,
        employee_id=None,
        attributes={"switched_from": "rival-airline", "route": "ARN-OSL"},
    )
    result = world.loop.ingest_touchpoint(booking, customer=world.customers["c-2"])

    assert result.outcome is IngestOutcome.OPENED
    case = result.case
    assert case is not None
    assert case.origin is loopkit.CaseOrigin.TOUCHPOINT
    assert (case.customer_id, case.policy, case.owner) == (
        "c-2",
        "welcome-switcher",
        "team:loyalty",
    )
    assert case.due_at == datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM)
    assert world.lookups == []  # the customer was given: no plugin asked
    assert world.loop.tick().sent == 1
    [welcome] = world.email.sent
    assert welcome.case_id == case.id and welcome.data["touchpoint_kind"] == "booking"


def test_a_booking_from_a_loyal_customer_opens_nothing(world: World) -> None:
    booking = make_touchpoint("booking", id="tp-booking-2", channel="web", occurred_at=FRIDAY)
    result = world.loop.ingest_touchpoint(booking, customer_id="c-1")
    assert result.outcome is IngestOutcome.NO_FOLLOW_UP and result.case is None
    assert result.reason == (
        "no follow-up: none of the 3 policies matched this booking signal "
        "(a touchpoint with no response)"
    )
    assert world.loop.cases() == []
    again = world.loop.ingest_touchpoint(booking, customer_id="c-1")
    assert again.replayed and again.reason == result.reason


# -- exactly once ---------------------------------------------------------------------


def test_the_same_cancellation_ingested_twice_opens_one_case(world: World) -> None:
    first = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")
    world.clock.advance(timedelta(minutes=3))
    again = world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")

    assert again.replayed and not first.replayed
    assert again.outcome is IngestOutcome.OPENED
    assert first.case is not None and again.case is not None
    assert again.case.id == first.case.id
    assert (again.response_id, again.touchpoint_id) == (None, "tp-cancel-1")
    assert len(world.loop.cases()) == 1
    assert len(world.loop.messages()) == 1
    assert world.opened == [first.case.id]  # the hook fired once
    assert world.lookups == ["c-1"]  # a replay asks no plugin
    with world.loop.store.transaction() as tx:
        record = tx.get_ingest(signal_key("tp-cancel-1"))
        assert record is not None and record.touchpoint == cancellation()
        assert [r.key for r in tx.ingests("c-1")] == ["touchpoint:tp-cancel-1"]


def test_a_changed_touchpoint_with_the_same_id_is_a_conflict(world: World) -> None:
    world.loop.ingest_touchpoint(cancellation(), customer_id="c-1")
    changed = cancellation(occurred_at=FRIDAY + timedelta(hours=1))
    with pytest.raises(loopkit.ConflictError, match="'tp-cancel-1' was ingested before"):
        world.loop.ingest_touchpoint(changed, customer_id="c-1")
    with pytest.raises(loopkit.ConflictError):  # the same touchpoint, another customer
        world.loop.ingest_touchpoint(cancellation(), customer=world.customers["c-2"])
    assert len(world.loop.cases()) == 1
    assert world.loop.cases("c-2") == []


def test_a_signal_and_a_response_with_the_same_id_are_kept_apart(world: World) -> None:
    world.loop.ingest_touchpoint(cancellation(id="x-1"), customer_id="c-1")
    answer = make_response(10, id="x-1", customer_id="c-2")
    assert world.loop.ingest(answer, customer=world.customers["c-2"]).replayed is False
    assert world.loop.ingest(answer, customer=world.customers["c-2"]).replayed is True


# -- edges ----------------------------------------------------------------------------


def test_a_signal_needs_a_known_customer_and_stores_nothing_otherwise(world: World) -> None:
    with pytest.raises(loopkit.ValidationError, match="customer_id"):
        world.loop.ingest_touchpoint(cancellation())
    with pytest.raises(loopkit.ValidationError, match=r"customer\.id"):
        world.loop.ingest_touchpoint(
            cancellation(), customer_id="c-1", customer=world.customers["c-2"]
        )
    with pytest.raises(loopkit.ValidationError, match="touchpoint"):
        world.loop.ingest_touchpoint({"id": "tp-1"}, customer_id="c-1")  # type: ignore[arg-type]
    with pytest.raises(loopkit.UnknownCustomer):
        world.loop.ingest_touchpoint(cancellation(), customer_id="c-404")
    with world.loop.store.transaction() as tx:
        assert tx.get_ingest(signal_key("tp-cancel-1")) is None
    assert world.loop.cases() == []


def test_a_signal_for_a_customer_without_a_consented_channel_is_suppressed(world: World) -> None:
    email_only = make_customer("c-3", channels={"email": "someone@example.com"})
    result = world.loop.ingest_touchpoint(cancellation(), customer=email_only)
    assert result.outcome is IngestOutcome.SUPPRESSED and result.case is None
    assert result.policy == "last-impression"
    assert "consented to none of the channels ['phone']" in result.reason
    assert world.loop.ingest_touchpoint(cancellation(), customer=email_only).replayed


# -- any signal, on either store -------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tp=lks.touchpoints(), customer=lks.customers(), kind=st.sampled_from(KINDS))
def test_any_signal_is_ingested_once_and_the_stores_agree(
    tp: loopkit.Touchpoint, customer: loopkit.Customer, kind: str
) -> None:
    tp = attrs.evolve(tp, kind=kind)
    outcomes = []
    for store in (MemoryStore(), SQLiteStore(":memory:")):
        loop = World(store).loop
        first = loop.ingest_touchpoint(tp, customer=customer)
        again = loop.ingest_touchpoint(tp, customer=customer)
        assert again.replayed and not first.replayed
        assert (again.outcome, again.policy, again.reason) == (
            first.outcome,
            first.policy,
            first.reason,
        )
        assert again.case == first.case
        assert len(loop.cases()) == (first.outcome is IngestOutcome.OPENED)
        with pytest.raises(loopkit.ConflictError):
            other = "web" if tp.channel != "web" else "phone"
            loop.ingest_touchpoint(attrs.evolve(tp, channel=other), customer=customer)
        outcomes.append((first.outcome, first.policy, first.case))
        store.close()
    assert outcomes[0] == outcomes[1]
