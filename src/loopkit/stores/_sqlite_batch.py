"""The SQLite transaction's batch-shaped writes: rows written but not read back
in the same transaction wait in memory and go to the file with one
``executemany`` per table, and a savepoint is begun only when a statement must
really run inside it.

Measured (``benchmarks/bench_sqlite.py`` and ``set_trace_callback``, the
example feed, batches of 500): ``Loop.ingest_many`` ran 8.96 SQL statements per
response before (a savepoint and its release, one ``INSERT`` per row, two
sequence ``UPSERT``\\ s per opened case, a survey-stop, recovery-watch and
open-case read per item); now 0.03 calls into ``sqlite3`` per response (3.6
rows written, against 2.6 for the raw baseline), and 2.2-2.4x the raw
baseline's time instead of 3.6-3.9x at 5,000 responses, interleaved on a busy
machine; see docs/performance.md.

How it stays correct:

- every statement that does run goes through :meth:`_Batch.execute`, which
  first writes the waiting rows of each table the statement names (so a read
  sees them, and writes keep their order);
- a savepoint (:class:`_Savepoint`) only marks where the waiting rows and the
  cached values stood. If the block writes nothing the file must hold at
  once, ending it costs no statement: a failing block drops the rows it left
  waiting and undoes its changes to the cached values. When a statement must
  run inside it, the rows from before the mark are written first, then
  ``SAVEPOINT``, so ``ROLLBACK TO`` undoes the block's rows only;
- the values cached for the batch (open cases, survey stops, recovery watches
  of the customers named to :meth:`_Batch.prepare`, the next sequence numbers,
  the response ids known not to be stored) are changed by this transaction's
  own writes, and no other connection can write while it holds the write lock
  (``BEGIN IMMEDIATE``). A value not cached is read from the file as before.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final

from loopkit.model import CaseState, FollowUpCase

from ._sqlite_codec import _us

DEFERRED: Final = (
    "ingests",
    "cases",
    "timers",
    "messages",
    "customers",
    "survey_stops",
    "recovery_watches",
)
"""The tables whose writes may wait until a statement needs them."""

_NAMES: Final = re.compile(r"\b(" + "|".join(DEFERRED) + r")\b")
_CHUNK: Final = 500
MISSING: Final[Any] = object()
"""A cached value not known: read it from the file."""


class _Mark:
    """Where a savepoint began: the waiting rows per table, the undo log's length."""

    __slots__ = ("issued", "rows", "undo")

    def __init__(self, rows: dict[str, int], undo: int) -> None:
        self.rows = rows
        self.undo = undo
        self.issued = False


class _Batch:
    """The batch state of one outermost SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.waiting: dict[str, list[tuple[str, tuple[Any, ...]]]] = {t: [] for t in DEFERRED}
        self.marks: list[_Mark] = []
        self.undo: list[tuple[dict[Any, Any], Any, Any]] = []
        self.tables: dict[str, tuple[str, ...]] = {}
        self.absent: dict[str, None] = {}  # response ids known not stored
        self.covered: set[str] = set()  # customers whose rows below are cached
        self.stops: dict[str, str | None] = {}
        self.watches: dict[str, str | None] = {}
        # a case's text until it is looked up (most never are: decoding every
        # open case of a batch's customers cost 29% of ingest_many at --n 20000)
        self.unclosed: dict[tuple[str, str], FollowUpCase | str | None] = {}
        self.read: Callable[[str], FollowUpCase] = FollowUpCase.from_dict
        self.cases: dict[str, FollowUpCase | str] = {}  # read or written here, by id
        self.numbers: dict[str, int] = {}

    # -- statements ----------------------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run ``sql`` now, after the waiting rows of the tables it names (and
        after beginning the savepoints a write must be inside)."""
        tables = self.tables.get(sql)
        if tables is None:
            tables = self.tables[sql] = tuple(set(_NAMES.findall(sql)))
        writes = not sql.lstrip().upper().startswith("SELECT")
        if writes or any(self.waiting[t] for t in tables):
            self.issue()
            for table in tables:
                self.flush(table)
        return self.conn.execute(sql, args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        self.issue()
        for table in self.tables.setdefault(sql, tuple(set(_NAMES.findall(sql)))):
            self.flush(table)
        return self.conn.executemany(sql, rows)

    def defer(self, table: str, sql: str, args: tuple[Any, ...]) -> None:
        """Write a row of ``table`` later, in order with its other writes."""
        self.waiting[table].append((sql, args))

    def flush(self, table: str) -> None:
        """Write ``table``'s waiting rows (all marks are issued, or none waits
        from before one)."""
        rows = self.waiting[table]
        if rows:
            self._write(rows)
            rows.clear()
            for mark in self.marks:
                mark.rows[table] = 0

    def flush_all(self) -> None:
        """Write every waiting row, and the last number of each sequence
        counted (:meth:`SQLiteTransaction.next_number` reads a sequence once
        per transaction, then counts here)."""
        self.issue()
        for table in DEFERRED:
            self.flush(table)
        if self.numbers:
            self.conn.executemany(
                "INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)",
                list(self.numbers.items()),
            )

    def _write(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        for sql, same in itertools.groupby(rows, key=lambda row: row[0]):
            self.conn.executemany(sql, [args for _, args in same])

    # -- savepoints ----------------------------------------------------------------

    def enter(self) -> None:
        rows = {t: len(r) for t, r in self.waiting.items() if r}
        self.marks.append(_Mark(rows, len(self.undo)))

    def issue(self) -> None:
        """Begin the savepoints not begun yet, each after the rows from before it."""
        for index, mark in enumerate(self.marks):
            if mark.issued:
                continue
            for table, count in mark.rows.items():
                if count:
                    rows = self.waiting[table]
                    self._write(rows[:count])
                    del rows[:count]
                    for later in self.marks[index:]:
                        later.rows[table] = later.rows.get(table, 0) - count
            self.conn.execute("SAVEPOINT loopkit_item")
            mark.issued = True

    def leave(self, failed: bool) -> None:
        mark = self.marks.pop()
        if failed:
            for table, rows in self.waiting.items():
                del rows[mark.rows.get(table, 0) :]
            undo = self.undo
            while len(undo) > mark.undo:
                values, key, old = undo.pop()
                if old is MISSING:
                    values.pop(key, None)
                else:
                    values[key] = old
            if mark.issued:
                self.conn.execute("ROLLBACK TO loopkit_item")
        if mark.issued:
            self.conn.execute("RELEASE loopkit_item")
        if not self.marks:
            self.undo.clear()

    def set(self, values: dict[Any, Any], key: Any, value: Any) -> None:
        """``values[key] = value``, undone if the savepoint around it fails."""
        if self.marks:
            self.undo.append((values, key, values.get(key, MISSING)))
        values[key] = value

    def forget(self, values: dict[Any, Any], key: Any) -> None:
        """``del values[key]``, undone if the savepoint around it fails."""
        old = values.pop(key, MISSING)
        if self.marks and old is not MISSING:
            self.undo.append((values, key, old))

    # -- what the batch reads once -------------------------------------------------

    def prepare(self, customer_ids: Sequence[str], read: Callable[[str], FollowUpCase]) -> None:
        """Read the open cases, survey stops and recovery watches of
        ``customer_ids`` in one query per table (``read`` decodes a case's
        text). Only outside savepoints: what it reads stays true until this
        transaction writes, and its writes keep it true."""
        if self.marks:
            return
        self.read = read
        ids = [c for c in dict.fromkeys(customer_ids) if c not in self.covered]
        for start in range(0, len(ids), _CHUNK):
            chunk = tuple(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for table, values in (("survey_stops", self.stops), ("recovery_watches", self.watches)):
                values.update(dict.fromkeys(chunk))
                for customer, case_id in self.execute(
                    f"SELECT customer_id, case_id FROM {table} WHERE customer_id IN ({marks})",
                    chunk,
                ):
                    values[customer] = str(case_id)
            for case_id, customer, topic, text in self.execute(
                f"SELECT id, customer_id, topic, data FROM cases WHERE customer_id IN ({marks})"
                " AND state <> 'closed' ORDER BY opened_us, id",
                chunk,
            ).fetchall():
                self.cases[case_id] = text
                if topic is not None:  # the latest one wins
                    self.unclosed[(customer, topic)] = text
            self.covered.update(chunk)

    def unclosed_case(self, key: tuple[str, str]) -> FollowUpCase | None:
        """The cached open case of a covered customer and topic (``MISSING``
        when not known), decoded on first use."""
        known = self.unclosed.get(key)
        if isinstance(known, str):
            known = self.unclosed[key] = self.read(known)  # the same value, decoded
        return known

    def case(self, case_id: str) -> FollowUpCase | None:
        """The case saved or read in this transaction (``None`` when not known)."""
        known = self.cases.get(case_id)
        if isinstance(known, str):
            known = self.cases[case_id] = self.read(known)  # the same value, decoded
        return known

    def case_saved(self, case: FollowUpCase) -> None:
        """Keep the cached case and open case of ``case``'s customer and topic true."""
        self.set(self.cases, case.id, case)
        if case.customer_id not in self.covered or case.topic is None:
            return
        key = (case.customer_id, case.topic)
        known = self.unclosed_case(key)
        if known is MISSING:  # not known: stays so (read from the file)
            return
        if case.state is not CaseState.CLOSED:
            if known is None or known.id == case.id or _order(case) >= _order(known):
                self.set(self.unclosed, key, case)
        elif known is not None and known.id == case.id:
            # another, older open case might be next: not known without a read
            self.set(self.unclosed, key, MISSING)


def _order(case: FollowUpCase) -> tuple[int, str]:
    return _us(case.opened_at), case.id
