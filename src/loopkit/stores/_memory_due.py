"""What comes due next in the in-memory store: a heap per table of timers,
pending messages and promises, and when each row of them is due."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from loopkit._input.instants import instant_key
from loopkit.model import Promise, PromiseStatus

from ._memory_rows import _NEXT_ATTEMPT, _NOT_BEFORE, _TimerRow


def _timer_due(row: _TimerRow) -> timedelta:
    return instant_key(row[2])  # type: ignore[return-value]


def _message_due(row: tuple[Any, ...]) -> timedelta:
    return instant_key(row[_NEXT_ATTEMPT] or row[_NOT_BEFORE])  # type: ignore[return-value]


def _promise_due(promise: Promise) -> timedelta | None:
    pending = promise.status is PromiseStatus.PENDING
    return instant_key(promise.due_at) if pending else None


class _DueQueue:
    """What comes due in one table, as a heap of ``(instant, id)``.

    A write only notes the id; the heap is brought up to date when it is read,
    so ingesting stays cheap and a tick costs O(log n) per item instead of a
    sort of the whole table. An entry whose item was deleted, done or
    rescheduled since is stale: it is dropped when it surfaces.
    """

    __slots__ = ("_due_of", "_heap", "_noted", "_table")

    def __init__(self, table: Mapping[str, Any], due_of: Callable[[Any], timedelta | None]) -> None:
        self._table = table
        self._due_of = due_of
        self._heap: list[tuple[timedelta, str]] = []
        self._noted: list[str] = []

    def note(self, item_id: str) -> None:
        self._noted.append(item_id)

    def rebuild(self) -> None:
        """Start again from the table (after a failed transaction)."""
        self._noted.clear()
        self._heap[:] = [
            (key, i) for i, item in self._table.items() if (key := self._due_of(item)) is not None
        ]
        heapq.heapify(self._heap)

    def take(
        self, now: datetime, limit: int, skip: Callable[[str], bool] | None = None
    ) -> list[str]:
        """The ids of up to ``limit`` items due by ``now``, earliest first, passing
        over those ``skip`` says to; they all stay queued until they are deleted
        or no longer due."""
        heap, table, due_of = self._heap, self._table, self._due_of
        for item_id in self._noted:
            item = table.get(item_id)
            if item is not None and (key := due_of(item)) is not None:
                heapq.heappush(heap, (key, item_id))
        self._noted.clear()
        until = instant_key(now)
        assert until is not None
        found: list[str] = []
        seen: set[str] = set()
        taken: list[tuple[timedelta, str]] = []
        while heap and len(found) < limit and heap[0][0] <= until:
            entry = heapq.heappop(heap)
            key, item_id = entry
            item = table.get(item_id)
            if item is None or due_of(item) != key or item_id in seen:
                continue
            seen.add(item_id)
            taken.append(entry)
            if skip is None or not skip(item_id):
                found.append(item_id)
        for entry in taken:
            heapq.heappush(heap, entry)
        return found
