"""The store contract on ingest records: responses and touchpoint signals,
each stored once under its key."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from loopkit.errors import ConflictError
from loopkit.stores import Store, signal_key

from ._store_samples import T0, _Boom, _ingest, _signal


class IngestContract:
    """Ingest records (responses and signals) round-trip, are listed in order, are
    never stored twice."""

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

    def test_which_keys_are_stored_is_one_look_up(self, store: Store) -> None:
        keys = [f"r-{n}" for n in range(1200)]  # more than one chunk of a backend's IN (...)
        with store.transaction() as tx:
            for key in keys[::7]:
                tx.add_ingest(_ingest(key))
            tx.add_ingest(_signal("t-1"))
        with store.transaction() as tx:
            asked = [*keys, signal_key("t-1"), "r-unknown"]
            assert set(tx.stored_ingests(asked)) == {*keys[::7], signal_key("t-1")}
            assert set(tx.stored_ingests([])) == set()

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
