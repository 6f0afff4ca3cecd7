"""The SQLite store's part of erasure: ingest records replaced by their erased
copies, and the record of each erasure (see ``_sqlite_schema``: version 4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from loopkit.errors import ConflictError
from loopkit.model import Erasure

from ._json_text import json_text as _json
from ._sqlite_codec import _us
from .records import IngestRecord

if TYPE_CHECKING:
    from ._sqlite_batch import _Batch
    from ._sqlite_codec import _Decoded

T = TypeVar("T")


class _Erasures:
    """Mixed into :class:`SQLiteTransaction`."""

    __slots__ = ()
    _conn: _Batch  # every statement through the batch (see _sqlite_batch)
    _decoded: _Decoded

    def _all(self, sql: str, args: tuple[Any, ...], read: Callable[[Any], T]) -> list[T]:
        raise NotImplementedError  # SQLiteTransaction's

    def erase_ingest(self, record: IngestRecord) -> None:
        cursor = self._conn.execute(
            "UPDATE ingests SET data = ? WHERE response_id = ?", (_json(record), record.key)
        )
        if cursor.rowcount == 0:
            raise ConflictError(
                f"no ingest {record.key!r} is stored; expected the key of a stored one",
                key=record.key,
                kind="response" if record.response is not None else "signal",
            )
        self._erased()

    def add_erasure(self, erasure: Erasure) -> None:
        self._conn.execute(
            "INSERT INTO erasures (customer_id, at_us, data) VALUES (?, ?, ?)",
            (erasure.customer_id, _us(erasure.at), _json(erasure)),
        )
        self._erased()

    def erasures(self, customer_id: str | None = None) -> Sequence[Erasure]:
        if customer_id is None:
            return self._all("SELECT data FROM erasures ORDER BY rowid", (), Erasure.from_dict)
        return self._all(
            "SELECT data FROM erasures WHERE customer_id = ? ORDER BY rowid",
            (customer_id,),
            Erasure.from_dict,
        )

    def _erased(self) -> None:
        """Personal data left the rows: forget decoded copies of them, and have
        the store checkpoint the write-ahead log once this transaction commits."""
        self._decoded.forget()
