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

import pytest

from loopkit.stores import Store

from ._store_contract_batch import BatchContract
from ._store_contract_cases import CaseContract
from ._store_contract_customers import CustomerContract
from ._store_contract_erasure import ErasureContract
from ._store_contract_ingests import IngestContract
from ._store_contract_ledger import LedgerContract
from ._store_contract_messages import MessageContract
from ._store_contract_outcomes import OutcomeContract
from ._store_contract_promises import PromiseContract
from ._store_contract_timers import TimerContract
from ._store_contract_transactions import TransactionContract

__all__ = ["StoreContract"]


class StoreContract(
    TransactionContract,
    IngestContract,
    CaseContract,
    TimerContract,
    MessageContract,
    PromiseContract,
    CustomerContract,
    ErasureContract,
    LedgerContract,
    OutcomeContract,
    BatchContract,
):
    """The behaviour loopkit's engine relies on from a store: every test of the
    contracts it is made of, each run on a fresh store from :meth:`make_store`."""

    def make_store(self) -> Store:
        raise NotImplementedError("subclass StoreContract and return a fresh, empty store")

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()
