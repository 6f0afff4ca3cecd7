"""Stores: where the loop keeps cases, messages, promises and timers."""

from .memory import MemoryStore
from .protocol import Store, StoreTransaction
from .records import IngestOutcome, IngestRecord, LaterTimer, Timer, TimerKind, signal_key
from .sqlite import SQLiteStore

__all__ = [
    "IngestOutcome",
    "IngestRecord",
    "LaterTimer",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "StoreTransaction",
    "Timer",
    "TimerKind",
    "signal_key",
]
