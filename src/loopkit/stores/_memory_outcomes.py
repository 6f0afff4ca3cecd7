"""The in-memory store's outcome tables: systemic issues and the re-survey's
bookkeeping (each customer's closed case waiting for their next answer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from loopkit._input.instants import instant_key
from loopkit.outcomes import SystemicIssue

from ._memory_undo import _MISSING, _UndoLog


class _OutcomeTables(_UndoLog):
    """Mixed into :class:`~loopkit.stores.MemoryStore`; its writes go through
    the undo log like every other table's."""

    _issues: dict[str, SystemicIssue]
    _watches: dict[str, str]

    def get_issue(self, cause: str) -> SystemicIssue | None:
        return self._issues.get(cause)

    def save_issue(self, issue: SystemicIssue) -> None:
        self._set(self._issues, issue.cause, issue)

    def issues(self) -> Sequence[SystemicIssue]:
        def order(issue: SystemicIssue) -> tuple[bool, timedelta, str]:
            key = instant_key(issue.first_seen)
            return key is not None, key or timedelta(0), issue.cause

        return sorted(self._issues.values(), key=order)

    def set_recovery_watch(self, customer_id: str, case_id: str) -> None:
        self._set(self._watches, customer_id, case_id)

    def recovery_watch(self, customer_id: str) -> str | None:
        return self._watches.get(customer_id)

    def clear_recovery_watch(self, customer_id: str) -> None:
        if customer_id in self._watches:
            self._set(self._watches, customer_id, _MISSING)
