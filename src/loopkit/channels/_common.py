"""What the SMTP and webhook channels share: the keys they have sent, ids safe
for a header, the text of a message that has none rendered, checks of settings."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from loopkit.errors import ValidationError, describe
from loopkit.model import Message

__all__ = [
    "Clock",
    "SentKeys",
    "check_remember",
    "check_timeout",
    "fallback_body",
    "fallback_subject",
    "safe_id",
    "utc_now",
]

Clock = Callable[[], datetime]
"""Where a channel reads the time: returns an aware datetime."""


def utc_now() -> datetime:
    """The wall clock, in UTC: a channel's default clock."""
    return datetime.now(UTC)


class SentKeys:
    """The idempotency keys a channel sent, the last ``limit`` of them: a repeat
    of one (a retry after a send that timed out but went through) is skipped."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._keys: dict[str, None] = {}  # oldest first
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None
            while len(self._keys) > self._limit:
                del self._keys[next(iter(self._keys))]


def safe_id(key: str, allowed: re.Pattern[str]) -> str:
    """``key`` if every character is ``allowed`` in the header it goes in,
    else a stable digest of it (the same key always gives the same id)."""
    if allowed.fullmatch(key):
        return key
    return "sha256-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def fallback_subject(message: Message) -> str:
    """A subject for a message without one: its purpose, in words."""
    return message.purpose.replace("_", " ").replace("-", " ").capitalize()


def fallback_body(message: Message) -> str:
    """A body for a message without one: its purpose and its data (which holds
    no personal data), one ``key: value`` line each, and the case it is about."""
    lines = [fallback_subject(message), "", f"case: {message.case_id}"]
    lines.extend(f"{key}: {value}" for key, value in sorted(message.data.items()))
    return "\n".join(lines) + "\n"


def check_timeout(value: object, path: str) -> float:
    """A positive number of seconds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value > 0
        or value == float("inf")
    ):
        raise ValidationError(path, "a positive number of seconds", describe(value))
    return float(value)


def check_remember(value: object, path: str) -> int:
    """How many sent keys to keep: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(path, "an integer >= 0", describe(value))
    return value
