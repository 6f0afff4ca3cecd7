"""Who holds the claims on messages, in the PostgreSQL store (mixed into its
transaction): the engine checks its claims before it records what its sends
did, and each read locks the rows it reads (``FOR UPDATE``), so the worker
that still holds a claim writes its message next."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg

from ._postgres_writes import Journal


class PostgresClaims:
    """The claim reads of :class:`PostgresTransaction`."""

    __slots__ = ()

    _cursor: psycopg.Cursor[Any]
    _sql: dict[str, bytes]
    _journal: Journal

    def claimed_by(self, message_id: str) -> str | None:
        if self._journal.seen("messages", message_id) is not None:
            return None  # saved in this transaction: no claim
        row = self._cursor.execute(self._sql["claimed_by"], (message_id,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def claims(self, message_ids: Iterable[str]) -> Mapping[str, str]:
        """The workers holding claims (expired or not) on those of
        ``message_ids`` that have one, in one round trip that locks the rows
        in id order (an optional method of the store's transactions, see
        :mod:`loopkit.stores.protocol`: the engine records a batch of sends
        with it)."""
        wanted = sorted({i for i in message_ids if self._journal.seen("messages", i) is None})
        if not wanted:
            return {}
        rows = self._cursor.execute(self._sql["claims"], (wanted,)).fetchall()
        return {str(row[0]): str(row[1]) for row in rows if row[1] is not None}
