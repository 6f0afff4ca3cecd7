"""Contract test suites that every store backend must pass — yours too.

Subclass :class:`StoreContract` in your test suite and implement
``make_store``; pytest collects the inherited tests::

    from loopkit.testing import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore(dsn=...)

Needs pytest (loopkit's ``dev`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from loopkit.errors import ConflictError
from loopkit.model import FollowUpCase, Message, MessageStatus, Promise, PromiseStatus
from loopkit.stores import (
    IngestOutcome,
    IngestRecord,
    LaterTimer,
    Store,
    Timer,
    TimerKind,
    signal_key,
)

from .builders import make_customer, make_response, make_touchpoint

__all__ = ["StoreContract"]

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _case(
    id: str = "case-1", customer_id: str = "c-1", topic: str = "t", at: datetime = T0
) -> FollowUpCase:
    return FollowUpCase.open(id=id, customer_id=customer_id, at=at, by="system", topic=topic)


def _message(id: str, not_before: datetime, case_id: str = "case-1") -> Message:
    return Message(
        id=id,
        case_id=case_id,
        customer_id="c-1",
        channel="email",
        purpose="follow_up",
        created_at=T0,
        not_before=not_before,
        address="someone@example.com",
    )


def _ingest(response_id: str = "r-1", customer_id: str = "c-1") -> IngestRecord:
    return IngestRecord(
        response=make_response(id=response_id, customer_id=customer_id),
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="p",
        reason="matched p",
        ingested_at=T0,
    )


def _signal(touchpoint_id: str = "t-1", customer_id: str = "c-1") -> IngestRecord:
    """A touchpoint ingested without a response (a cancellation, say)."""
    return IngestRecord(
        touchpoint=make_touchpoint(
            "cancellation", id=touchpoint_id, attributes={"plan": "fibre-100", "years": 7}
        ),
        customer_id=customer_id,
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="p",
        reason="matched p",
        ingested_at=T0,
    )


class _Boom(Exception):
    pass


class StoreContract:
    """The behaviour loopkit's engine relies on from a store."""

    def make_store(self) -> Store:
        raise NotImplementedError("subclass StoreContract and return a fresh, empty store")

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    # transactions --------------------------------------------------------------

    def test_a_committed_transaction_is_visible_afterwards(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.save_case(_case())
        with store.transaction() as tx:
            assert tx.get_case("case-1") == _case()

    def test_a_failed_transaction_leaves_nothing_behind(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.save_case(_case())
        with pytest.raises(_Boom), store.transaction() as tx:
            tx.save_case(_case().start(at=T0, by="emp"))
            tx.save_case(_case(id="case-2", topic="other"))
            tx.add_ingest(_ingest())
            tx.save_message(_message("m-1", T0))
            tx.add_timer(Timer(id="x", case_id="case-1", kind=TimerKind.BREACH, due_at=T0))
            tx.set_survey_stop("c-1", "case-1")
            raise _Boom
        with store.transaction() as tx:
            assert tx.get_case("case-1") == _case()
            assert tx.get_case("case-2") is None
            assert tx.get_ingest("r-1") is None
            assert tx.get_message("m-1") is None
            assert tx.due_timers(T0, 10) == []
            assert tx.survey_stop("c-1") is None
            assert tx.find_unclosed_case("c-1", "other") is None

    def test_a_failed_transaction_leaves_every_lookup_as_it_was(self, store: Store) -> None:
        kept = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_case(_case())
            tx.save_message(kept)
        with pytest.raises(_Boom), store.transaction() as tx:
            closing = _case().fail(at=T0, by="emp").close(at=T0, by="emp")
            tx.save_case(closing)  # closed: no longer the unclosed case on its topic
            tx.save_message(attrs.evolve(kept, status=MessageStatus.SENT, sent_at=T0))
            tx.save_message(_message("m-2", T0))
            tx.save_case(_case(id="case-2", customer_id="c-2"))
            raise _Boom
        with store.transaction() as tx:
            assert tx.find_unclosed_case("c-1", "t") == _case()
            assert tx.find_unclosed_case("c-2", "t") is None
            assert list(tx.cases("c-1")) == [_case()] and list(tx.cases("c-2")) == []
            assert list(tx.due_messages(T0, 10)) == [kept]
            assert list(tx.messages("case-1")) == [kept]

    # savepoints ---------------------------------------------------------------

    def test_a_failed_savepoint_undoes_its_own_writes_only(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.save_case(_case())
        with store.transaction() as tx:
            tx.add_ingest(_ingest("r-before"))
            with pytest.raises(_Boom), tx.savepoint():
                tx.add_ingest(_ingest("r-failed", customer_id="c-2"))
                tx.save_case(_case(id="case-2", customer_id="c-2"))
                tx.save_case(_case().fail(at=T0, by="emp").close(at=T0, by="emp"))
                tx.add_timer(Timer(id="case-2", case_id="case-2", kind=TimerKind.BREACH, due_at=T0))
                tx.save_message(_message("m-2", T0, case_id="case-2"))
                tx.set_survey_stop("c-2", "case-2")
                tx.add_survey_invitation("c-2", T0)
                raise _Boom
            # inside the same transaction, the failed block is already undone
            assert tx.get_ingest("r-failed") is None
            assert tx.find_unclosed_case("c-1", "t") == _case()
            tx.add_ingest(_ingest("r-after"))
        with store.transaction() as tx:
            assert tx.get_ingest("r-before") is not None and tx.get_ingest("r-after") is not None
            assert tx.get_ingest("r-failed") is None
            assert tx.get_case("case-2") is None and list(tx.cases("c-2")) == []
            assert tx.find_unclosed_case("c-1", "t") == _case()
            assert tx.find_unclosed_case("c-2", "t") is None
            assert list(tx.due_timers(T0, 10)) == [] and list(tx.timers("case-2")) == []
            assert list(tx.due_messages(T0, 10)) == [] and list(tx.messages("case-2")) == []
            assert tx.survey_stop("c-2") is None and list(tx.survey_invitations("c-2")) == []
            assert [r.response_id for r in tx.ingests()] == ["r-after", "r-before"]

    def test_a_savepoint_that_ends_normally_keeps_its_writes(self, store: Store) -> None:
        with store.transaction() as tx:
            with tx.savepoint():
                tx.save_case(_case())
                tx.save_message(_message("m-1", T0))
            with tx.savepoint():
                tx.add_ingest(_ingest())
        with store.transaction() as tx:
            assert tx.get_case("case-1") == _case()
            assert [m.id for m in tx.due_messages(T0, 10)] == ["m-1"]
            assert tx.get_ingest("r-1") is not None

    def test_savepoints_nest_and_a_failed_inner_one_keeps_the_outer(self, store: Store) -> None:
        with store.transaction() as tx, tx.savepoint():
            tx.save_case(_case())
            with pytest.raises(_Boom), tx.savepoint():
                tx.save_case(_case().start(at=T0, by="emp"))
                tx.save_message(_message("m-1", T0))
                raise _Boom
            tx.add_ingest(_ingest())
        with store.transaction() as tx:
            assert tx.get_case("case-1") == _case()
            assert tx.get_message("m-1") is None and list(tx.due_messages(T0, 10)) == []
            assert tx.get_ingest("r-1") is not None

    def test_a_failed_transaction_undoes_its_kept_savepoints_too(self, store: Store) -> None:
        with pytest.raises(_Boom), store.transaction() as tx:
            with tx.savepoint():
                tx.save_case(_case())
                tx.add_ingest(_ingest())
            raise _Boom
        with store.transaction() as tx:
            assert tx.get_case("case-1") is None and tx.get_ingest("r-1") is None
            assert tx.find_unclosed_case("c-1", "t") is None

    def test_a_sequence_number_taken_in_a_failed_savepoint_is_never_reused(
        self, store: Store
    ) -> None:
        with store.transaction() as tx:
            first = tx.next_number("case")
            with pytest.raises(_Boom), tx.savepoint():
                tx.next_number("case")
                raise _Boom
            after = tx.next_number("case")
        assert first == 1 and after in (2, 3)

    def test_sequences_count_up_from_one(self, store: Store) -> None:
        with store.transaction() as tx:
            assert [tx.next_number("case") for _ in range(3)] == [1, 2, 3]
            assert tx.next_number("message") == 1
        with store.transaction() as tx:
            assert tx.next_number("case") == 4
        with pytest.raises(_Boom), store.transaction() as tx:
            tx.next_number("case")
            raise _Boom
        with store.transaction() as tx:  # a number may be skipped, never reused
            assert tx.next_number("case") >= 5

    # responses -----------------------------------------------------------------

    def test_an_ingest_record_round_trips(self, store: Store) -> None:
        record = _ingest()
        with store.transaction() as tx:
            tx.add_ingest(record)
        with store.transaction() as tx:
            assert tx.get_ingest("r-1") == record
            assert tx.get_ingest("r-1").response.comment == record.response.comment  # type: ignore[union-attr]
            assert list(tx.ingests("c-1")) == [record]
            assert list(tx.ingests("c-2")) == []

    def test_the_same_response_id_twice_is_a_conflict(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.add_ingest(_ingest())
        with pytest.raises(ConflictError) as caught, store.transaction() as tx:
            tx.add_ingest(_ingest())
        assert (caught.value.key, caught.value.kind) == ("r-1", "response")
        assert caught.value.response_id == "r-1"

    # touchpoint signals (a touchpoint ingested without a response) ---------------

    def test_a_signal_record_round_trips_under_its_own_key(self, store: Store) -> None:
        signal = _signal()
        with store.transaction() as tx:
            tx.add_ingest(signal)
        with store.transaction() as tx:
            found = tx.get_ingest(signal_key("t-1"))
            assert found == signal
            assert found is not None and found.response is None
            assert found.touchpoint == signal.touchpoint and found.customer_id == "c-1"
            assert tx.get_ingest("t-1") is None  # a response id is another key
            assert list(tx.ingests("c-1")) == [signal]
            assert list(tx.ingests("c-2")) == []

    def test_signals_and_responses_are_listed_together_by_time_then_key(self, store: Store) -> None:
        later = attrs.evolve(_ingest("t-1"), ingested_at=T0 + timedelta(seconds=1))
        with store.transaction() as tx:
            tx.add_ingest(later)  # a response whose id is the touchpoint's: no clash
            tx.add_ingest(_signal("t-1"))
            tx.add_ingest(_signal("t-2", customer_id="c-2"))
        with store.transaction() as tx:
            assert [r.key for r in tx.ingests()] == ["touchpoint:t-1", "touchpoint:t-2", "t-1"]
            assert [r.key for r in tx.ingests("c-2")] == ["touchpoint:t-2"]

    def test_the_same_signal_twice_is_a_conflict(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.add_ingest(_signal())
        with pytest.raises(ConflictError) as caught, store.transaction() as tx:
            tx.add_ingest(_signal(customer_id="c-2"))
        assert (caught.value.key, caught.value.kind) == (signal_key("t-1"), "signal")
        assert caught.value.response_id is None
        with store.transaction() as tx:
            assert [r.customer_id for r in tx.ingests()] == ["c-1"]

    def test_a_failed_transaction_leaves_no_signal_behind(self, store: Store) -> None:
        with pytest.raises(_Boom), store.transaction() as tx:
            tx.add_ingest(_signal())
            raise _Boom
        with store.transaction() as tx:
            assert tx.get_ingest(signal_key("t-1")) is None
            assert list(tx.ingests()) == []

    # cases ---------------------------------------------------------------------

    def test_an_unclosed_case_is_found_by_customer_and_topic(self, store: Store) -> None:
        case = _case().contact(at=T0, by="emp").resolve(at=T0, by="emp")
        with store.transaction() as tx:
            tx.save_case(case)
        with store.transaction() as tx:
            assert tx.find_unclosed_case("c-1", "t") == case
            assert tx.find_unclosed_case("c-1", "other") is None
            assert tx.find_unclosed_case("c-2", "t") is None
            tx.save_case(case.close(at=T0, by="emp"))
        with store.transaction() as tx:
            assert tx.find_unclosed_case("c-1", "t") is None

    def test_cases_are_listed_oldest_first_and_by_customer(self, store: Store) -> None:
        later = _case(id="case-2", at=T0 + timedelta(hours=1), topic="u")
        other = _case(id="case-3", customer_id="c-2")
        with store.transaction() as tx:
            for case in (later, other, _case()):
                tx.save_case(case)
        with store.transaction() as tx:
            assert [c.id for c in tx.cases()] == ["case-1", "case-3", "case-2"]
            assert [c.id for c in tx.cases("c-1")] == ["case-1", "case-2"]

    def test_a_case_keeps_its_whole_event_log(self, store: Store) -> None:
        case = _case().contact(at=T0, by="emp", note="Spoke to the customer")
        case = case.complete_step("apology", at=T0, by="emp").resolve(at=T0, by="emp")
        case = case.close(at=T0, by="emp", root_causes=["campaign_targeting"])
        with store.transaction() as tx:
            tx.save_case(case)
        with store.transaction() as tx:
            assert tx.get_case(case.id) == case

    # timers --------------------------------------------------------------------

    def test_timers_come_due_in_order_and_can_be_deleted(self, store: Store) -> None:
        timers = [
            Timer(id="a", case_id="case-1", kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2)),
            Timer(id="b", case_id="case-1", kind=TimerKind.WARNING, due_at=T0 + timedelta(hours=1)),
            Timer(
                id="c", case_id="case-2", kind=TimerKind.ESCALATION, due_at=T0, level=1, to="team:x"
            ),
        ]
        with store.transaction() as tx:
            for timer in timers:
                tx.add_timer(timer)
        with store.transaction() as tx:
            assert [t.id for t in tx.due_timers(T0 + timedelta(hours=1), 10)] == ["c", "b"]
            assert [t.id for t in tx.due_timers(T0 + timedelta(hours=5), 1)] == ["c"]
            assert tx.due_timers(T0, 10)[0] == timers[2]
            tx.delete_timers("case-1")
            tx.delete_timer("c")
        with store.transaction() as tx:
            assert tx.due_timers(T0 + timedelta(days=1), 10) == []

    def test_a_timer_saved_again_comes_due_at_its_new_time_only(self, store: Store) -> None:
        first = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0)
        moved = attrs.evolve(first, kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2))
        with store.transaction() as tx:
            tx.add_timer(first)
        with store.transaction() as tx:
            tx.delete_timer("case-1")
            tx.add_timer(moved)
        with store.transaction() as tx:
            assert list(tx.due_timers(T0 + timedelta(hours=1), 10)) == []
            assert list(tx.due_timers(T0 + timedelta(hours=2), 10)) == [moved]
            assert list(tx.due_timers(T0 + timedelta(hours=2), 10)) == [moved]  # still there
            assert list(tx.timers("case-1")) == [moved]

    def test_a_timer_keeps_the_timers_after_it(self, store: Store) -> None:
        later = (
            LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=4)),
            LaterTimer(
                kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=8), level=1, to="team:leads"
            ),
        )
        timer = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0, later=later)
        with store.transaction() as tx:
            tx.add_timer(timer)
        with store.transaction() as tx:
            assert list(tx.timers("case-1")) == [timer]
            (stored,) = tx.due_timers(T0, 10)
            assert stored.later == later
            assert all(type(step) is LaterTimer for step in stored.later)
            following = stored.following()
            assert following is not None
            assert (following.kind, following.due_at, following.later) == (
                TimerKind.BREACH,
                T0 + timedelta(hours=4),
                later[1:],
            )

    # outbox --------------------------------------------------------------------

    def test_due_messages_are_pending_and_due(self, store: Store) -> None:
        first = _message("m-1", T0)
        later = _message("m-2", T0 + timedelta(hours=3))
        with store.transaction() as tx:
            tx.save_message(later)
            tx.save_message(first)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0, 10)) == [first]
            assert [m.id for m in tx.due_messages(T0 + timedelta(hours=3), 10)] == ["m-1", "m-2"]
            tx.save_message(attrs.evolve(first, status=MessageStatus.SENT, attempts=1, sent_at=T0))
            retry = attrs.evolve(later, attempts=1, next_attempt_at=T0 + timedelta(hours=4))
            tx.save_message(retry)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0 + timedelta(hours=3), 10)) == []
            assert list(tx.due_messages(T0 + timedelta(hours=4), 10)) == [retry]
            assert [m.id for m in tx.messages(status=MessageStatus.SENT)] == ["m-1"]
            assert [m.id for m in tx.messages(case_id="case-1")] == ["m-1", "m-2"]
            assert tx.get_message("m-2") == retry
            assert tx.get_message("m-2").address == "someone@example.com"  # type: ignore[union-attr]

    def test_a_dead_letter_is_kept_but_never_due(self, store: Store) -> None:
        dead = attrs.evolve(_message("m-1", T0), status=MessageStatus.DEAD, attempts=5)
        with store.transaction() as tx:
            tx.save_message(dead)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0 + timedelta(days=9), 10)) == []
            assert list(tx.messages(status=MessageStatus.DEAD)) == [dead]

    def test_messages_of_one_case_by_status_and_a_cancelled_one_is_never_due(
        self, store: Store
    ) -> None:
        mine = _message("m-1", T0)
        theirs = _message("m-2", T0, case_id="case-2")
        cancelled = attrs.evolve(_message("m-3", T0), status=MessageStatus.CANCELLED)
        with store.transaction() as tx:
            for message in (mine, theirs, cancelled):
                tx.save_message(message)
        with store.transaction() as tx:
            assert [m.id for m in tx.messages(case_id="case-1")] == ["m-1", "m-3"]
            assert list(tx.messages("case-1", MessageStatus.PENDING)) == [mine]
            assert list(tx.messages("case-2", MessageStatus.CANCELLED)) == []
            assert list(tx.messages(status=MessageStatus.CANCELLED)) == [cancelled]
            assert [m.id for m in tx.due_messages(T0, 10)] == ["m-1", "m-2"]

    # claims --------------------------------------------------------------------

    def test_claiming_takes_due_pending_messages_earliest_first(self, store: Store) -> None:
        later = _message("m-1", T0 + timedelta(minutes=2))
        first = _message("m-2", T0)
        middle = _message("m-3", T0 + timedelta(minutes=1))
        future = _message("m-4", T0 + timedelta(hours=1))
        sent = attrs.evolve(_message("m-5", T0), status=MessageStatus.SENT, sent_at=T0)
        dead = attrs.evolve(_message("m-6", T0), status=MessageStatus.DEAD, attempts=5)
        cancelled = attrs.evolve(_message("m-7", T0), status=MessageStatus.CANCELLED)
        with store.transaction() as tx:
            for message in (later, first, middle, future, sent, dead, cancelled):
                tx.save_message(message)
        now, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
        with store.transaction() as tx:
            assert list(tx.claim_messages(now, 2, "w-1", until)) == [first, middle]
            assert list(tx.claim_messages(now, 10, "w-1", until)) == [later]
            assert list(tx.claim_messages(now, 10, "w-2", until)) == []
        with store.transaction() as tx:
            assert [tx.claimed_by(m) for m in ("m-1", "m-2", "m-3")] == ["w-1"] * 3
            assert [tx.claimed_by(m) for m in ("m-4", "m-5", "m-6", "m-7")] == [None] * 4
            assert tx.claimed_by("no-such-message") is None
            # claiming only marks: the messages are unchanged, and still due
            assert tx.get_message("m-2") == first
            assert [m.id for m in tx.due_messages(now, 10)] == ["m-2", "m-3", "m-1"]

    def test_a_claim_keeps_other_workers_out_until_it_expires(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
        until = T0 + timedelta(minutes=5)
        with store.transaction() as tx:
            assert list(tx.claim_messages(T0, 10, "w-1", until)) == [message]
        with store.transaction() as tx:
            assert list(tx.claim_messages(until - timedelta(microseconds=1), 10, "w-2", T0)) == []
            assert list(tx.claim_messages(until - timedelta(seconds=1), 10, "w-1", T0)) == []
        with store.transaction() as tx:  # a claim that ran out is anyone's
            later = until + timedelta(minutes=5)
            assert list(tx.claim_messages(until, 10, "w-2", later)) == [message]
            assert tx.claimed_by("m-1") == "w-2"
        with store.transaction() as tx:
            assert list(tx.claim_messages(until, 10, "w-3", later)) == []

    def test_saving_a_message_releases_its_claim(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
            tx.save_message(_message("m-2", T0))
        until = T0 + timedelta(hours=1)
        with store.transaction() as tx:
            assert len(tx.claim_messages(T0, 10, "w-1", until)) == 2
        with store.transaction() as tx:
            tx.save_message(message)  # handed back as it was
            sent = attrs.evolve(
                _message("m-2", T0), status=MessageStatus.SENT, attempts=1, sent_at=T0
            )
            tx.save_message(sent)
        with store.transaction() as tx:
            assert tx.claimed_by("m-1") is None and tx.claimed_by("m-2") is None
            assert list(tx.claim_messages(T0, 10, "w-2", until)) == [message]
            assert tx.claimed_by("m-1") == "w-2"

    def test_a_failed_transaction_undoes_its_claims(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
        until = T0 + timedelta(hours=1)
        with pytest.raises(_Boom), store.transaction() as tx:
            assert list(tx.claim_messages(T0, 10, "w-1", until)) == [message]
            raise _Boom
        with store.transaction() as tx:
            assert tx.claimed_by("m-1") is None
            assert list(tx.claim_messages(T0, 10, "w-2", until)) == [message]
        with pytest.raises(_Boom), store.transaction() as tx:
            tx.save_message(attrs.evolve(message, status=MessageStatus.SENT, sent_at=T0))
            raise _Boom
        with store.transaction() as tx:  # the release was undone with the save
            assert tx.claimed_by("m-1") == "w-2"
            assert tx.get_message("m-1") == message

    def test_claims_of_many_workers_never_overlap(self, store: Store) -> None:
        with store.transaction() as tx:
            for n in range(30):
                tx.save_message(_message(f"m-{n:02d}", T0 + timedelta(seconds=n)))
        now, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)
        taken: dict[str, list[str]] = {}
        for turn in range(8):
            worker = f"w-{turn % 3}"
            with store.transaction() as tx:
                claimed = tx.claim_messages(now, 4, worker, until)
            taken.setdefault(worker, []).extend(m.id for m in claimed)
        every = [i for ids in taken.values() for i in ids]
        assert len(every) == len(set(every)) == 30
        with store.transaction() as tx:
            assert all(tx.claimed_by(i) == w for w, ids in taken.items() for i in ids)

    # promises ------------------------------------------------------------------

    def test_pending_promises_come_due(self, store: Store) -> None:
        promise = Promise(
            id="p-1",
            case_id="case-1",
            customer_id="c-1",
            kind="call_back",
            made_by="emp",
            made_at=T0,
            due_at=T0 + timedelta(hours=2),
        )
        with store.transaction() as tx:
            tx.save_promise(promise)
        with store.transaction() as tx:
            assert list(tx.due_promises(T0 + timedelta(hours=1), 10)) == []
            assert list(tx.due_promises(T0 + timedelta(hours=2), 10)) == [promise]
            kept = attrs.evolve(promise, status=PromiseStatus.KEPT, settled_at=T0)
            tx.save_promise(kept)
        with store.transaction() as tx:
            assert list(tx.due_promises(T0 + timedelta(days=1), 10)) == []
            assert tx.get_promise("p-1") == kept
            assert list(tx.promises("case-1")) == [kept]

    # customers -----------------------------------------------------------------

    def test_the_latest_copy_of_a_customer_is_kept(self, store: Store) -> None:
        first = make_customer(id="c-1", segment="silver")
        with store.transaction() as tx:
            assert tx.get_customer("c-1") is None
            tx.save_customer(first)
        later = make_customer(id="c-1", segment="gold")
        with store.transaction() as tx:
            assert tx.get_customer("c-1") == first
            tx.save_customer(later)
        with store.transaction() as tx:
            assert tx.get_customer("c-1") == later
            assert tx.get_customer("c-2") is None

    # the survey guard ----------------------------------------------------------

    def test_survey_stops_and_invitations(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.set_survey_stop("c-1", "case-1")
            tx.add_survey_invitation("c-1", T0 + timedelta(days=1))
            tx.add_survey_invitation("c-1", T0)
        with store.transaction() as tx:
            assert tx.survey_stop("c-1") == "case-1"
            assert tx.survey_stop("c-2") is None
            assert list(tx.survey_invitations("c-1")) == [T0, T0 + timedelta(days=1)]
            tx.clear_survey_stop("c-1")
        with store.transaction() as tx:
            assert tx.survey_stop("c-1") is None
