"""What a store's open cases need from a playbook: how many unclosed cases
each ``(policy, topic)`` has, per backend. A :class:`~loopkit.Loop` reads it
once when it is built (``open_case_policies``, an optional method of a store
transaction; see stores/protocol.py) to refuse a playbook that would strand
them (:class:`~loopkit.IncompatiblePlaybook`). Cases opened without a policy
(by an employee) are left out: no playbook change strands them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopkit.model import FollowUpCase

if TYPE_CHECKING:
    from ._sqlite_batch import _Batch

OpenPolicies = Mapping[tuple[str, str | None], int]
"""Unclosed cases per ``(policy, topic)``."""


class _MemoryOpenPolicies:
    """Mixed into :class:`~loopkit.stores.MemoryStore`: from its index of
    unclosed cases (one per customer and topic)."""

    __slots__ = ()

    _cases: dict[str, FollowUpCase]
    _active: dict[tuple[str, str], str]

    def open_case_policies(self) -> OpenPolicies:
        cases = (self._cases[case_id] for case_id in self._active.values())
        return Counter((c.policy, c.topic) for c in cases if c.policy is not None)


class _SQLiteOpenPolicies:
    """Mixed into the SQLite transaction: one query on the unclosed cases'
    index (``cases_unclosed``), the policy read from each row's JSON."""

    __slots__ = ()

    _conn: _Batch

    def open_case_policies(self) -> OpenPolicies:
        rows = self._conn.execute(
            "SELECT json_extract(data, '$.policy') AS policy, topic, count(*) FROM cases"
            " WHERE state <> 'closed' AND json_extract(data, '$.policy') IS NOT NULL"
            " GROUP BY policy, topic",
            (),
        )
        return {(str(policy), topic): int(n) for policy, topic, n in rows}


class _PostgresOpenPolicies:
    """Mixed into the PostgreSQL transaction (statement ``open_case_policies``)."""

    __slots__ = ()

    if TYPE_CHECKING:  # PostgresTransaction's

        def _query(self, name: str, args: Any) -> list[tuple[Any, ...]]: ...

    def open_case_policies(self) -> OpenPolicies:
        rows = self._query("open_case_policies", ())
        return {(str(policy), topic): int(n) for policy, topic, n in rows}
