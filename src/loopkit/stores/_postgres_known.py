"""What one PostgreSQL transaction has read (and holds locked), so that it
does not ask the server again: the records of a batch's keys, and its
customers' open cases.

Everything here is the server's state as this transaction sees it, its own
sent writes included: a write is added when it is sent (see
``PostgresTransaction.flush``). The transaction's unsent writes are in its
journal, which readers consult first. A rollback to a savepoint on the server
forgets everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from loopkit.model import FollowUpCase

from .records import IngestRecord


class Cases:
    """Cases this store wrote or read lately, by their JSON text: a row whose
    text is unchanged is the same value, so it is not decoded (and checked)
    again. Shared by a store's transactions; bounded; a text another worker
    wrote is simply not found."""

    __slots__ = ("_values",)

    _SIZE = 4096

    def __init__(self) -> None:
        self._values: dict[str, FollowUpCase] = {}

    def read(self, text: str) -> FollowUpCase:
        case = self._values.get(text)
        if case is None:
            case = FollowUpCase.from_dict(json.loads(text))
            self.keep(text, case)
        return case

    def keep(self, text: str, case: FollowUpCase) -> None:
        values = self._values
        if len(values) >= self._SIZE:  # drop the older half
            for key in list(values)[: self._SIZE // 2]:
                del values[key]
        values[text] = case


class Known:
    """Rows read in this transaction, by key."""

    __slots__ = (
        "_decoded",
        "_rows",
        "cases",
        "complete",
        "ingests",
        "stops",
        "unclosed",
        "watches",
    )

    def __init__(self, decoded: Cases) -> None:
        self._decoded = decoded
        self.ingests: dict[str, IngestRecord | None] = {}  # None: not stored
        self.cases: dict[str, FollowUpCase] = {}
        self._rows: dict[str, str] = {}  # read, not decoded yet: id -> JSON
        # the open case of each (customer, topic), for customers all of whose
        # open cases were read (``complete``)
        self.unclosed: dict[tuple[str, str], str] = {}
        self.complete: set[str] = set()
        self.stops: dict[str, str | None] = {}  # customer: survey stop (None: none)
        self.watches: dict[str, str | None] = {}  # customer: recovery watch (None: none)

    def clear(self) -> None:
        self.ingests.clear()
        self.cases.clear()
        self._rows.clear()
        self.unclosed.clear()
        self.complete.clear()
        self.stops.clear()
        self.watches.clear()

    def read_cases(self, rows: Iterable[tuple[Any, ...]], customers: list[str]) -> None:
        """Case rows read (and locked), ``(id, customer_id, topic, state, data)``:
        every open case of ``customers``, and others. A row is decoded when it
        is asked for (a batch reads many it never needs)."""
        self.complete.update(customers)
        for case_id, customer_id, topic, state, data in rows:
            if case_id in self.cases:
                continue
            self._rows[case_id] = data
            if topic is not None and state != "closed":
                self.unclosed[(customer_id, topic)] = case_id

    def case(self, case_id: str) -> FollowUpCase | None:
        """A case read in this transaction, if it was."""
        found = self.cases.get(case_id)
        if found is None:
            data = self._rows.pop(case_id, None)
            if data is not None:
                found = self.cases[case_id] = self._decoded.read(data)
        return found

    def case_written(self, case: FollowUpCase) -> None:
        """A case as the server now has it."""
        old = self.case(case.id)
        self.cases[case.id] = case
        if case.customer_id not in self.complete:
            return
        if old is not None and old.topic is not None:
            key = (old.customer_id, old.topic)
            if self.unclosed.get(key) == case.id:
                del self.unclosed[key]
        if case.topic is not None and not case.is_closed:
            self.unclosed[(case.customer_id, case.topic)] = case.id

    def unclosed_case(
        self, customer_id: str, topic: str, written: Mapping[str, FollowUpCase]
    ) -> FollowUpCase | bool | None:
        """The open case of a customer on a topic, ``None`` when there is none,
        or ``False`` when this was not read. ``written`` holds the unsent
        writes (consulted by the caller first): a case written since it was
        read here is no longer open on this topic."""
        if customer_id not in self.complete:
            return False
        case_id = self.unclosed.get((customer_id, topic))
        if case_id is None or case_id in written:
            return None
        return self.case(case_id)
