"""The PostgreSQL store's part of erasure (schema version 2): ingest records
replaced by their erased copies, and the record of each erasure.

PostgreSQL never overwrites a row in place: an ``UPDATE`` writes a new version
of the row and leaves the old one, with the erased content, as a dead tuple in
the table's pages until ``VACUUM`` reclaims it. That holds for every row an
erasure rewrites (``ingests`` here; ``cases``, ``messages``, ``customers``
through their own saves). Autovacuum reclaims them on its own schedule; run
``VACUUM`` on those tables for it to happen now. The store does not run it
(``VACUUM`` cannot run inside a transaction, and the erasure is one); see
docs/howto-erase-or-export-a-customers-data.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import psycopg

from loopkit._input.instants import instant_key
from loopkit.errors import ConflictError
from loopkit.model import Erasure

from ._postgres_writes import Write
from .records import IngestRecord

if TYPE_CHECKING:
    from ._postgres_known import Known
    from ._postgres_writes import Journal

T = TypeVar("T")
_US: Final = timedelta(microseconds=1)


def _encode(value: Any) -> str:
    return json.dumps(value.to_dict(), ensure_ascii=False, separators=(",", ":"))


class PostgresErasure:
    """The erasure part of :class:`PostgresTransaction` (see the store protocol)."""

    __slots__ = ()

    _cursor: psycopg.Cursor[Any]
    _sql: dict[str, bytes]
    _journal: Journal
    _known: Known

    if TYPE_CHECKING:  # PostgresTransaction's

        def _send_all(self) -> None: ...
        def _all(self, name: str, args: Any, read: Callable[[Any], T]) -> list[T]: ...

    def erase_ingest(self, record: IngestRecord) -> None:
        """Replace the stored record; the old row version stays as a dead tuple
        until ``VACUUM`` (or autovacuum) reclaims it: see the module's text."""
        self._send_all()  # the record may have been added in this transaction
        cursor = self._cursor.execute(self._sql["erase_ingest"], (_encode(record), record.key))
        if cursor.rowcount == 0:
            raise ConflictError(
                f"no ingest {record.key!r} is stored; expected the key of a stored one",
                key=record.key,
                kind="response" if record.response is not None else "signal",
            )
        self._known.ingests[record.key] = record  # what this transaction read is erased too

    def add_erasure(self, erasure: Erasure) -> None:
        """Record the erasure. The old row versions the erasure left stay until
        ``VACUUM`` (or autovacuum) reclaims them: see the module's text."""
        params = (erasure.customer_id, instant_key(erasure.at) // _US, _encode(erasure))  # type: ignore[operator]
        self._journal.add(Write("add_erasure", "erasures", params))

    def erasures(self, customer_id: str | None = None) -> Sequence[Erasure]:
        if customer_id is None:
            return self._all("erasures", (), Erasure.from_dict)
        return self._all("erasures_of", (customer_id,), Erasure.from_dict)
