"""A webhook endpoint on 127.0.0.1 for tests: it keeps every request it gets and
answers as the test scripts it (a status, a timeout, a dropped connection)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import attrs

from ._receiver import ScriptedServer

__all__ = ["Fault", "ReceivedRequest", "WebhookReceiver"]

Fault = Literal["timeout", "drop"]
"""``"timeout"``: no answer until the client has given up (the receiver waits
``delay`` seconds, then closes); ``"drop"``: the connection is closed at once
with no answer."""


@attrs.frozen(kw_only=True)
class ReceivedRequest:
    """One request the receiver got: its headers (names in lower case), its
    body, and what it was answered (a status, or the fault)."""

    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    answer: int | Fault

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def accepted(self) -> bool:
        """Answered with a 2xx status: the message was taken."""
        return isinstance(self.answer, int) and 200 <= self.answer < 300


class WebhookReceiver(ScriptedServer[ReceivedRequest, "int | Fault"]):
    """An HTTP server on 127.0.0.1 (a free port) that records each request.

    With ``tls=True`` it serves https with a certificate from a test CA
    (trustme, loopkit's ``dev`` extra): :meth:`client_context` trusts it.
    Every request is answered 204 unless :meth:`answer` queued something else
    for the next requests: a status code, ``"timeout"`` or ``"drop"``. Use it
    as a context manager, or call :meth:`close`.

    >>> import urllib.request
    >>> with WebhookReceiver() as receiver:
    ...     receiver.answer(503)
    ...     request = urllib.request.Request(receiver.url, data=b"{}", method="POST")
    ...     try:
    ...         urllib.request.urlopen(request, timeout=5)
    ...     except OSError as err:
    ...         print(err)
    ...     _ = urllib.request.urlopen(request, timeout=5)
    ...     [r.answer for r in receiver.requests]
    HTTP Error 503: Service Unavailable
    [503, 204]
    """

    def __init__(
        self, *, delay: float = 1.0, path: str = "/hooks/loopkit", tls: bool = False
    ) -> None:
        super().__init__(204, lambda request: request.accepted)
        self.delay = delay
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if tls:  # https with a certificate from a test CA (needs trustme)
            context = self._tls_context()
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # closes quickly
            name="loopkit-webhook-receiver",
            daemon=True,
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"WebhookReceiver(port={self.port}, requests={len(self.requests)})"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request that arrived, answered or not, in order."""
        return self._items

    def close(self) -> None:
        """Stop serving (a request waiting out a ``"timeout"`` ends at once)."""
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = receiver._next()
            receiver._record(ReceivedRequest(headers=headers, body=body, answer=answer))
            if answer == "timeout":
                receiver._closing.wait(receiver.delay)
            if isinstance(answer, str):  # no answer at all: the connection just closes
                self.close_connection = True
                return
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests read ``requests``; nothing on stderr

    return Handler
