"""The PostgreSQL store's outcome tables (schema version 2): systemic issues
(``issues``) and the re-survey's bookkeeping (``recovery_watches``). Writes go
through the transaction's journal, read back from it until they are sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from loopkit._input.instants import instant_key
from loopkit.outcomes import SystemicIssue

from ._postgres_writes import DELETED, Write

if TYPE_CHECKING:
    from ._postgres_known import Known
    from ._postgres_writes import Journal

T = TypeVar("T")
_US: Final = timedelta(microseconds=1)


class PostgresOutcomes:
    """The outcomes part of :class:`PostgresTransaction` (see the store protocol)."""

    __slots__ = ()

    _journal: Journal
    _known: Known

    if TYPE_CHECKING:  # PostgresTransaction's

        def _get(self, name: str, args: Any) -> Any: ...
        def _all(self, name: str, args: Any, read: Callable[[Any], T]) -> list[T]: ...

    def get_issue(self, cause: str) -> SystemicIssue | None:
        seen = self._journal.seen("issues", cause)
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        data = self._get("get_issue", (cause,))
        return None if data is None else SystemicIssue.from_dict(json.loads(data))

    def save_issue(self, issue: SystemicIssue) -> None:
        key = instant_key(issue.first_seen)
        first = None if key is None else key // _US
        text = json.dumps(issue.to_dict(), ensure_ascii=False, separators=(",", ":"))
        self._journal.add(
            Write("save_issue", "issues", (issue.cause, first, text), "issues", issue.cause, issue)
        )

    def issues(self) -> Sequence[SystemicIssue]:
        return self._all("issues", (), SystemicIssue.from_dict)

    def set_recovery_watch(self, customer_id: str, case_id: str) -> None:
        self._journal.add(
            Write(
                "set_recovery_watch",
                "recovery_watches",
                (customer_id, case_id),
                "watches",
                customer_id,
                case_id,
            )
        )

    def recovery_watch(self, customer_id: str) -> str | None:
        seen = self._journal.seen("watches", customer_id)
        if seen is not None:
            return None if seen is DELETED else str(seen)
        if customer_id in self._known.watches:  # read for a batch (begin_batch)
            return self._known.watches[customer_id]
        data = self._get("recovery_watch", (customer_id,))
        return None if data is None else str(data)

    def clear_recovery_watch(self, customer_id: str) -> None:
        self._journal.add(
            Write(
                "clear_recovery_watch",
                "recovery_watches",
                (customer_id,),
                "watches",
                customer_id,
                DELETED,
            )
        )
