"""``loopkit demo``: the bundled example end to end, each step shown as the
command a user would type.

The example (``loopkit/_demo``, byte for byte the files of ``examples/``):
eight weeks of a retailer's survey answers as its survey tool exports them
(``export.csv``, written by ``examples/generate_export.py``), the column
mapping that reads it, and the example policy file. ``loopkit run`` ingests
the export with the clock following the data and ticking every hour; after
each tick the demo's support team (:mod:`._team`, a plugin working through
the loop's public methods, as a host application's users would) calls
customers back and closes cases with their root causes; the customers who
answer again are the re-surveys. Then the report.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Final, TextIO

from . import _run
from ._team import Team

__all__ = ["FILES", "demo"]

FILES: Final = ("policies.toml", "export.csv", "export-mapping.toml")
"""The example's files, packaged in ``loopkit/_demo`` as they are in ``examples/``."""

_RUN: Final = (
    "run",
    "export.csv",
    *("--mapping", "export-mapping.toml", "--policies", "policies.toml", "--db", "loop.db"),
)


def demo(
    args: argparse.Namespace,
    out: TextIO,
    *,
    run: Callable[[Iterable[str], TextIO], int],
    parse: Callable[[list[str]], argparse.Namespace],
) -> int:
    """Run the bundled example: ``check`` through ``run`` (the command line),
    then ``loopkit run`` with the demo's team working the cases."""
    data = resources.files("loopkit").joinpath("_demo")
    db = None if args.db is None else str(Path(args.db).resolve())
    output = None if args.output is None else str(Path(args.output).resolve())
    with tempfile.TemporaryDirectory(prefix="loopkit-demo-") as work:
        for name in FILES:
            Path(work, name).write_bytes(data.joinpath(name).read_bytes())
        where = "in memory (keep it in a file with --db PATH)" if db is None else db
        print(
            "loopkit demo: eight weeks of survey answers to a retailer's support centre,\n"
            "web shop and shops, from customers in six time zones, and the team that\n"
            "follows up",
            file=out,
        )
        print(f"database: {where}", file=out)
        with contextlib.chdir(work):  # so each step shows the command a user would type
            print("\n== check the policy file\n$ loopkit check policies.toml", file=out)
            code = run(["check", "policies.toml"], out)
            if code:
                return code
            shown = [*_RUN]
            if args.format != "text" or output is not None:
                shown += ["--format", args.format]
            if output is not None:
                shown += ["--output", "report." + args.format]
            print(
                "\n== ingest the export, run the clock hour by hour to the end of the data,\n"
                "== while the support team calls customers back and closes cases\n"
                f"$ loopkit {' '.join(shown)}",
                file=out,
            )
            actual = [
                {"loop.db": db or ":memory:", "report." + args.format: output}.get(a) or a
                for a in shown
            ]
            quiet = args.quiet or not sys.stderr.isatty()
            parsed = parse([*actual, *(["--quiet"] if quiet else [])])
            team = Team()
            parsed.extra_plugins = (team,)
            code = _run.run(parsed, out, after_tick=team.work)
            print(
                f"\nthe team: {team.contacted} customers reached, {team.closed} cases closed, "
                f"{team.ignored} never picked up",
                file=out,
            )
    return code
