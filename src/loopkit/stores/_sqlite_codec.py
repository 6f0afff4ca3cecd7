"""How the SQLite store writes values: instants as integer microseconds since
the epoch in UTC (so rows sort by the instant), values as compact JSON (the
text of their ``to_dict()``, written by ``_json_text``); and how it reads them
back without decoding one text twice (:class:`_Decoded`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from loopkit._input.instants import instant_key

T = TypeVar("T")
_US: Final = timedelta(microseconds=1)


def _us(at: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch, in UTC."""
    return instant_key(at) // _US  # type: ignore[operator]


class _Decoded:
    """Values this store wrote or read lately, by their JSON text: a row whose
    text is unchanged is the same value, so it is not decoded (and checked)
    again. Bounded; a text written by another process is simply not found."""

    __slots__ = ("_values", "erased")

    _SIZE: Final = 4096

    def __init__(self) -> None:
        self._values: dict[tuple[Callable[[Any], Any], str], Any] = {}
        self.erased = False

    def read(self, text: str, read: Callable[[Any], T]) -> T:
        key = (read, text)
        value = self._values.get(key)
        if value is None:
            value = read(json.loads(text))
            self.keep(text, read, value)
        return value

    def forget(self) -> None:
        """Drop every decoded value (personal data was erased) and mark that
        the write-ahead log must be checkpointed at the next commit."""
        self._values.clear()
        self.erased = True

    def keep(self, text: str, read: Callable[[Any], Any], value: Any) -> None:
        values = self._values
        if len(values) >= self._SIZE:  # drop the older half
            for key in list(itertools.islice(values, self._SIZE // 2)):
                del values[key]
        values[(read, text)] = value
