"""The writes of one PostgreSQL transaction that are not sent yet, and its savepoints.

A write is kept in a journal and sent when the transaction commits, or before
a query that must see it, with one ``executemany`` per run of the same
statement on a table (psycopg sends such a run in one pipeline: one round trip
for the whole batch, not one per row). Tables have no foreign keys, so runs of
different tables may go in any order; the writes to one table keep theirs.

Savepoints cost nothing until they must: a savepoint is a mark in the journal,
and a block that fails drops what it wrote after its mark. Only when writes
are sent while a savepoint is open does it become a real ``SAVEPOINT`` on the
server (sent just before the writes that followed its mark).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import psycopg

Replay = Callable[["Write"], None]


class Write(NamedTuple):
    """One write: its statement (a key of the store's statements), the table it
    writes, its parameters, and what readers of this transaction see meanwhile
    (``view``: the name of an overlay and the key and value it holds)."""

    statement: str
    table: str
    params: tuple[Any, ...]
    view: str | None = None
    key: Any = None
    value: Any = None


class _Mark:
    __slots__ = ("at", "name", "real")

    def __init__(self, at: int, name: str) -> None:
        self.at = at  # journal position when the savepoint began
        self.name = name
        self.real = False  # sent to the server as a SAVEPOINT


class Journal:
    """The unsent writes of one transaction and its open savepoints."""

    __slots__ = ("_marks", "_sent", "_sql", "views", "writes")

    def __init__(self, statements: dict[str, bytes]) -> None:
        self._sql = statements
        self.writes: list[Write] = []
        self._sent = 0  # writes before this position are on the server
        self._marks: list[_Mark] = []
        self.views: dict[str, dict[Any, Any]] = {}

    @property
    def pending(self) -> bool:
        """Whether some writes are not sent yet."""
        return self._sent < len(self.writes)

    def add(self, write: Write) -> None:
        self.writes.append(write)
        if write.view is not None:
            self.views.setdefault(write.view, {})[write.key] = write.value

    def seen(self, view: str, key: Any, missing: Any = None) -> Any:
        """What this transaction wrote and has not sent under ``key``, if anything."""
        found = self.views.get(view)
        return missing if found is None else found.get(key, missing)

    # sending -------------------------------------------------------------------

    def send(self, cursor: psycopg.Cursor[Any], sent: Callable[[Write], None]) -> None:
        """Send every write not sent yet, opening on the server, in order, the
        savepoints that are still marks; ``sent`` is told of each write."""
        for mark in self._marks:
            if not mark.real:
                self._send(cursor, self._sent, mark.at, sent)
                cursor.execute(f"SAVEPOINT {mark.name}".encode())
                mark.real = True
        self._send(cursor, self._sent, len(self.writes), sent)
        self.views.clear()

    def _send(
        self, cursor: psycopg.Cursor[Any], start: int, end: int, sent: Callable[[Write], None]
    ) -> None:
        runs: list[tuple[str, list[tuple[Any, ...]]]] = []
        last: dict[str, tuple[str, list[tuple[Any, ...]]]] = {}  # table: its latest run
        for write in self.writes[start:end]:
            run = last.get(write.table)
            if run is None or run[0] != write.statement:
                run = (write.statement, [])
                runs.append(run)
                last[write.table] = run
            run[1].append(write.params)
            sent(write)
        for statement, rows in runs:
            if len(rows) == 1:
                cursor.execute(self._sql[statement], rows[0])
            else:
                cursor.executemany(self._sql[statement], rows)
        self._sent = max(self._sent, end)

    # savepoints ----------------------------------------------------------------

    def begin(self) -> None:
        self._marks.append(_Mark(len(self.writes), f"loopkit_{len(self._marks)}"))

    def end(self, cursor: psycopg.Cursor[Any], failed: bool) -> bool:
        """End the innermost savepoint: keep its writes, or drop them when
        ``failed``. Returns whether the server rolled back to it (what this
        transaction read since may then be stale)."""
        mark = self._marks.pop()
        if not failed:
            if mark.real:
                cursor.execute(f"RELEASE SAVEPOINT {mark.name}".encode())
            return False
        if mark.real:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {mark.name}".encode())
            cursor.execute(f"RELEASE SAVEPOINT {mark.name}".encode())
        del self.writes[mark.at :]
        self._sent = min(self._sent, mark.at)
        self.views.clear()
        for write in self.writes[self._sent :]:
            if write.view is not None:
                self.views.setdefault(write.view, {})[write.key] = write.value
        return mark.real


DELETED: Final[Any] = object()
"""An overlay's value for a row this transaction deleted."""
