"""The embedded SQLite store passes the store contract, in a file and in memory,
keeps what it was given across closing and reopening, and runs the whole loop."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

import loopkit
from loopkit import ConflictError, SQLiteStore, ValidationError
from loopkit.stores import IngestOutcome, IngestRecord, LaterTimer, Store, Timer, TimerKind
from loopkit.stores.sqlite import SCHEMA_VERSION
from loopkit.testing import (
    FakeClock,
    RecordingChannel,
    StoreContract,
    make_customer,
    make_response,
    make_touchpoint,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


class TestSQLiteStoreInAFile(StoreContract):
    @pytest.fixture(autouse=True)
    def _where(self, tmp_path: Path) -> None:
        self.db = tmp_path / "loop.db"

    def make_store(self) -> Store:
        return SQLiteStore(self.db)


class TestSQLiteStoreInAFileSyncedAtCheckpoints(StoreContract):
    @pytest.fixture(autouse=True)
    def _where(self, tmp_path: Path) -> None:
        self.db = tmp_path / "loop.db"

    def make_store(self) -> Store:
        return SQLiteStore(self.db, synchronous="normal")


class TestSQLiteStoreInMemory(StoreContract):
    def make_store(self) -> Store:
        return SQLiteStore(":memory:")


def _case(id: str = "case-1", topic: str = "t") -> loopkit.FollowUpCase:
    return loopkit.FollowUpCase.open(id=id, customer_id="c-1", at=T0, by="system", topic=topic)


# -- the store on its own ---------------------------------------------------------


def test_it_is_a_store_and_is_exported() -> None:
    store = SQLiteStore()
    try:
        assert isinstance(store, loopkit.Store)
        with store.transaction() as tx:
            assert isinstance(tx, loopkit.stores.StoreTransaction)
    finally:
        store.close()
    assert loopkit.SQLiteStore is loopkit.stores.SQLiteStore
    assert "SQLiteStore" in loopkit.__all__


def test_what_was_committed_survives_closing_and_reopening(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    record = IngestRecord(
        response=make_response(comment="Nobody called me back."),
        outcome=IngestOutcome.OPENED,
        case_id="case-1",
        policy="p",
        reason="matched p",
        ingested_at=T0,
    )
    timer = Timer(
        id="case-1",
        case_id="case-1",
        kind=TimerKind.WARNING,
        due_at=T0,
        later=(LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2)),),
    )
    with SQLiteStore(db) as store, store.transaction() as tx:
        tx.save_case(_case())
        tx.add_ingest(record)
        tx.add_timer(timer)
        tx.set_survey_stop("c-1", "case-1")
        tx.add_survey_invitation("c-1", FRIDAY)
        assert tx.next_number("case") == 1
    with SQLiteStore(str(db)) as store, store.transaction() as tx:
        assert tx.get_case("case-1") == _case()
        assert tx.get_ingest("r-1") == record
        assert tx.get_ingest("r-1").response.comment == "Nobody called me back."  # type: ignore[union-attr]
        assert list(tx.timers("case-1")) == [timer]
        assert tx.survey_stop("c-1") == "case-1"
        assert list(tx.survey_invitations("c-1")) == [FRIDAY]
        assert tx.next_number("case") == 2


def test_a_timer_file_written_with_unnamed_later_rows_still_reads(tmp_path: Path) -> None:
    """Databases written before later timers had names hold ``[kind, due_at,
    level, to]`` rows: they read as LaterTimer values, and tick can walk them."""
    db = tmp_path / "loop.db"
    with SQLiteStore(db) as store, store.transaction() as tx:
        tx.add_timer(Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0))
    old_json = (
        '{"id": "case-1", "case_id": "case-1", "kind": "warning",'
        ' "due_at": "2026-11-20T14:30:00+00:00", "level": 0, "to": null,'
        ' "later": [["breach", "2026-11-20T16:30:00+00:00", 0, null],'
        ' ["escalation", "2026-11-20T18:30:00+00:00", 1, "team:leads"]]}'
    )
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE timers SET data = ? WHERE id = 'case-1'", (old_json,))
    conn.close()
    with SQLiteStore(db) as store, store.transaction() as tx:
        (timer,) = tx.timers("case-1")
    assert timer.later == (
        LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2)),
        LaterTimer(
            kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=4), level=1, to="team:leads"
        ),
    )
    following = timer.following()
    assert following is not None
    assert (following.kind, following.due_at) == (TimerKind.BREACH, T0 + timedelta(hours=2))


def test_a_case_changed_by_another_store_on_the_file_is_read_afresh(tmp_path: Path) -> None:
    """Rows this store wrote are not decoded again, but a row another process
    changed is (the store remembers values by their exact JSON text)."""
    db = tmp_path / "loop.db"
    with SQLiteStore(db) as mine, SQLiteStore(db) as theirs:
        with mine.transaction() as tx:
            tx.save_case(_case())
        with mine.transaction() as tx:
            assert tx.get_case("case-1") == _case()
        started = _case().start(at=T0, by="emp")
        with theirs.transaction() as tx:
            tx.save_case(started)
        with mine.transaction() as tx:
            assert tx.get_case("case-1") == started
            assert tx.find_unclosed_case("c-1", "t") == started


def test_a_failed_transaction_leaves_nothing_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    with SQLiteStore(db) as store, pytest.raises(ZeroDivisionError), store.transaction() as tx:
        tx.save_case(_case())
        assert tx.next_number("case") == 1
        1 / 0  # noqa: B018
    with SQLiteStore(db) as store, store.transaction() as tx:
        assert tx.cases() == []
        assert tx.next_number("case") == 1
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM cases").fetchone()
    assert rows == (0,)


def test_a_transaction_inside_another_is_part_of_it() -> None:
    with SQLiteStore() as store:
        with pytest.raises(ZeroDivisionError), store.transaction() as outer:
            outer.save_case(_case())
            with store.transaction() as inner:
                inner.save_case(_case("case-2", topic="u"))
            1 / 0  # noqa: B018
        with store.transaction() as tx:
            assert tx.cases() == []
        with store.transaction() as outer:
            with store.transaction() as inner:
                inner.save_case(_case())
            assert outer.get_case("case-1") == _case()
        with store.transaction() as tx:
            assert [c.id for c in tx.cases()] == ["case-1"]


def test_a_conflict_rolls_back_the_whole_transaction() -> None:
    record = IngestRecord(
        response=make_response(),
        outcome=IngestOutcome.NO_FOLLOW_UP,
        case_id=None,
        policy=None,
        reason="no policy matched",
        ingested_at=T0,
    )
    with SQLiteStore() as store:
        with store.transaction() as tx:
            tx.add_ingest(record)
        with pytest.raises(ConflictError, match="r-1"), store.transaction() as tx:
            tx.save_case(_case())
            tx.add_ingest(record)
        with store.transaction() as tx:
            assert tx.get_case("case-1") is None
            assert list(tx.ingests()) == [record]


def test_a_transaction_object_cannot_be_used_after_its_block() -> None:
    with SQLiteStore() as store:
        with store.transaction() as tx:
            pass
        with pytest.raises(RuntimeError, match="ended"):
            tx.save_case(_case())


def test_a_closed_store_says_so() -> None:
    store = SQLiteStore()
    store.close()
    store.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        store.transaction().__enter__()


def test_due_times_are_ordered_by_instant_across_offsets() -> None:
    # 10:30 in Stockholm (09:30 UTC) comes before 10:00 in London (10:00 UTC).
    stockholm = Timer(
        id="a",
        case_id="case-1",
        kind=TimerKind.BREACH,
        due_at=datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM),
    )
    london = Timer(
        id="b",
        case_id="case-2",
        kind=TimerKind.BREACH,
        due_at=datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/London")),
    )
    with SQLiteStore() as store:
        with store.transaction() as tx:
            tx.add_timer(london)
            tx.add_timer(stockholm)
        with store.transaction() as tx:
            due = tx.due_timers(datetime(2026, 11, 23, 9, 45, tzinfo=UTC), 10)
            assert [t.id for t in due] == ["a"]
            due = tx.due_timers(datetime(2026, 11, 23, 12, tzinfo=UTC), 10)
            assert [t.id for t in due] == ["a", "b"]


def test_concurrent_writers_never_share_a_sequence_number(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    SQLiteStore(db).close()
    numbers: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with SQLiteStore(db) as store:
                for _ in range(25):
                    with store.transaction() as tx:
                        numbers.append(tx.next_number("case"))
        except BaseException as err:  # pragma: no cover - reported below
            failures.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(numbers) == list(range(1, 101))


def test_one_store_can_be_shared_by_threads() -> None:
    with SQLiteStore() as store:

        def worker(n: int) -> None:
            for i in range(20):
                with store.transaction() as tx:
                    tx.save_case(_case(f"case-{n}-{i}", topic=f"t-{n}-{i}"))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with store.transaction() as tx:
            assert len(tx.cases()) == 80


# -- schema versions and foreign files --------------------------------------------


def test_a_commit_waits_for_the_disk_unless_asked_not_to(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "safe.db") as safe:
        assert safe._connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert repr(safe) == f"SQLiteStore({str(tmp_path / 'safe.db')!r})"
    with SQLiteStore(tmp_path / "fast.db", synchronous="normal") as fast:
        conn = fast._connection()
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert repr(fast).endswith(", synchronous='normal')")
    with pytest.raises(
        ValidationError, match="synchronous: expected 'full' or 'normal', got 'off'"
    ):
        SQLiteStore(tmp_path / "x.db", synchronous="off")  # type: ignore[arg-type]
    assert not (tmp_path / "x.db").exists()


def test_a_new_file_gets_the_current_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    SQLiteStore(db).close()
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION


def test_a_file_from_a_newer_loopkit_is_refused_by_name(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(ValidationError) as info:
        SQLiteStore(db)
    assert info.value.source == str(db)
    assert str(db) in str(info.value)
    assert "newer loopkit" in str(info.value)
    assert isinstance(info.value, loopkit.LoopkitError)


def test_a_file_that_is_not_a_database_is_refused_by_name(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("Remember to call Anna back. " * 100)
    with pytest.raises(ValidationError) as info:
        SQLiteStore(db)
    assert str(db) in str(info.value)
    assert "Anna" not in str(info.value)


def test_another_applications_tables_are_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE cases (id INTEGER PRIMARY KEY, title TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(ValidationError, match="loopkit"):
        SQLiteStore(db)


# -- the whole loop on SQLite ----------------------------------------------------


def _feed() -> list[tuple[loopkit.Response, loopkit.Customer]]:
    out = []
    for i, (score, kind) in enumerate(
        [(1, "support_contact"), (2, "purchase"), (9, "support_contact"), (3, "cancellation")]
    ):
        at = FRIDAY + timedelta(minutes=5 * i)
        customer = make_customer(f"c-{i}")
        response = make_response(
            score,
            id=f"r-{i}",
            customer_id=customer.id,
            scale=loopkit.NPS,
            answered_at=at,
            touchpoint=make_touchpoint(kind, id=f"t-{i}", occurred_at=at - timedelta(minutes=30)),
            comment="It took too long." if i % 2 else None,
        )
        out.append((response, customer))
    return out


def _loop(db: Path, clock: FakeClock, channel: RecordingChannel) -> loopkit.Loop:
    channels = loopkit.ChannelPlugin({"phone": channel, "email": channel})
    return loopkit.Loop(
        loopkit.load_playbook(EXAMPLE), plugins=[channels], store=SQLiteStore(db), clock=clock
    )


def test_the_whole_loop_runs_on_sqlite_and_reopens_the_same(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    clock = FakeClock(FRIDAY)
    channel = RecordingChannel()
    loop = _loop(db, clock, channel)
    results = [loop.ingest(r, customer=c) for r, c in _feed()]
    assert [r.outcome.value for r in results] == ["opened", "opened", "no_follow_up", "opened"]
    clock.jump(datetime(2026, 11, 23, 16, 0, tzinfo=STOCKHOLM))
    report = loop.tick()
    assert report.sent == 3 and report.warnings + report.breaches > 0
    cases, messages = list(loop.cases()), list(loop.messages())
    loop.store.close()

    again = _loop(db, clock, RecordingChannel())
    assert list(again.cases()) == cases
    assert list(again.messages()) == messages
    assert all(m.status is loopkit.MessageStatus.SENT for m in messages)
    assert again.tick() == loopkit.TickReport()  # nothing left to do right now
    again.store.close()


def test_replaying_the_feed_on_a_reopened_file_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    clock = FakeClock(FRIDAY)
    loop = _loop(db, clock, RecordingChannel())
    first = [loop.ingest(r, customer=c) for r, c in _feed()]
    cases = list(loop.cases())
    loop.store.close()

    clock.advance(hours=1)
    again = _loop(db, clock, RecordingChannel())
    replayed = [again.ingest(r, customer=c) for r, c in _feed()]
    assert all(r.replayed for r in replayed)
    assert [(r.outcome, r.policy) for r in replayed] == [(r.outcome, r.policy) for r in first]
    assert [r.case for r in replayed] == [r.case for r in first]
    assert list(again.cases()) == cases
    with again.store.transaction() as tx:
        assert len(tx.ingests()) == 4
    changed = attrs.evolve(_feed()[0][0], score=2)
    with pytest.raises(ConflictError):
        again.ingest(changed, customer=_feed()[0][1])
    again.store.close()


def test_a_broken_promise_survives_reopening(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    clock = FakeClock(FRIDAY)
    loop = _loop(db, clock, RecordingChannel())
    response, customer = _feed()[0]
    case = loop.ingest(response, customer=customer).case
    assert case is not None
    loop.record_contact(case.id, "reached", by="emp-7")
    promise = loop.promise(case.id, "call_back", due_at=FRIDAY + timedelta(hours=1), by="emp-7")
    loop.store.close()

    clock.advance(hours=2)
    again = _loop(db, clock, RecordingChannel())
    assert again.tick().broken_promises == 1
    [kept] = again.promises(case.id)
    assert kept.id == promise.id and kept.status is loopkit.PromiseStatus.BROKEN
    again.store.close()
