"""Progress on standard error while a long feed is read (``ingest``, ``run``).

On a terminal: one line redrawn in place, a bar with the rows read, the rate
and the time left. The total is an estimate: the file's size over the mean
length of its first lines (nothing is read twice). Elsewhere (a log, a CI
job): one plain line every :data:`EVERY_ROWS` rows, or every
:data:`EVERY_SECONDS` seconds when the feed is long (an estimate of at least
:data:`EVERY_ROWS` lines), so a short feed prints nothing. ``--quiet``
turns it off. Nothing from the feed is ever shown.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

__all__ = ["EVERY_ROWS", "EVERY_SECONDS", "Progress", "estimate_lines"]

EVERY_ROWS: Final = 10_000
"""Rows between two progress lines when standard error is not a terminal."""
EVERY_SECONDS: Final = 5.0
"""Seconds between two progress lines when standard error is not a terminal."""
_REDRAW_SECONDS: Final = 0.2
_SAMPLE_BYTES: Final = 1 << 16
_BAR: Final = 24


def estimate_lines(feed: str) -> int | None:
    """About how many lines ``feed`` has: its size over the mean length of
    the lines in its first 64 KiB; ``None`` for standard input or an empty file."""
    if feed == "-":
        return None
    try:
        size = os.path.getsize(feed)
        with open(feed, "rb") as stream:
            sample = stream.read(_SAMPLE_BYTES)
    except OSError:
        return None
    lines = sample.count(b"\n")
    if not sample:
        return None
    if lines == 0 or len(sample) == size:
        return max(lines, 1) if len(sample) == size else None
    return max(1, round(size * lines / len(sample)))


class Progress:
    """Counts the rows of a feed as they are read and says how far it is.

    ``clock`` is :func:`time.monotonic` (a test passes its own);
    ``stream`` standard error; whether it is a terminal decides the form.
    """

    def __init__(
        self,
        what: str,
        total: int | None,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.total = total
        self.rows = 0
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._start = self._last = clock()
        self._last_rows = 0
        self._drawn = False
        # a line every few seconds only for a long feed: a short one says nothing
        self._long = total is not None and total >= EVERY_ROWS

    def row(self, line: int) -> None:
        """One more row; ``line`` is the feed line it started on."""
        self.rows += 1
        if self.total is not None and line > self.total:
            self.total = line  # the estimate was short
        if self._tty:
            now = self._clock()
            if now - self._last >= _REDRAW_SECONDS:
                self._last = now
                self._draw(now)
        elif self.rows - self._last_rows >= EVERY_ROWS or (
            self.rows % 100 == 0 and self._long and self._clock() - self._last >= EVERY_SECONDS
        ):
            now = self._clock()
            self._last, self._last_rows = now, self.rows
            print(f"{self.what}: {self._line(now)}", file=self._stream, flush=True)

    def done(self) -> None:
        """Finish the bar's line (a terminal) so what follows starts afresh."""
        if self._tty and self._drawn:
            self._draw(self._clock(), final=True)
            print(file=self._stream, flush=True)

    def _line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self.rows / elapsed
        text = f"{self.rows:,} rows, {rate:,.0f} rows/s"
        if self.total is not None and rate > 0:
            left = max(self.total - self.rows, 0) / rate
            text += f", about {_duration(left)} left"
        return text

    def _draw(self, now: float, *, final: bool = False) -> None:
        self._drawn = True
        if self.total:
            share = 1.0 if final else min(self.rows / self.total, 1.0)
            filled = round(share * _BAR)
            bar = f"[{'#' * filled}{'.' * (_BAR - filled)}] {share:4.0%} "
        else:
            bar = ""
        self._stream.write(f"\r{self.what}: {bar}{self._line(now)}\x1b[K")
        self._stream.flush()


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
