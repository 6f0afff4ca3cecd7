"""``loopkit ingest``'s run over a feed: rows read by :mod:`._feed` (JSON
Lines) or :mod:`._csvfeed` (CSV), ingested through the :class:`~loopkit.Loop`
a batch at a time, one line printed per response (or signal) and one per
problem, each rejected row written to the rejects file, then the totals."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final, TextIO

from loopkit.engine import IngestResult, Loop
from loopkit.errors import LoopkitError, ValidationError
from loopkit.model import Customer, Response, Touchpoint
from loopkit.stores import IngestOutcome, signal_key

from ._feed import Row
from ._output import error, for_terminal
from ._progress import Progress
from ._rejects import Rejects

__all__ = ["FEED_BATCH", "ingest_rows"]

FEED_BATCH: Final = 500
"""Feed lines ingested per store transaction (:meth:`Loop.ingest_many`)."""


def ingest_rows(
    loop: Loop,
    rows: Iterable[Row],
    feed: str,
    out: TextIO,
    rejects: Rejects,
    *,
    each: bool = True,
    progress: Progress | None = None,
    pace: Callable[[Row, Callable[[], None]], bool] | None = None,
) -> int:
    """Ingest every row of ``feed`` (a file name, or ``-`` for standard
    input); the exit code: 0 when every row went in, 1 otherwise.

    ``each``: print a line per row (else only problems and the totals).
    ``progress`` counts the rows read. ``pace(row, flush)`` is asked before
    each row is taken: it may ingest the rows before it (``flush()``) and
    let time pass (``loopkit run`` ticks), and says whether to take the row."""
    counts: Counter[str] = Counter()
    tally = {"failed": 0, "replayed": 0, "signals": 0}
    # Per line: where it is, then what to ingest or the problems already found.
    # A touchpoint signal is ingested on its own, after the lines before it.
    chunk: list[Row] = []

    def flush() -> None:
        pairs: list[tuple[Response, Customer]] = [
            (row.entry[0], row.entry[1])
            for row in chunk
            if not isinstance(row.entry, list) and isinstance(row.entry[0], Response)
        ]
        items = iter(loop.ingest_many(pairs, batch_size=FEED_BATCH))
        for row in chunk:  # report in line order, as the lines were read
            entry = row.entry
            if isinstance(entry, list):
                problems = entry
            else:
                subject, customer = entry
                result: IngestResult | None
                err: LoopkitError | None
                if isinstance(subject, Touchpoint):
                    try:
                        result, err = loop.ingest_touchpoint(subject, customer=customer), None
                    except LoopkitError as failed:
                        result, err = None, failed
                else:
                    item = next(items)
                    result, err = item.result, item.error
                if result is not None:
                    counts[result.outcome.value] += 1
                    tally["replayed"] += result.replayed
                    tally["signals"] += isinstance(subject, Touchpoint)
                    case = "-" if result.case is None else result.case.id
                    note = "  (replayed)" if result.replayed else ""
                    key = for_terminal(result.response_id or signal_key(subject.id))
                    if not each:
                        continue
                    print(
                        f"{key:<10} {result.outcome.value:<13} {case:<10} "
                        f"{result.policy or '-'}{note}",
                        file=out,
                    )
                    continue
                problems = (
                    [str(problem) for problem in err.problems]
                    if isinstance(err, ValidationError)
                    else [str(err)]  # a conflict, a plugin that failed
                )
            for problem in problems:
                error(f"{feed}:{row.line}: {problem}")
            rejects.add(row.line, row.key, problems)
            tally["failed"] += 1
        chunk.clear()

    stopped: str | None = None
    try:
        for row in rows:
            if progress is not None:
                progress.row(row.line)
            if pace is not None and not pace(row, flush):
                continue
            touchpoint = not isinstance(row.entry, list) and isinstance(row.entry[0], Touchpoint)
            if touchpoint:
                flush()  # the lines before it go in first
            chunk.append(row)
            if touchpoint or len(chunk) == FEED_BATCH:
                flush()
        flush()
    except (OSError, sqlite3.Error, LoopkitError) as err:  # the file or the store failed
        stopped = f"loopkit ingest: stopped: {err}"
    finally:
        rejects.close()
        if progress is not None:
            progress.done()
    total = sum(counts.values())
    parts = [f"{counts[o.value]} {o.value}" for o in IngestOutcome if counts[o.value]]
    responses, signals = total - tally["signals"], tally["signals"]
    print(
        f"{responses} response{'' if responses == 1 else 's'}"
        + (f", {signals} touchpoint signal{'' if signals == 1 else 's'}" if signals else "")
        + " ingested"
        + (f": {', '.join(parts)}" if parts else "")
        + f"; {tally['replayed']} replayed, {tally['failed']} failed"
        + (f" (rejected rows in {for_terminal(str(rejects.path))})" if rejects.written else ""),
        file=out,
    )
    if stopped is not None:
        error(stopped + " (what was ingested before is kept; run the feed again to go on)")
        return 1
    return 1 if tally["failed"] else 0
