"""A worker process for the concurrency tests: one ``Loop.tick`` on a SQLite file.

Run as ``python tick_worker.py DB POLICIES SENT_FILE NOW [open | die-after N]``. It opens the
store and builds the loop, prints ``ready``, waits for a line on stdin (so
every worker starts at the same moment), ticks, and prints the tick's report
as JSON. Its channel appends each message's idempotency key to SENT_FILE, one
line per send, with ``O_APPEND`` (one ``write`` per line: lines of several
processes never interleave). With ``open``, it prints ``ready``, opens the store
only after the go-ahead, and prints ``opened`` or the error. With ``die-after N``,
the process dies right after its N-th send.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime


class AppendingChannel:
    """Writes one line per send: the message's idempotency key. With ``die_after``,
    the process dies right after that many sends (before the loop records the last)."""

    def __init__(self, path: str, die_after: int | None = None) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._left = die_after

    def send(self, message: object) -> None:
        os.write(self._fd, f"{message.idempotency_key}\n".encode())  # type: ignore[attr-defined]
        if self._left is not None:
            self._left -= 1
            if self._left == 0:
                os._exit(3)  # a crash between the send and its record


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def main(argv: list[str]) -> None:
    import loopkit

    db, policies, sent_file, now_text = argv[:4]
    if argv[4:] == ["open"]:
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            loopkit.SQLiteStore(db).close()
        except Exception as err:
            print(f"{type(err).__name__}: {err}", flush=True)
        else:
            print("opened", flush=True)
        return
    now = datetime.fromisoformat(now_text)
    # "normal": commits skip the disk sync, which a killed process does not
    # need (it loses nothing committed); claims work the same either way.
    store = loopkit.SQLiteStore(db, synchronous="normal")
    die_after = int(argv[5]) if argv[4:5] == ["die-after"] else None
    channel = AppendingChannel(sent_file, die_after)
    loop = loopkit.Loop(
        loopkit.load_playbook(policies),
        plugins=[loopkit.ChannelPlugin({"phone": channel, "email": channel})],
        store=store,
        clock=FixedClock(now),
    )
    print("ready", flush=True)
    sys.stdin.readline()
    report = loop.tick(now)
    store.close()
    print(json.dumps({"sent": report.sent, "retried": report.retried}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
