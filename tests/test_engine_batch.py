"""Ingesting in batches: ``Loop.ingest_many`` does what one ``ingest`` per response
would do, with a batch's writes in one transaction and one item's failure kept
to that item."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
from loopkit import BatchItem, IngestResult
from loopkit.stores import IngestOutcome
from loopkit.testing import FakeClock, make_customer, make_feed, make_response, make_touchpoint
from loopkit.testing.builders import TOUCHPOINT_KINDS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
PLAYBOOK = loopkit.load_playbook(EXAMPLE)
Feed = list[tuple[loopkit.Response, loopkit.Customer | None]]


def sample_feed(n: int, seed: int = 3, customers: int | None = None) -> Feed:
    return make_feed(
        n,
        seed=seed,
        customers=customers or max(1, n // 4),
        every=timedelta(minutes=5),
        segments=("gold", None),
        comments=(None, "It took too long."),
        start=FakeClock().now(),
    )


class OpenedCases:
    """A plugin that remembers every ``loopkit_case_opened`` notification, and
    whether the case was committed when it came."""

    def __init__(self) -> None:
        self.loop: loopkit.Loop | None = None
        self.cases: list[str] = []
        self.committed: list[bool] = []

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        self.cases.append(case.id)
        assert self.loop is not None
        store = self.loop.store
        if isinstance(store, loopkit.SQLiteStore) and store.path != ":memory:":
            # another connection sees only what was committed
            with loopkit.SQLiteStore(store.path) as other, other.transaction() as tx:
                self.committed.append(tx.get_case(case.id) is not None)


class Customers:
    """A ``loopkit_load_customer`` plugin that knows some customers."""

    def __init__(self, *known: loopkit.Customer) -> None:
        self.known = {c.id: c for c in known}
        self.asked: list[str] = []

    @loopkit.hookimpl
    def loopkit_load_customer(self, customer_id: str) -> loopkit.Customer | None:
        self.asked.append(customer_id)
        return self.known.get(customer_id)


def state(loop: loopkit.Loop) -> tuple[object, ...]:
    """Everything the loop wrote, comparable between two loops."""
    with loop.store.transaction() as tx:
        return (
            tuple(tx.ingests()),
            tuple(tx.cases()),
            tuple(tx.messages()),
            tuple(tuple(tx.timers(c.id)) for c in tx.cases()),
        )


def one_by_one(loop: loopkit.Loop, feed: Feed) -> list[IngestResult | Exception]:
    out: list[IngestResult | Exception] = []
    for response, customer in feed:
        try:
            out.append(loop.ingest(response, customer=customer))
        except loopkit.LoopkitError as err:
            out.append(err)
    return out


def same(batch: Sequence[BatchItem], single: Sequence[IngestResult | Exception]) -> None:
    assert len(batch) == len(single)
    for item, expected in zip(batch, single, strict=True):
        if isinstance(expected, Exception):
            assert not item.ok and item.result is None
            assert type(item.error) is type(expected)
            assert str(item.error) == str(expected)
        else:
            assert item.ok and item.error is None
            assert item.result == expected
            assert item.response_id == expected.response_id


# -- the same as one by one ------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_a_batch_gives_the_same_cases_messages_and_records_as_one_by_one(
    batch_size: int,
) -> None:
    feed = sample_feed(400)
    single = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    batched = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    expected = one_by_one(single, feed)
    items = batched.ingest_many(feed, batch_size=batch_size)
    same(items, expected)
    assert state(batched) == state(single)
    assert {i.result.outcome for i in items if i.result} >= {"opened", "attached", "no_follow_up"}


def test_the_items_may_be_a_generator_read_one_batch_at_a_time() -> None:
    feed = sample_feed(50)
    read: list[int] = []

    def lazily() -> Iterator[tuple[loopkit.Response, loopkit.Customer | None]]:
        for n, item in enumerate(feed):
            read.append(n)
            yield item

    loop = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    items = loop.ingest_many(lazily(), batch_size=20)
    assert len(items) == 50 and all(i.ok for i in items)
    assert read == list(range(50))


def test_batch_size_must_be_a_positive_integer() -> None:
    loop = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    for bad in (0, -1, 2.5, True):
        with pytest.raises(loopkit.ValidationError, match="batch_size: expected an integer"):
            loop.ingest_many([], batch_size=bad)  # type: ignore[arg-type]
    assert loop.ingest_many([]) == []


# -- failures stay with their item ----------------------------------------------------


def test_a_conflict_and_an_unknown_customer_in_the_middle_leave_the_others_ingested() -> None:
    feed = sample_feed(60, customers=10)
    plugin = Customers(*(c for _, c in feed if c is not None))
    loop = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    loop.ingest(make_response(9, id="r-taken", customer_id="c-1"), customer=make_customer("c-1"))
    middle: Feed = [
        (make_response(2, id="r-taken", customer_id="c-1"), make_customer("c-1")),  # conflict
        (make_response(1, id="r-nobody", customer_id="c-nobody"), None),  # unknown customer
        (make_response(1, id="r-wrong", customer_id="c-1"), make_customer("c-2")),  # mismatch
    ]
    items = loop.ingest_many([*feed[:30], *middle, *feed[30:]])
    assert len(items) == 63
    failed = {item.response_id: item.error for item in items if not item.ok}
    assert set(failed) == {"r-taken", "r-nobody", "r-wrong"}
    assert isinstance(failed["r-taken"], loopkit.ConflictError)
    assert isinstance(failed["r-nobody"], loopkit.UnknownCustomer)
    assert isinstance(failed["r-wrong"], loopkit.ValidationError)
    with pytest.raises(loopkit.UnknownCustomer):
        items[31].unwrap()

    reference = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    reference.ingest(
        make_response(9, id="r-taken", customer_id="c-1"), customer=make_customer("c-1")
    )
    one_by_one(reference, feed)
    assert state(loop) == state(reference)


def test_customers_come_from_the_plugin_outside_the_transaction() -> None:
    feed = sample_feed(40, customers=5)
    plugin = Customers(*(c for _, c in feed if c is not None))
    loop = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    items = loop.ingest_many([(r, None) for r, _ in feed], batch_size=16)
    assert all(item.ok for item in items)
    assert plugin.asked == [r.customer_id for r, _ in feed]

    reference = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    one_by_one(reference, feed)
    assert state(loop) == state(reference)

    plugin.asked.clear()  # a replay asks no plugin, as ingest does
    again = loop.ingest_many([(r, None) for r, _ in feed])
    assert all(item.unwrap().replayed for item in again)
    assert plugin.asked == []


def test_a_plugin_that_raises_fails_its_item_only() -> None:
    scale = loopkit.Scale(
        name="stars", minimum=1, maximum=3, detractor=(1, 1), passive=(2, 2), promoter=(3, 3)
    )

    class Classifier:
        @loopkit.hookimpl
        def loopkit_classify_response(self, response: loopkit.Response) -> object:
            if response.id == "r-bad-type":
                return "detractor"  # not a Category
            if response.id == "r-boom":
                raise RuntimeError("the classifier's service is down")
            return loopkit.Category.DETRACTOR

    loop = loopkit.Loop(PLAYBOOK, plugins=[Classifier()], clock=FakeClock())
    feed: Feed = [
        (make_response(3, id=f"r-{name}", scale=scale, kind="purchase"), make_customer())
        for name in ("first", "bad-type", "boom", "last")
    ]
    items = loop.ingest_many(feed)
    assert [item.ok for item in items] == [True, False, False, True]
    assert isinstance(items[1].error, loopkit.PluginError)
    assert isinstance(items[2].error, loopkit.PluginError)
    assert isinstance(items[2].error.__cause__, RuntimeError)
    assert "RuntimeError" in str(items[2].error)
    first, last = items[0].unwrap(), items[3].unwrap()
    assert first.outcome == "opened"  # a 3 of 3, reclassified as a detractor
    assert last.outcome == "attached" and last.case is not None
    assert last.case.response_ids == ("r-first", "r-last")


def test_an_item_that_fails_after_writing_is_rolled_back_and_the_rest_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite, whose sequences roll back with the transaction (the memory store's
    # leave a gap, which the store protocol allows), so the numbers compare.
    feed = sample_feed(30, customers=30)
    seen = OpenedCases()
    loop = loopkit.Loop(PLAYBOOK, plugins=[seen], store=loopkit.SQLiteStore(), clock=FakeClock())
    seen.loop = loop
    outbox = loop._ingest.outbox  # the engine's part that schedules a case's timers
    original = outbox.schedule
    refused: list[str] = []

    def fails_on_the_third_case(tx: object, case: loopkit.FollowUpCase, decision: object) -> None:
        original(tx, case, decision)  # type: ignore[arg-type]
        if case.id == "case-3" and not refused:  # the case and its timer are written by now
            refused.extend(case.response_ids)
            raise loopkit.ValidationError("decision", "something the test refuses")

    monkeypatch.setattr(outbox, "schedule", fails_on_the_third_case)
    items = loop.ingest_many(feed)
    assert [item.response_id for item in items if not item.ok] == refused
    assert isinstance(items[int(refused[0][2:])].error, loopkit.ValidationError)

    reference = loopkit.Loop(PLAYBOOK, store=loopkit.SQLiteStore(), clock=FakeClock())
    one_by_one(reference, [item for item in feed if item[0].id not in refused])
    assert state(loop) == state(reference)  # nothing of the refused item, no gap in numbers
    assert sorted(seen.cases) == sorted(c.id for c in loop.cases())  # once each, after the retry


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_half_the_items_failing_after_they_wrote_costs_one_try_each(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each item runs in a savepoint of its own: a failure undoes that item
    # only, and the batch is never run again (it used to be, once per failure).
    feed = sample_feed(120, customers=40)
    store = loopkit.MemoryStore() if backend == "memory" else loopkit.SQLiteStore()
    seen = OpenedCases()
    loop = loopkit.Loop(PLAYBOOK, plugins=[seen], store=store, clock=FakeClock())
    seen.loop = loop
    ingest, outbox = loop._ingest, loop._ingest.outbox  # the engine's parts
    apply, schedule = ingest.apply, outbox.schedule
    tries: list[str] = []
    refused: set[str] = set()

    def counted(tx: object, response: loopkit.Response, *args: object) -> object:
        tries.append(response.id)
        return apply(tx, response, *args)  # type: ignore[arg-type]

    def fails_every_other_case(tx: object, case: loopkit.FollowUpCase, decision: object) -> None:
        schedule(tx, case, decision)  # type: ignore[arg-type]
        if int(case.response_ids[0][2:]) % 2:  # its case and timer are written by now
            refused.add(case.response_ids[0])
            raise loopkit.ValidationError("decision", "something the test refuses")

    monkeypatch.setattr(ingest, "apply", counted)
    monkeypatch.setattr(outbox, "schedule", fails_every_other_case)
    items = loop.ingest_many(feed, batch_size=500)
    assert sorted(tries) == sorted(r.id for r, _ in feed)  # one try per item, no rerun
    assert len(refused) > 10
    assert {item.response_id for item in items if not item.ok} == refused
    assert all(isinstance(item.error, loopkit.ValidationError) for item in items if not item.ok)
    with loop.store.transaction() as tx:
        stored = {record.response_id for record in tx.ingests()}
        in_cases = {r for case in tx.cases() for r in case.response_ids}
        assert stored == {r.id for r, _ in feed} - refused
        assert not in_cases & refused  # nothing of a refused item was kept
        assert all(tx.timers(case.id) for case in tx.cases() if case.due_at is not None)
        assert len(tx.messages()) == len(tx.cases())
    assert sorted(seen.cases) == sorted(case.id for case in loop.cases())
    if backend == "sqlite":  # sequences roll back with a savepoint: same as one by one
        monkeypatch.undo()
        reference = loopkit.Loop(PLAYBOOK, store=loopkit.SQLiteStore(), clock=FakeClock())
        one_by_one(reference, [item for item in feed if item[0].id not in refused])
        assert state(loop) == state(reference)


def test_an_item_that_is_not_a_pair_of_model_values_is_answered_in_its_place() -> None:
    feed = sample_feed(5)
    response, customer = feed[1]
    loop = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    items: list[object] = [
        feed[0],
        (response.to_dict(), customer),  # not read with Response.from_dict
        (feed[2][0], customer.to_dict()),
        "r-3",
        feed[3],
        (feed[4][0],),
    ]
    answers = loop.ingest_many(items, batch_size=2)  # type: ignore[arg-type]
    assert [a.ok for a in answers] == [True, False, False, False, True, False]
    errors = [a.error for a in answers if a.error is not None]
    assert all(isinstance(e, loopkit.ValidationError) for e in errors)
    assert [e.path for e in errors] == ["items[1][0]", "items[2][1]", "items[3]", "items[5]"]
    assert [a.response_id for a in answers] == [
        feed[0][0].id,
        "",
        feed[2][0].id,
        "",
        feed[3][0].id,
        "",
    ]
    assert "a dict" in str(errors[0]) and "It took too long" not in str(errors[0])
    with loop.store.transaction() as tx:
        assert {r.response_id for r in tx.ingests()} == {feed[0][0].id, feed[3][0].id}


# -- replays and duplicates ------------------------------------------------------------


def test_replaying_a_batch_is_idempotent() -> None:
    feed = sample_feed(300)
    clock = FakeClock()
    loop = loopkit.Loop(PLAYBOOK, clock=clock)
    first = loop.ingest_many(feed, batch_size=64)
    before = state(loop)
    clock.advance(days=1)
    again = loop.ingest_many(feed, batch_size=64)
    assert state(loop) == before
    assert all(item.unwrap().replayed for item in again)
    assert [a.unwrap().outcome for a in again] == [f.unwrap().outcome for f in first]
    assert [a.unwrap().case is None for a in again] == [f.unwrap().case is None for f in first]
    assert {a.unwrap().case.id for a in again if a.unwrap().case} == {c.id for c in loop.cases()}


def test_the_same_id_twice_in_one_batch_is_a_replay_then_a_conflict() -> None:
    customer = make_customer("c-1")
    low = make_response(1, id="r-1", customer_id="c-1")
    other = make_response(2, id="r-1", customer_id="c-1")
    plugin = Customers(customer)
    feed: Feed = [(low, customer), (low, customer), (low, None), (other, None), (other, customer)]
    loop = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    items = loop.ingest_many(feed)
    reference = loopkit.Loop(PLAYBOOK, plugins=[Customers(customer)], clock=FakeClock())
    same(items, one_by_one(reference, feed))
    assert [i.result.replayed if i.result else "conflict" for i in items] == [
        False,
        True,
        True,
        "conflict",
        "conflict",
    ]
    assert plugin.asked == []  # the repeats are replays: no plugin is asked
    assert state(loop) == state(reference)


def test_a_repeat_of_an_id_whose_first_item_failed_is_ingested_like_the_next_call() -> None:
    known = make_customer("c-known")
    plugin = Customers(known)
    feed: Feed = [
        (make_response(1, id="r-1", customer_id="c-gone"), None),  # unknown customer
        (make_response(1, id="r-1", customer_id="c-known"), None),  # same id, now fine
        (make_response(1, id="r-2", customer_id="c-known", kind="purchase"), known),
    ]
    loop = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    items = loop.ingest_many(feed)
    reference = loopkit.Loop(PLAYBOOK, plugins=[Customers(known)], clock=FakeClock())
    same(items, one_by_one(reference, feed))
    assert state(loop) == state(reference)


# -- SQLite, notifications ---------------------------------------------------------------


def test_batches_on_sqlite_survive_reopening(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    feed = sample_feed(250)
    with loopkit.SQLiteStore(db) as store:
        loop = loopkit.Loop(PLAYBOOK, store=store, clock=FakeClock())
        items = loop.ingest_many(feed, batch_size=100)
        assert all(item.ok for item in items)
        written = state(loop)
    with loopkit.SQLiteStore(db) as store:
        reopened = loopkit.Loop(PLAYBOOK, store=store, clock=FakeClock())
        assert state(reopened) == written
        again = reopened.ingest_many(feed, batch_size=100)
        assert all(item.unwrap().replayed for item in again)
        assert state(reopened) == written
    reference = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    one_by_one(reference, feed)
    assert written == state(reference)


def test_each_opened_case_is_notified_once_after_its_batch_is_committed(tmp_path: Path) -> None:
    seen = OpenedCases()
    with loopkit.SQLiteStore(tmp_path / "loop.db") as store:
        loop = loopkit.Loop(PLAYBOOK, plugins=[seen], store=store, clock=FakeClock())
        seen.loop = loop
        feed = sample_feed(120)
        items = loop.ingest_many(feed, batch_size=50)
        opened = [i.unwrap().case for i in items if i.unwrap().outcome is IngestOutcome.OPENED]
        assert seen.cases == [c.id for c in opened if c is not None]
        assert len(seen.cases) == len(set(seen.cases)) > 5
        assert all(seen.committed) and len(seen.committed) == len(seen.cases)
        loop.ingest_many(feed, batch_size=50)  # replays notify nothing
        assert len(seen.cases) == len(opened)


# -- the property ---------------------------------------------------------------------------

_CUSTOMERS = [make_customer(f"c-{i}", segment=s) for i, s in enumerate(["gold", None, None])]


@st.composite
def feeds(draw: st.DrawFn) -> Feed:
    """Short feeds over few ids and customers, so repeats, conflicts,
    attachments and unknown customers all happen."""
    start = FakeClock().now()
    out: Feed = []
    for n in range(draw(st.integers(0, 25))):
        customer = draw(st.sampled_from(_CUSTOMERS))
        at = start + timedelta(minutes=draw(st.integers(0, 600)))
        response = make_response(
            draw(st.integers(0, 10)),
            id=f"r-{draw(st.integers(0, 12))}",
            customer_id=draw(st.sampled_from([customer.id, "c-unknown"])),
            answered_at=at,
            touchpoint=make_touchpoint(
                draw(st.sampled_from(TOUCHPOINT_KINDS)), id=f"t-{n}", occurred_at=at
            ),
            comment=draw(st.sampled_from([None, "Slow."])),
        )
        given = draw(st.sampled_from([customer, None]))
        out.append((response, given if response.customer_id == customer.id else None))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed=feeds(), batch_size=st.integers(1, 8))
def test_ingest_many_does_what_repeated_ingest_does(feed: Feed, batch_size: int) -> None:
    single = loopkit.Loop(PLAYBOOK, plugins=[Customers(*_CUSTOMERS)], clock=FakeClock())
    batched = loopkit.Loop(PLAYBOOK, plugins=[Customers(*_CUSTOMERS)], clock=FakeClock())
    same(batched.ingest_many(feed, batch_size=batch_size), one_by_one(single, feed))
    assert state(batched) == state(single)
