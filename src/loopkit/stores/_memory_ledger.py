"""The in-memory store's compensation ledger: entries in the order they were
added, indexes by key, case and customer, each budget period's running totals
and the reservations still open. Every write goes through the undo log, so a
transaction that raises leaves the ledger as it was."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from loopkit._input.instants import instant_key
from loopkit.compensation import EntryKind, LedgerEntry, budget_effect
from loopkit.errors import ConflictError

from ._memory_undo import _MISSING, _UndoLog

_0 = Decimal(0)


class _MemoryLedger(_UndoLog):
    """The ledger part of :class:`~loopkit.MemoryStore` (see the store protocol)."""

    def _init_ledger(self) -> None:
        self._ledger: dict[str, LedgerEntry] = {}
        # ("key" | "case" | "customer", value): entry ids in the order added
        self._ledger_by: dict[tuple[str, str], tuple[str, ...]] = {}
        self._ledger_totals: dict[tuple[str, datetime], tuple[Decimal, Decimal]] = {}
        self._ledger_open: dict[str, LedgerEntry] = {}  # key: its reservation

    def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        for entry in entries:
            if entry.id in self._ledger:
                raise ConflictError(
                    f"ledger entry {entry.id!r} is already stored; the ledger is never "
                    "edited: expected a new entry id",
                    key=entry.id,
                    kind="ledger entry",
                )
            self._set(self._ledger, entry.id, entry)
            for index in (
                ("key", entry.key),
                ("case", entry.case_id),
                ("customer", entry.customer_id),
            ):
                self._set(self._ledger_by, index, (*self._ledger_by.get(index, ()), entry.id))
            effect = budget_effect(entry)
            if effect is not None:
                assert entry.budget is not None and entry.period_start is not None
                slot = (entry.budget, entry.period_start.astimezone(UTC))
                used, reserved = self._ledger_totals.get(slot, (_0, _0))
                self._set(self._ledger_totals, slot, (used + effect[0], reserved + effect[1]))
            if entry.kind is EntryKind.RESERVATION:
                self._set(self._ledger_open, entry.key, entry)
            elif entry.key in self._ledger_open:
                self._set(self._ledger_open, entry.key, _MISSING)

    def ledger_entries(
        self,
        *,
        key: str | None = None,
        case_id: str | None = None,
        customer_id: str | None = None,
    ) -> Sequence[LedgerEntry]:
        filters = [
            (name, value)
            for name, value in (("key", key), ("case", case_id), ("customer", customer_id))
            if value is not None
        ]
        if not filters:
            return list(self._ledger.values())
        # the smallest index, then the other filters on its entries
        name, value = min(filters, key=lambda f: len(self._ledger_by.get(f, ())))
        found = (self._ledger[i] for i in self._ledger_by.get((name, value), ()))
        return [
            e
            for e in found
            if (key is None or e.key == key)
            and (case_id is None or e.case_id == case_id)
            and (customer_id is None or e.customer_id == customer_id)
        ]

    def budget_use(self, budget: str, period_start: datetime) -> tuple[Decimal, Decimal]:
        return self._ledger_totals.get((budget, period_start.astimezone(UTC)), (_0, _0))

    def open_reservations(
        self, due_by: datetime | None = None, limit: int | None = None
    ) -> Sequence[LedgerEntry]:
        due = None if due_by is None else instant_key(due_by)
        found = sorted(
            (
                entry
                for entry in self._ledger_open.values()
                if due is None or instant_key(entry.expires_at) <= due  # type: ignore[operator]
            ),
            key=lambda e: (instant_key(e.expires_at), e.key),
        )
        return found if limit is None else found[:limit]
