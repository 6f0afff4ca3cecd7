"""How the SQLite store writes values: instants as integer microseconds since
the epoch in UTC (so rows sort by the instant), values as compact JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Final

from loopkit._input.instants import instant_key

_US: Final = timedelta(microseconds=1)


def _us(at: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch, in UTC."""
    return instant_key(at) // _US  # type: ignore[operator]


_ENCODE: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode
"""Compact JSON, made once (``json.dumps`` with options builds an encoder per call).
``to_dict()`` gives trees of plain values, so the circular-reference check is skipped."""


def _json(value: Any) -> str:
    return _ENCODE(value.to_dict())
