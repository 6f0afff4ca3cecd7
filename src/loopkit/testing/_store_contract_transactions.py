"""The store contract on transactions, savepoints and sequences: what a block
that raises leaves behind, and what it does not."""

from __future__ import annotations

import attrs
import pytest

from loopkit.model import MessageStatus
from loopkit.stores import Store, Timer, TimerKind

from ._store_samples import T0, _Boom, _case, _ingest, _message


class TransactionContract:
    """Transactions are atomic, savepoints undo their own writes, sequences never reuse a number."""

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
