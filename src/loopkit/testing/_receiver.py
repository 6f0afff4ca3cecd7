"""What the test kit's servers share: answers scripted ahead, what arrived
kept under a lock, a test CA for TLS, and use as a context manager."""

from __future__ import annotations

import ssl
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class ScriptedServer(Generic[Item, Answer]):
    """Base of :class:`SmtpReceiver` and :class:`WebhookReceiver`: each answers
    ``default`` unless :meth:`answer` queued something else, and keeps what it
    received in ``_items``."""

    def __init__(self, default: Answer, accepted: Callable[[Item], bool]) -> None:
        self._default = default
        self._is_accepted = accepted
        self._items: list[Item] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._ca: Any = None

    def _tls_context(self) -> ssl.SSLContext:
        """A server context with a certificate for 127.0.0.1 from a new test CA
        (trustme, loopkit's ``dev`` extra), which :meth:`client_context` trusts."""
        import trustme

        self._ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's test CA."""
        context = ssl.create_default_context()
        if self._ca is not None:
            self._ca.configure_trust(context)
        return context

    def answer(self, *answers: Answer) -> None:
        """Answer the next arrivals so, in order; then as by default again."""
        with self._lock:
            self._script.extend(answers)

    def accepted(self) -> list[Item]:
        """What arrived and was accepted (answered as by default, or with success)."""
        with self._lock:
            return [item for item in self._items if self._is_accepted(item)]

    def reset(self) -> None:
        """Forget what was received and scripted, to reuse the server in a new test."""
        with self._lock:
            self._items.clear()
            self._script.clear()

    def _next(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else self._default

    def _record(self, item: Item) -> None:
        with self._lock:
            self._items.append(item)
