"""The PostgreSQL store's compensation ledger (schema version 2), mixed into
its transaction.

Entries are rows in the order they were added (``seq``), each with its JSON;
``ledger_totals`` keeps each budget period's running ``used`` and
``reserved`` as exact ``NUMERIC``, changed in the caller's transaction by
``INSERT … ON CONFLICT DO UPDATE SET used = used + EXCLUDED.used`` (an
increment, never a value computed from an earlier read); ``ledger_open`` holds
the reservations not yet settled.

Why two workers cannot overspend a budget: the engine's grant reads
:meth:`budget_use` and then writes, in one transaction. At ``READ COMMITTED``
a plain read would let two workers both see the same room left. So
:meth:`budget_use` locks the budget period's totals row with ``SELECT … FOR
UPDATE`` (inserting a zero row first when the period has none, so there is a
row to lock): a second worker's grant on that budget waits at its read until
the first commits, and then reads the totals the first wrote (each statement
of a ``READ COMMITTED`` transaction sees what committed before it). We chose a
row lock over ``SERIALIZABLE``: it serialises only the grants on one budget
period, never fails a transaction that can wait, and leaves the store's other
transactions at ``READ COMMITTED``. The lock is held until the transaction
ends, so a transaction that only reads a budget (``loop.compensation.budget``)
briefly waits for a grant on it, too.

Likewise, reading the entries of one key (:meth:`ledger_entries` with
``key``) first locks the key's open reservation row, if it has one, then
takes a transaction-level advisory lock on the key (schema and key hashed to
64 bits): two grants with one key, or an approval, a rejection and an expiry
of one request, take turns, and the later one reads the earlier one's entries
(a replay, or a refusal) instead of writing a second grant or settling a
request twice. An expiry takes the row first too (:meth:`open_reservations`
with ``due_by``, ``FOR UPDATE SKIP LOCKED``), so the two never wait for each
other in opposite orders. A lock the engine takes in another order (a case
row, a budget period) may still make PostgreSQL detect a deadlock: one
transaction is then rolled back with :class:`~loopkit.ConcurrentWriteError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg

from loopkit._input.instants import instant_key
from loopkit.compensation import EntryKind, LedgerEntry, budget_effect
from loopkit.errors import ConflictError

_0 = Decimal(0)
_US = timedelta(microseconds=1)


class PostgresLedger:
    """The ledger part of :class:`PostgresTransaction` (see the store protocol)."""

    __slots__ = ()

    _cursor: psycopg.Cursor[Any]
    _sql: dict[str, bytes]

    if TYPE_CHECKING:  # PostgresTransaction's

        def _send_all(self) -> None: ...

    def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        if not entries:
            return
        ids = [entry.id for entry in entries]
        cursor = self._cursor
        stored = {row[0] for row in cursor.execute(self._sql["ledger_ids"], (ids,))}
        seen: set[str] = set()
        for entry in entries:
            if entry.id in stored or entry.id in seen:
                raise ConflictError(
                    f"ledger entry {entry.id!r} is already stored; the ledger is never "
                    "edited: expected a new entry id",
                    key=entry.id,
                    kind="ledger entry",
                )
            seen.add(entry.id)
        # A worker that adds one of these ids meanwhile makes the INSERT fail
        # with a unique violation: a ConcurrentWriteError, the whole
        # transaction rolled back.
        self._send_all()
        rows = []
        totals: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
        last: dict[str, LedgerEntry] = {}  # key: its latest entry here
        texts: dict[str, str] = {}
        for entry in entries:
            text = json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))
            texts[entry.id] = text
            rows.append((entry.id, entry.key, entry.case_id, entry.customer_id, text))
            effect = budget_effect(entry)
            if effect is not None:
                assert entry.budget is not None and entry.period_start is not None
                slot = (entry.budget, _us(entry.period_start))
                used, reserved = totals.get(slot, (_0, _0))
                totals[slot] = (used + effect[0], reserved + effect[1])
            last[entry.key] = entry
        cursor.executemany(self._sql["add_ledger_entry"], rows)
        # sorted: two transactions lock the totals rows they change in one order
        for (budget, period), (used, reserved) in sorted(totals.items()):
            cursor.execute(self._sql["add_to_totals"], (budget, period, used, reserved))
        opened, settled = [], []
        for key, entry in sorted(last.items()):
            if entry.kind is EntryKind.RESERVATION:
                assert entry.expires_at is not None
                opened.append((key, _us(entry.expires_at), texts[entry.id]))
            else:
                settled.append((key,))
        if opened:
            cursor.executemany(self._sql["open_reservation"], opened)
        if settled:
            cursor.executemany(self._sql["settle_reservation"], settled)

    def ledger_entries(
        self,
        *,
        key: str | None = None,
        case_id: str | None = None,
        customer_id: str | None = None,
    ) -> Sequence[LedgerEntry]:
        cursor = self._cursor
        if key is not None:  # one transaction at a time (see the module's text)
            locked = f"{self._sql['schema'].decode()}.ledger:{key}"
            cursor.execute(self._sql["lock_ledger_key"], (key, locked))
        # only the filters given, so that PostgreSQL uses their index
        given = [
            (column, value)
            for column, value in (
                (b"key", key),
                (b"case_id", case_id),
                (b"customer_id", customer_id),
            )
            if value is not None
        ]
        where = b" AND ".join(column + b" = %s" for column, _ in given) or b"TRUE"
        query = (
            b"SELECT data FROM "
            + self._sql["schema"]
            + b".ledger_entries WHERE "
            + where
            + b" ORDER BY seq"
        )
        rows = cursor.execute(query, tuple(value for _, value in given)).fetchall()
        return [LedgerEntry.from_dict(json.loads(row[0])) for row in rows]

    def budget_use(self, budget: str, period_start: datetime) -> tuple[Decimal, Decimal]:
        # Locked until the transaction ends: see the module's text.
        slot = (budget, _us(period_start))
        cursor = self._cursor
        row = cursor.execute(self._sql["lock_totals"], slot).fetchone()
        if row is None:
            self._send_all()
            cursor.execute(self._sql["zero_totals"], slot)
            row = cursor.execute(self._sql["lock_totals"], slot).fetchone()
            assert row is not None
        return Decimal(row[0]), Decimal(row[1])

    def open_reservations(
        self, due_by: datetime | None = None, limit: int | None = None
    ) -> Sequence[LedgerEntry]:
        if due_by is None:
            rows = self._cursor.execute(self._sql["open_reservations"], (limit,)).fetchall()
        else:
            rows = self._cursor.execute(
                self._sql["due_reservations"], (_us(due_by), limit)
            ).fetchall()
        return [LedgerEntry.from_dict(json.loads(row[0])) for row in rows]


def _us(at: datetime) -> int:
    return instant_key(at) // _US  # type: ignore[operator]
