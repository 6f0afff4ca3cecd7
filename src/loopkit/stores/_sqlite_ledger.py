"""The SQLite store's compensation ledger: its tables (schema version 5) and
the store-protocol operations on them, mixed into the SQLite transaction.

Entries are rows in the order they were added (``seq``), each with its JSON;
``ledger_totals`` keeps each budget period's running ``used`` and
``reserved`` as exact decimal text, and ``ledger_open`` the reservations not
yet settled. All three change in the caller's transaction, which began with
``BEGIN IMMEDIATE``: another process cannot write between a grant's check of
its budget and its write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from loopkit._input.instants import instant_key
from loopkit.compensation import EntryKind, LedgerEntry, budget_effect
from loopkit.errors import ConflictError

if TYPE_CHECKING:
    from ._sqlite_batch import _Batch

LEDGER_TABLES: Final = """
CREATE TABLE IF NOT EXISTS ledger_entries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    case_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_entries_by_key ON ledger_entries (key, seq);
CREATE INDEX IF NOT EXISTS ledger_entries_by_case ON ledger_entries (case_id, seq);
CREATE INDEX IF NOT EXISTS ledger_entries_by_customer ON ledger_entries (customer_id, seq);
CREATE TABLE IF NOT EXISTS ledger_totals (
    budget TEXT NOT NULL,
    period_us INTEGER NOT NULL,
    used TEXT NOT NULL,
    reserved TEXT NOT NULL,
    PRIMARY KEY (budget, period_us)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_open (
    key TEXT PRIMARY KEY,
    expires_us INTEGER NOT NULL,
    data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_open_by_expiry ON ledger_open (expires_us, key);
"""
"""Version 5 (compensation): the ledger, its budget totals and open reservations."""

LEDGER_TABLE_NAMES: Final = frozenset({"ledger_entries", "ledger_totals", "ledger_open"})

_US: Final = timedelta(microseconds=1)


def _us(at: datetime) -> int:
    return instant_key(at) // _US  # type: ignore[operator]


class _SQLiteLedger:
    """The ledger part of :class:`SQLiteTransaction` (see the store protocol)."""

    __slots__ = ()
    _conn: _Batch  # every statement through the batch (see _sqlite_batch)
    _all: Callable[..., list[Any]]

    def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        conn = self._conn
        for entry in entries:
            text = _encode(entry)
            try:
                conn.execute(
                    "INSERT INTO ledger_entries (id, key, case_id, customer_id, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (entry.id, entry.key, entry.case_id, entry.customer_id, text),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(
                    f"ledger entry {entry.id!r} is already stored; the ledger is never "
                    "edited: expected a new entry id",
                    key=entry.id,
                    kind="ledger entry",
                ) from None
            effect = budget_effect(entry)
            if effect is not None:
                assert entry.budget is not None and entry.period_start is not None
                slot = (entry.budget, _us(entry.period_start))
                used, reserved = self._use(*slot)
                conn.execute(
                    "INSERT OR REPLACE INTO ledger_totals (budget, period_us, used, reserved)"
                    " VALUES (?, ?, ?, ?)",
                    (*slot, str(used + effect[0]), str(reserved + effect[1])),
                )
            if entry.kind is EntryKind.RESERVATION:
                assert entry.expires_at is not None
                conn.execute(
                    "INSERT OR REPLACE INTO ledger_open (key, expires_us, data) VALUES (?, ?, ?)",
                    (entry.key, _us(entry.expires_at), text),
                )
            else:
                conn.execute("DELETE FROM ledger_open WHERE key = ?", (entry.key,))

    def ledger_entries(
        self,
        *,
        key: str | None = None,
        case_id: str | None = None,
        customer_id: str | None = None,
    ) -> Sequence[LedgerEntry]:
        # Only the filters given, so that SQLite uses their index ("?1 IS NULL OR
        # key = ?1" would scan the whole table).
        given = [
            (column, value)
            for column, value in (("key", key), ("case_id", case_id), ("customer_id", customer_id))
            if value is not None
        ]
        where = " AND ".join(f"{column} = ?" for column, _ in given) or "1"
        return self._all(
            f"SELECT data FROM ledger_entries WHERE {where} ORDER BY seq",
            tuple(value for _, value in given),
            _decode,
        )

    def _use(self, budget: str, period_us: int) -> tuple[Decimal, Decimal]:
        row = self._conn.execute(
            "SELECT used, reserved FROM ledger_totals WHERE budget = ? AND period_us = ?",
            (budget, period_us),
        ).fetchone()
        return (Decimal(0), Decimal(0)) if row is None else (Decimal(row[0]), Decimal(row[1]))

    def budget_use(self, budget: str, period_start: datetime) -> tuple[Decimal, Decimal]:
        return self._use(budget, _us(period_start))

    def open_reservations(
        self, due_by: datetime | None = None, limit: int | None = None
    ) -> Sequence[LedgerEntry]:
        args: tuple[int, ...] = ()
        if due_by is None:
            sql = "SELECT data FROM ledger_open"
        else:
            sql, args = "SELECT data FROM ledger_open WHERE expires_us <= ?", (_us(due_by),)
        return self._all(
            sql + " ORDER BY expires_us, key LIMIT ?",
            (*args, -1 if limit is None else limit),
            _decode,
        )


def _encode(entry: LedgerEntry) -> str:
    return json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))


def _decode(data: Any) -> LedgerEntry:
    return LedgerEntry.from_dict(data)
