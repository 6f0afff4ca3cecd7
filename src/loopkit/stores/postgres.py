"""The PostgreSQL store: loopkit's state on a database server, for many workers at once.

Install it with ``pip install 'loopkit[postgres]'`` (psycopg 3). The layout
follows the SQLite store's: every value is the JSON of its ``to_dict()``,
beside indexed columns for what queries filter and sort on; times are integer
microseconds since the epoch in UTC.

Several processes (on several machines) may ingest and tick against one
database at once. Due work is taken with ``SELECT … FOR UPDATE SKIP LOCKED``,
so two workers never take the same timer, promise or message; a response is
stored once by its primary key, and one customer has at most one open case per
topic by a partial unique index. When two workers write the same rows at the
same moment, one transaction is rolled back with
:class:`~loopkit.ConcurrentWriteError`, which the loop's ingest retries.
"""

from __future__ import annotations

import threading
from typing import Any

try:
    import psycopg
    from psycopg import sql
except ImportError as err:  # pragma: no cover - shown to a host without the extra
    raise ImportError(
        "the PostgreSQL store needs psycopg 3: pip install 'loopkit[postgres]'"
    ) from err

from loopkit.errors import ValidationError, describe

from ._postgres_connect import connect, parse_dsn, translate, where
from ._postgres_known import Cases
from ._postgres_schema import SCHEMA_VERSION, open_schema
from ._postgres_statements import statements
from ._postgres_transaction import PostgresTransaction

__all__ = ["SCHEMA_VERSION", "PostgresStore"]


class PostgresStore:
    """Keeps the loop's state in a PostgreSQL database (psycopg 3).

    ``target`` is one of:

    - a DSN, ``"postgresql://user@host:5432/dbname"`` or ``"host=… dbname=…"``:
      the store opens its own connection (and closes it in :meth:`close`), and
      opens a new one when the server closed it (a transaction that was
      running then fails with :class:`~loopkit.StoreConnectionError`);
    - a ``psycopg.Connection``: the store uses it, and leaves closing it to you;
    - a ``psycopg_pool.ConnectionPool`` (anything with ``getconn`` and
      ``putconn``): each transaction takes a connection from the pool and gives
      it back, so the threads of one process run transactions in parallel.

    Everything lives in the PostgreSQL schema ``schema`` (created if missing),
    so one database can hold several loops. Opening creates the tables, or
    upgrades an older layout, in one transaction; a layout newer than this
    loopkit is refused with a :class:`~loopkit.ValidationError`, a server that
    cannot be reached with a :class:`~loopkit.StoreConnectionError` (whose
    message never holds the password).

    Each ``with store.transaction() as tx:`` block is one PostgreSQL transaction
    (``READ COMMITTED``; rows read by id to be changed are locked with
    ``FOR UPDATE``). Its writes are sent in batches: at the end of the block,
    or before a query that must see them. A transaction opened inside another
    is part of the outer one. With one connection, the store may be shared by
    the threads of a process: a lock lets one thread at a time run a
    transaction.

    Erasing personal data rewrites rows; PostgreSQL keeps the old row
    versions as dead tuples until ``VACUUM`` (or autovacuum) reclaims them
    (see docs/howto-erase-or-export-a-customers-data.md).

    For example (with a server at hand)::

        store = PostgresStore("postgresql://loopkit@localhost/loopkit")
        with store.transaction() as tx:
            tx.next_number("case")  # 1 on a new database
    """

    def __init__(
        self, target: object, *, schema: str = "loopkit", connect_timeout: float = 10.0
    ) -> None:
        if not isinstance(schema, str) or not schema or len(schema) > 63:
            raise ValidationError(
                "schema", "a PostgreSQL schema name (1 to 63 characters)", describe(schema)
            )
        self.schema = schema
        self._owned: psycopg.Connection[Any] | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._pool: Any = None
        self._lock = threading.RLock()
        self._local = threading.local()
        self._dsn: str | None = None  # kept to reconnect; never shown (it may hold a password)
        self._timeout = connect_timeout
        if isinstance(target, str):
            self._info = parse_dsn(target)
            self._conn = self._owned = connect(target, self._info, connect_timeout)
            self._dsn = target
        elif isinstance(target, psycopg.Connection):
            self._conn = target
            self._info = _info_of(target)
        elif hasattr(target, "getconn") and hasattr(target, "putconn"):
            self._pool = target
            self._info = {}
        else:
            raise ValidationError(
                "target",
                "a DSN, a psycopg.Connection or a psycopg_pool.ConnectionPool",
                f"a {type(target).__name__}",
            )
        try:
            conn = self._take()
            try:
                if self._pool is not None:
                    self._info = _info_of(conn)
                self.opened_at_version = open_schema(conn, schema, repr(self))
                quoted = sql.Identifier(schema).as_string(conn)
            finally:
                self._give(conn)
        except psycopg.Error as err:
            self.close()
            raise translate(err, self._info) from None
        except BaseException:
            self.close()
            raise
        self._sql = statements(quoted)
        self._numbers: dict[str, list[int]] = {}  # taken from the sequences, not handed out
        self._cases = Cases()

    _BLOCK = 32
    """Numbers taken from a sequence at a time: one round trip per 32 cases or
    messages. The numbers a process had not handed out when it ends are
    skipped (the protocol allows gaps, never reuse)."""

    def take_number(self, sequence: str, cursor: psycopg.Cursor[Any]) -> int:
        """The next number of one of the engine's sequences, from a block this
        store took from its PostgreSQL sequence (which never waits on another
        transaction and never hands a number out twice)."""
        with self._lock:
            block = self._numbers.get(sequence)
            if not block:
                rows = cursor.execute(
                    b"SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                    (f"{self._sql['schema'].decode()}.seq_{sequence}", self._BLOCK),
                ).fetchall()
                block = self._numbers[sequence] = sorted((int(r[0]) for r in rows), reverse=True)
            return block.pop()

    def __repr__(self) -> str:
        return f"PostgresStore({where(self._info)!r}, schema={self.schema!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self) -> psycopg.Connection[Any]:
        if self._pool is not None:
            return self._pool.getconn()  # type: ignore[no-any-return]
        if self._conn is None:
            raise RuntimeError(f"{self!r} is closed")
        if self._owned is not None and self._owned.broken and self._dsn is not None:
            # the server went away (or restarted) since: a new connection
            self._owned.close()
            self._conn = self._owned = connect(self._dsn, self._info, self._timeout)
        return self._conn

    def _give(self, conn: psycopg.Connection[Any]) -> None:
        if self._pool is not None:
            self._pool.putconn(conn)

    def transaction(self) -> _Transaction:
        """One PostgreSQL transaction; a block that raises is rolled back
        completely. A transaction opened inside another is part of the outer one."""
        return _Transaction(self)

    def close(self) -> None:
        """Close the connection the store opened (a second call does nothing);
        a connection or pool you gave it stays open."""
        with self._lock:
            if self._owned is not None:
                self._owned.close()
                self._owned = None
            self._conn = None


def _info_of(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    info = conn.info
    return {"host": info.host, "port": info.port, "dbname": info.dbname, "user": info.user}


class _Transaction:
    """The context manager :meth:`PostgresStore.transaction` returns."""

    __slots__ = ("_conn", "_outer", "_store", "_tx")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: psycopg.Connection[Any] | None = None
        self._outer: Any = None
        self._tx: PostgresTransaction | None = None

    def __enter__(self) -> PostgresTransaction:
        store = self._store
        local = store._local
        current: PostgresTransaction | None = getattr(local, "tx", None)
        if current is not None:  # part of the outer transaction
            local.depth += 1
            return current
        if store._pool is None:
            store._lock.acquire()
        try:
            conn = store._take()
            try:
                self._outer = conn.transaction()
                self._outer.__enter__()
            except BaseException:
                store._give(conn)
                raise
        except psycopg.Error as err:
            if store._pool is None:
                store._lock.release()
            raise translate(err, store._info) from None
        except BaseException:
            if store._pool is None:
                store._lock.release()
            raise
        self._conn = conn
        self._tx = PostgresTransaction(conn.cursor(), store._sql, store)
        local.tx, local.depth = self._tx, 1
        return self._tx

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        store = self._store
        local = store._local
        if self._tx is None:  # an inner block: the outer one ends the transaction
            local.depth -= 1
            return
        local.tx = None
        assert self._conn is not None
        failed: BaseException | None = None  # what ending the transaction raised
        try:
            if kind is None:
                try:
                    self._tx.flush()
                except BaseException as err:
                    failed = err
                    kind, error, trace = type(err), err, err.__traceback__
            try:
                self._outer.__exit__(kind, error, trace)
            except BaseException as err:  # the commit (or the rollback) failed
                failed = failed or err
        finally:
            self._tx._cursor = _ENDED
            store._give(self._conn)
            if store._pool is None:
                store._lock.release()
        raised = failed or error
        if isinstance(raised, psycopg.Error):
            raise translate(raised, store._info) from None
        if failed is not None:
            raise failed


class _Ended:
    """Stands in for the cursor once a transaction block has ended."""

    def execute(self, *args: object, **kwargs: object) -> Any:
        raise RuntimeError("PostgresStore: this transaction has ended; open a new one")

    executemany = execute


_ENDED: Any = _Ended()
