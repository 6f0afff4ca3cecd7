"""The store contract on promises: pending ones come due, settled ones do not."""

from __future__ import annotations

from datetime import timedelta

import attrs

from loopkit.model import Promise, PromiseStatus
from loopkit.stores import Store

from ._store_samples import T0


class PromiseContract:
    """Pending promises come due; settled ones are kept but never due."""

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
