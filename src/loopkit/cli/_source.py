"""Which rows ``loopkit ingest`` reads: the feed's format (from ``--format``,
else its extension), the column mapping for a CSV export, how timestamps
without an offset are read (stated on the output, never silently) and where
rejected rows go."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TextIO
from zoneinfo import ZoneInfo

import attrs

from loopkit.errors import ValidationError

from ._csvfeed import csv_rows
from ._feed import Row, jsonl_rows
from ._mapping import ColumnMapping, load_mapping, overlay
from ._output import Failed, for_terminal
from ._rejects import Rejects, default_rejects
from ._times import TimeReading

__all__ = ["FORMATS", "feed_format", "feed_rows"]

FORMATS: Final = ("csv", "jsonl")
_EXTENSIONS: Final = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def feed_format(feed: str, given: str | None) -> str:
    """``--format``, else the extension's; JSON Lines when there is neither."""
    if given is not None:
        return given
    return _EXTENSIONS.get(Path(feed).suffix.lower(), "jsonl")


def feed_rows(args: argparse.Namespace, out: TextIO) -> tuple[Iterator[Row], Rejects, TimeReading]:
    """The rows of ``args.feed`` and the rejects file they go to; prints how
    times without an offset will be read."""
    form = feed_format(args.feed, args.format)
    mapping = ColumnMapping()
    if form == "jsonl" and (args.mapping or args.column or args.value):
        raise Failed("--mapping, --column and --value are for a CSV feed (--format csv)", 2)
    if args.mapping is not None:
        if not Path(args.mapping).is_file():
            raise Failed(f"mapping file not found: {args.mapping}", 2)
        mapping = load_mapping(args.mapping)
    try:
        mapping = overlay(mapping, args.column or [], args.value or [])
    except ValidationError as err:  # the command line was wrong
        raise Failed("; ".join(str(p) for p in err.problems), 2) from None
    if mapping.delimiter is None:
        tsv = args.feed.lower().endswith(".tsv")
        mapping = attrs.evolve(mapping, delimiter="\t" if tsv else ",")
    times = TimeReading(time_format=mapping.time_format)
    if args.timezone is not None:
        times.zone, said = args.timezone, "--timezone"
    elif mapping.timezone is not None:
        times.zone, said = ZoneInfo(mapping.timezone), f"the mapping {mapping.source}"
    if times.zone is not None:
        print(
            f"times without an offset are read as {times.zone.key} ({for_terminal(said)})",
            file=out,
        )
    path = args.rejects if args.rejects is not None else default_rejects(args.feed)
    if path is not None and args.feed != "-" and Path(path).resolve() == Path(args.feed).resolve():
        raise Failed(f"the rejects file would overwrite the feed: {args.rejects}", 2)
    if form == "csv":
        identity = args.mapping is None
        rows = csv_rows(args.feed, mapping, times, identity=identity)
    else:
        rows = jsonl_rows(args.feed, times)
    return rows, Rejects(path), times
