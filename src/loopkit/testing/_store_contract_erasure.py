"""The store contract on erasure: an ingest record replaced by its erased
copy, and the record of each erasure."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from loopkit.errors import ConflictError
from loopkit.model import Erasure, erased_response
from loopkit.stores import IngestOutcome, IngestRecord, Store

from ._store_samples import T0
from .builders import make_response


def _record(comment: str | None) -> IngestRecord:
    return IngestRecord(
        response=make_response(2, id="r-1", comment=comment),
        outcome=IngestOutcome.NO_FOLLOW_UP,
        case_id=None,
        policy=None,
        reason="no policy matched",
        ingested_at=T0,
    )


class ErasureContract:
    """Erased ingest records replace the stored ones; erasures are recorded in order."""

    def test_an_ingest_record_is_replaced_by_its_erased_copy(self, store: Store) -> None:
        record = _record("a comment with personal data")
        assert record.response is not None
        erased = attrs.evolve(record, response=erased_response(record.response))
        with store.transaction() as tx:
            tx.add_ingest(record)
        with store.transaction() as tx:
            tx.erase_ingest(erased)
        with store.transaction() as tx:
            assert tx.get_ingest("r-1") == erased
            assert list(tx.ingests("c-1")) == [erased]

    def test_erasing_an_ingest_never_stored_is_refused(self, store: Store) -> None:
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.erase_ingest(_record(None))
        with store.transaction() as tx:
            assert tx.get_ingest("r-1") is None

    def test_erasures_are_kept_in_the_order_recorded(self, store: Store) -> None:
        first = Erasure(customer_id="c-2", at=T0 + timedelta(days=1), by="dpo", reason="request")
        second = Erasure(
            customer_id="c-1", at=T0, by="loopkit", reason="retention", case_ids=("case-1",)
        )
        with store.transaction() as tx:
            assert list(tx.erasures()) == []
            tx.add_erasure(first)
            tx.add_erasure(second)
        with store.transaction() as tx:
            assert list(tx.erasures()) == [first, second]
            assert list(tx.erasures("c-1")) == [second]
            assert list(tx.erasures("c-3")) == []

    def test_an_erasure_rolled_back_is_not_recorded(self, store: Store) -> None:
        erasure = Erasure(customer_id="c-1", at=T0, by="dpo", reason="request")
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.add_erasure(erasure)
            raise RuntimeError("the block failed")
        with store.transaction() as tx:
            assert list(tx.erasures()) == []
