"""The SQLite store's outcome tables: systemic issues (``issues``) and the
re-survey's bookkeeping (``recovery_watches``), added by schema version 4."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from loopkit._input.instants import instant_key
from loopkit.outcomes import SystemicIssue

if TYPE_CHECKING:
    from ._sqlite_batch import _Batch

T = TypeVar("T")
_US = timedelta(microseconds=1)


class _OutcomeStatements:
    """Mixed into :class:`SQLiteTransaction` (parameters as ``?``, never formatted)."""

    __slots__ = ()

    _conn: _Batch
    _batch: _Batch

    if TYPE_CHECKING:  # SQLiteTransaction's

        def _one(self, sql: str, args: tuple[Any, ...], read: Callable[[Any], T]) -> T | None: ...
        def _all(self, sql: str, args: tuple[Any, ...], read: Callable[[Any], T]) -> list[T]: ...

    def get_issue(self, cause: str) -> SystemicIssue | None:
        return self._one(
            "SELECT data FROM issues WHERE cause = ?", (cause,), SystemicIssue.from_dict
        )

    def save_issue(self, issue: SystemicIssue) -> None:
        key = None if issue.first_seen is None else instant_key(issue.first_seen)
        first = None if key is None else key // _US
        text = json.dumps(issue.to_dict(), ensure_ascii=False, separators=(",", ":"))
        self._conn.execute(
            "INSERT OR REPLACE INTO issues (cause, first_us, data) VALUES (?, ?, ?)",
            (issue.cause, first, text),
        )

    def issues(self) -> Sequence[SystemicIssue]:
        return self._all(
            "SELECT data FROM issues ORDER BY first_us IS NOT NULL, first_us, cause",
            (),
            SystemicIssue.from_dict,
        )

    # recovery watches: written and read through the batch (see _sqlite_batch)
    def set_recovery_watch(self, customer_id: str, case_id: str) -> None:
        batch = self._batch
        batch.defer(
            "recovery_watches",
            "INSERT OR REPLACE INTO recovery_watches (customer_id, case_id) VALUES (?, ?)",
            (customer_id, case_id),
        )
        if customer_id in batch.covered:
            batch.set(batch.watches, customer_id, case_id)

    def recovery_watch(self, customer_id: str) -> str | None:
        if customer_id in self._batch.covered:
            return self._batch.watches[customer_id]
        row = self._conn.execute(
            "SELECT case_id FROM recovery_watches WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def clear_recovery_watch(self, customer_id: str) -> None:
        batch = self._batch
        batch.defer(
            "recovery_watches",
            "DELETE FROM recovery_watches WHERE customer_id = ?",
            (customer_id,),
        )
        if customer_id in batch.covered:
            batch.set(batch.watches, customer_id, None)
