"""The store contract on a batch in one transaction, as ``Loop.ingest_many``
drives it: ``stored_ingests`` and the optional ``begin_batch`` first, then a
savepoint per item. A store that keeps writes or look-ups in memory for speed
(SQLite does) must still answer every read as if each write had gone to disk."""

from __future__ import annotations

import pytest

from loopkit.errors import ConflictError
from loopkit.stores import Store, StoreTransaction, Timer, TimerKind

from ._store_samples import T0, _Boom, _case, _ingest, _message


def _begin(tx: StoreTransaction, keys: list[str], customers: list[str]) -> set[str]:
    prepare = getattr(tx, "begin_batch", None)
    if prepare is not None:
        prepare(keys, customers)
    return set(tx.stored_ingests(keys))


class BatchContract:
    """Inside one transaction, a failing savepoint undoes its own writes and
    look-ups only; a key written earlier in the transaction is a conflict."""

    def test_a_failing_item_undoes_its_writes_and_lookups_only(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.save_case(_case(id="old", customer_id="c-2"))
            tx.set_recovery_watch("c-2", "old")
        with store.transaction() as tx:
            assert _begin(tx, ["r-1", "r-2"], ["c-1", "c-2"]) == set()
            first = tx.next_number("case")
            with tx.savepoint():  # a good item
                tx.add_ingest(_ingest("r-1"))
                tx.save_case(_case())
                tx.add_timer(Timer(id="k", case_id="case-1", kind=TimerKind.BREACH, due_at=T0))
                tx.set_survey_stop("c-1", "case-1")
            with pytest.raises(_Boom), tx.savepoint():  # a failing one
                tx.add_ingest(_ingest("r-2", customer_id="c-2"))
                tx.next_number("case")
                old = _case(id="old", customer_id="c-2")
                tx.save_case(old.fail(at=T0, by="emp").close(at=T0, by="emp"))
                assert tx.find_unclosed_case("c-2", "t") is None
                tx.save_case(_case(id="new", customer_id="c-2", topic="u"))
                tx.save_message(_message("m-1", T0, case_id="new"))
                tx.clear_recovery_watch("c-2")
                tx.set_survey_stop("c-2", "new")
                raise _Boom
            again = tx.next_number("case")  # given back (SQLite) or skipped (memory)
            assert again in (first + 1, first + 2)
            assert tx.find_unclosed_case("c-2", "t") == _case(id="old", customer_id="c-2")
            assert tx.find_unclosed_case("c-2", "u") is None
            assert tx.find_unclosed_case("c-1", "t") == _case()
            assert tx.recovery_watch("c-2") == "old"
            assert tx.survey_stop("c-2") is None
            assert tx.survey_stop("c-1") == "case-1"
            assert tx.get_message("m-1") is None
            assert [t.id for t in tx.timers("case-1")] == ["k"]
            assert tx.get_ingest("r-2") is None
            tx.add_ingest(_ingest("r-2", customer_id="c-2"))  # free again
        with store.transaction() as tx:
            assert {r.key for r in tx.ingests()} == {"r-1", "r-2"}
            assert {c.id for c in tx.cases()} == {"old", "case-1"}
            assert tx.survey_stop("c-1") == "case-1"
            assert tx.next_number("case") == again + 1

    def test_a_key_written_earlier_in_the_batch_is_a_conflict(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.add_ingest(_ingest("r-0"))
        with store.transaction() as tx:
            assert _begin(tx, ["r-0", "r-1"], ["c-1"]) == {"r-0"}
            with pytest.raises(ConflictError), tx.savepoint():
                tx.add_ingest(_ingest("r-0"))
            with tx.savepoint():
                tx.add_ingest(_ingest("r-1"))
            with pytest.raises(ConflictError), tx.savepoint():
                tx.add_ingest(_ingest("r-1"))
            with pytest.raises(ConflictError):  # a key never looked up
                tx.add_ingest(_ingest("r-0"))
            assert {r.key for r in tx.ingests("c-1")} == {"r-0", "r-1"}

    def test_nested_savepoints_undo_the_inner_block_only(self, store: Store) -> None:
        with store.transaction() as tx:
            _begin(tx, ["r-1", "r-2"], ["c-1"])
            with tx.savepoint():
                tx.add_ingest(_ingest("r-1"))
                tx.set_survey_stop("c-1", "a")
                with pytest.raises(_Boom), tx.savepoint():
                    tx.add_ingest(_ingest("r-2"))
                    tx.get_case("case-1")  # a read in the middle
                    tx.set_survey_stop("c-1", "b")
                    raise _Boom
                assert tx.survey_stop("c-1") == "a"
            assert tx.get_ingest("r-1") is not None
            assert tx.get_ingest("r-2") is None
        with store.transaction() as tx:
            assert [r.key for r in tx.ingests()] == ["r-1"]
            assert tx.survey_stop("c-1") == "a"

    def test_closing_the_open_case_is_seen_by_the_next_lookup(self, store: Store) -> None:
        earlier = _case(id="a", at=T0.replace(year=2025))
        with store.transaction() as tx:
            tx.save_case(earlier.fail(at=T0, by="emp").close(at=T0, by="emp"))
        with store.transaction() as tx:
            _begin(tx, ["r-1"], ["c-1"])
            tx.save_case(_case(id="b"))
            assert tx.find_unclosed_case("c-1", "t") == _case(id="b")
            tx.save_case(_case(id="b").fail(at=T0, by="emp").close(at=T0, by="emp"))
            assert tx.find_unclosed_case("c-1", "t") is None
            tx.save_case(_case(id="c"))
            assert tx.find_unclosed_case("c-1", "t") == _case(id="c")
