"""The in-memory store passes the store contract."""

from loopkit.stores import MemoryStore, Store
from loopkit.testing import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()
