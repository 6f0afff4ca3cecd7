"""The in-memory store's transactions: each write to a table is logged with
the value it replaced, and a block that raises puts those values back."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .memory import MemoryStore

_MISSING: Final = object()


class _UndoLog:
    """How :class:`MemoryStore` writes: every write to a table is logged with
    the value it replaced, so that :class:`_Transaction` and :class:`_Savepoint`
    can put those values back when their block raises."""

    _undo: list[tuple[MutableMapping[Any, Any], Any, Any]] | None
    _savepoints: int  # while > 0, index writes are logged too
    _sequences: dict[str, int]

    def _set(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        undo = self._undo
        if undo is None:
            raise RuntimeError("MemoryStore: writes need a transaction")
        undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

    def _index(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        """Write to an index or a sequence: not logged, because a failed
        transaction rebuilds the indexes from the tables (``MemoryStore._reindex``)
        and a sequence may skip a number but never reuses one."""
        undo = self._undo
        if undo is None:
            raise RuntimeError("MemoryStore: writes need a transaction")
        if self._savepoints and table is not self._sequences:  # undone without a reindex
            undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

    def savepoint(self) -> _Savepoint:
        """A block whose writes (tables and indexes) are undone when it raises;
        only inside a transaction. Sequence numbers taken in it stay taken."""
        return _Savepoint(self)


class _Transaction:
    """The context manager :meth:`MemoryStore.transaction` returns: one per
    store, entered only by the thread holding the store's lock, which counts
    how deep it is nested and undoes the writes when the outermost block fails."""

    __slots__ = ("_depth", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._depth = 0

    def __enter__(self) -> MemoryStore:
        store = self._store
        store._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            store._undo = []
        return store

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        try:
            if kind is not None and self._depth == 1 and store._undo:
                for table, key, old in reversed(store._undo):
                    if old is _MISSING:
                        table.pop(key, None)
                    else:
                        table[key] = old
                store._reindex()
        finally:
            self._depth -= 1
            if self._depth == 0:
                store._undo = None
            store._lock.release()


class _Savepoint:
    """The context manager :meth:`MemoryStore.savepoint` returns: it marks the
    undo log, and when its block raises, undoes the writes logged since."""

    __slots__ = ("_mark", "_store")

    def __init__(self, store: _UndoLog) -> None:
        self._store = store
        self._mark = 0

    def __enter__(self) -> None:
        store = self._store
        if store._undo is None:
            raise RuntimeError("MemoryStore: a savepoint needs a transaction")
        self._mark = len(store._undo)
        store._savepoints += 1

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        store._savepoints -= 1
        undo = store._undo
        if kind is not None and undo is not None and len(undo) > self._mark:
            for table, key, old in reversed(undo[self._mark :]):
                if old is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = old
            del undo[self._mark :]
