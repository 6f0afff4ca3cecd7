"""The rejects file: one CSV row per row of a feed that was not ingested,
with its line and why (``line,id,reason``). It holds no personal data: the
reasons describe values, never show them, and a row's content stays in the
feed, where its line points. Created at the first rejected row only; a run
that rejects nothing removes the rejects file an earlier run left there
(a file that does not start with :data:`HEADER` is never touched)."""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Final, TextIO

from ._output import csv_cell, error

__all__ = ["HEADER", "Rejects", "default_rejects"]

HEADER: Final = "line,id,reason"


def default_rejects(feed: str) -> str | None:
    """Beside the feed: ``export.csv`` -> ``export.rejects.csv``; none for stdin."""
    if feed == "-":
        return None
    path = Path(feed)
    return str(path.with_name(f"{path.stem}.rejects.csv"))


class Rejects:
    """Writes rejected rows to ``path`` (when there is one)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.count = 0
        self._stream: TextIO | None = None
        self._failed = False

    def add(self, line: int, key: str | None, reasons: list[str]) -> None:
        self.count += 1
        if self.path is None or self._failed:
            return
        if self._stream is None:
            try:
                self._stream = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as err:
                self._failed = True
                error(f"loopkit ingest: cannot write the rejects file {self.path}: {err.strerror}")
                return
            self._rows = csv.writer(self._stream, lineterminator="\n")
            self._rows.writerow(HEADER.split(","))
        self._rows.writerow([str(line), csv_cell(key or ""), csv_cell("; ".join(reasons))])

    def close(self) -> None:
        """Close the file; with no row rejected, remove an earlier run's."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        elif self.count == 0 and self.path is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                with open(self.path, encoding="utf-8") as old:
                    earlier = old.readline().rstrip("\r\n") == HEADER
                if earlier:
                    os.remove(self.path)

    @property
    def written(self) -> bool:
        """Whether a rejects file was written."""
        return self.path is not None and self.count > 0 and not self._failed
