"""The embedded SQLite store: loopkit's state in one file, with nothing to install.

Every value is kept as the JSON of its ``to_dict()`` and read back with
``from_dict()``; what queries filter or sort on (ids, customer, case, status,
due times) sits beside it in indexed columns. Times in those columns are
integer microseconds since the Unix epoch in UTC, so rows sort by the instant
they name whatever offset they were written with.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Literal

from loopkit.errors import ValidationError, describe

from ._sqlite_batch import _Batch
from ._sqlite_codec import _Decoded
from ._sqlite_codec import _us as _us

# The layout's names, importable from here as before (the tests build files of
# older layouts with them, the benchmarks write rows the store's way).
from ._sqlite_schema import _MIGRATIONS as _MIGRATIONS
from ._sqlite_schema import _SCHEMA as _SCHEMA
from ._sqlite_schema import _SYNCHRONOUS, _open_schema, _patiently
from ._sqlite_schema import APPLICATION_ID as APPLICATION_ID
from ._sqlite_schema import SCHEMA_VERSION as SCHEMA_VERSION
from ._sqlite_transaction import _ENDED, SQLiteTransaction

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]


class SQLiteStore:
    """Keeps the loop's state in an SQLite database file (stdlib ``sqlite3`` only).

    ``path`` is a file (created with its schema if new) or ``":memory:"``.
    Opening upgrades an older layout in one transaction (``opened_at_version``
    says which version the file had, 0 for a new one; :data:`SCHEMA_VERSION`
    is the one it has now); a file written by a newer loopkit is refused with
    a :class:`~loopkit.ValidationError`.
    Each ``with store.transaction() as tx:`` block is one SQLite transaction,
    begun with ``BEGIN IMMEDIATE``: it takes the database's write lock at once,
    so transactions of several processes on one file run one after the other
    (a process waits up to ``timeout`` seconds for the lock). A block that
    raises is rolled back completely; a transaction opened inside another is
    part of the outer one.

    ``synchronous`` chooses how hard a commit waits for the disk (SQLite's
    ``PRAGMA synchronous``), and so what a crash can take back:

    - ``"full"`` (the default): a commit returns only after the write-ahead
      log is synced to disk. A committed transaction survives a killed
      process, an operating-system crash and a power cut.
    - ``"normal"``: the log is synced only when it is checkpointed into the
      database, not at each commit, which makes a commit several times
      cheaper. A committed transaction still survives a killed process (the
      operating system has the data), and the file is never corrupted, but
      an operating-system crash or a power cut may roll back the last
      transactions before the crash. Choose it when the feed can be ingested
      again after such a crash (ingesting is idempotent by response id), or
      for files you can rebuild. ``":memory:"`` databases ignore it.

    One store holds one connection. It may be shared by the threads of one
    process: the connection is opened with ``check_same_thread=False`` and a
    lock lets one thread at a time run a transaction (the others wait), which
    is what makes sharing it safe. For parallel work, give each worker process
    its own store on the same file.

    >>> store = SQLiteStore(":memory:")
    >>> with store.transaction() as tx:
    ...     tx.next_number("case"), tx.next_number("case")
    (1, 2)
    >>> store.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        timeout: float = 30.0,
        synchronous: Literal["full", "normal"] = "full",
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise ValidationError(
                "synchronous", "'full' or 'normal'", describe(synchronous), source=os.fspath(path)
            )
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._depth = 0
        self._decoded = _Decoded()
        self._batch: _Batch | None = None  # the open transaction's (see _sqlite_batch)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self.opened_at_version = _patiently(
                lambda: _open_schema(self._connection(), self.path, synchronous), timeout
            )
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        if self.synchronous == "full":
            return f"SQLiteStore({self.path!r})"
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is closed")
        return self._conn

    def transaction(self) -> _Transaction:
        """One SQLite transaction (``BEGIN IMMEDIATE``); a block that raises is
        rolled back completely. A transaction opened inside another is part of
        the outer one."""
        return _Transaction(self)

    def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class _Transaction:
    """The context manager :meth:`SQLiteStore.transaction` returns."""

    __slots__ = ("_outermost", "_store", "_tx")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._outermost = False
        self._tx: SQLiteTransaction | None = None

    def __enter__(self) -> SQLiteTransaction:
        store = self._store
        store._lock.acquire()
        try:
            conn = store._connection()
            if store._depth == 0:
                _patiently(lambda: conn.execute("BEGIN IMMEDIATE"), store.timeout)
                self._outermost = True
                store._batch = _Batch(conn)
            store._depth += 1
        except BaseException:
            store._lock.release()
            raise
        assert store._batch is not None
        self._tx = SQLiteTransaction(store._batch, store._decoded)
        return self._tx

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        store = self._store
        try:
            store._depth -= 1
            if self._tx is not None:
                self._tx._conn = self._tx._batch = _ENDED
            if self._outermost:
                conn = store._connection()
                batch, store._batch = store._batch, None
                if kind is None:
                    try:
                        if batch is not None:
                            batch.flush_all()  # the rows still waiting
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                    if store._decoded.erased:
                        # Erased content must not survive in the write-ahead
                        # log: copy it into the file and empty the log.
                        store._decoded.erased = False
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                elif conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            store._lock.release()
