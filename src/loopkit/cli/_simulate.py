"""``loopkit simulate``: try one playbook, or two side by side, on past
answers (JSON Lines, or a CSV export through its mapping, read as ``ingest``
reads them) without a store and without sending anything. The replay and
its capacity model are pure (:mod:`loopkit.simulation`); this module reads
the feed once, feeds each playbook's :class:`~loopkit.Simulation`, and
prints what they counted as text or JSON. A row that cannot be read is
named on stderr with its reasons (exit code 1); the rest are simulated."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from loopkit.model import Response
from loopkit.playbook import load_playbook
from loopkit.simulation import Simulation, SimulationResult

from ._output import Failed, error, for_terminal
from ._source import feed_rows

__all__ = ["add_parser", "simulate"]


def add_parser(
    commands: argparse._SubParsersAction[Any],
    feed_options: Callable[[argparse.ArgumentParser], None],
    zone: Callable[[str], ZoneInfo],
) -> None:
    """The ``simulate`` command's options."""
    sub = commands.add_parser(
        "simulate",
        help="try a playbook (or two, side by side) on past answers: nothing stored or sent",
    )
    sub.add_argument("feed", metavar="FEED", help="JSON Lines or a CSV export, as for ingest")
    sub.add_argument(
        "--policies",
        required=True,
        action="append",
        metavar="FILE",
        help="a policy file; give it twice to compare two playbooks",
    )
    sub.add_argument("--staff", type=_staff, metavar="N", help="how many people contact customers")
    sub.add_argument(
        "--minutes-per-contact",
        type=_minutes,
        default=30,
        metavar="M",
        help="business minutes one contact takes a person (default: 30)",
    )
    sub.add_argument(  # --format is the feed's (csv, jsonl), as for ingest
        "--json", action="store_true", help="print JSON instead of a table"
    )
    sub.add_argument(
        "--tz", type=zone, default=ZoneInfo("UTC"), metavar="ZONE", help="days in this zone"
    )
    feed_options(sub)
    sub.set_defaults(run=simulate)


def _staff(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of people, at least 1, got {text!r}"
        )
    return int(text)


def _minutes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 24 * 60:
        raise argparse.ArgumentTypeError(f"expected whole minutes from 1 to 1440, got {text!r}")
    return int(text)


def simulate(args: argparse.Namespace, out: TextIO) -> int:
    """Replay the feed through each ``--policies``; exit 1 when a row could not be read."""
    if len(args.policies) > 2:
        raise Failed("--policies: give one playbook, or two to compare", 2)
    runs = []
    for path in args.policies:
        if not Path(path).is_file():
            raise Failed(f"policy file not found: {path}", 2)
        playbook = load_playbook(path)
        runs.append(
            Simulation(
                playbook.policies,
                playbook.compensation,
                authority=playbook.authority,
                staff=args.staff,
                per_contact=timedelta(minutes=args.minutes_per_contact),
                zone=args.tz,
            )
        )
    args.rejects = None  # nothing is written: a row that cannot be read is named
    rows, _, _ = feed_rows(args, sys.stderr if args.json else out)  # JSON alone on stdout
    failed = signals = 0
    for row in rows:
        if isinstance(row.entry, list):
            failed += 1
            for problem in row.entry:
                error(f"{args.feed}:{row.line}: {problem}")
            continue
        subject, customer = row.entry
        if not isinstance(subject, Response):
            signals += 1  # a touchpoint signal: not an answer
            continue
        for run in runs:
            run.add(subject, customer)
    results = [run.result() for run in runs]
    if args.json:
        data = {
            "rows_unread": failed,
            "signals_skipped": signals,
            "playbooks": [
                {"policies": p, **r.to_dict()} for p, r in zip(args.policies, results, strict=True)
            ],
        }
        print(json.dumps(data, indent=2), file=out)
    else:
        print(render(args.policies, results, failed=failed, signals=signals), file=out)
    return 1 if failed else 0


def render(
    names: list[str], results: list[SimulationResult], *, failed: int = 0, signals: int = 0
) -> str:
    """The results as a table, one column per playbook."""
    first = results[0]
    staff = "nobody contacts" if first.staff is None else f"{first.staff} people"
    minutes = int(first.per_contact.total_seconds() // 60)
    rows: list[tuple[str, list[str]]] = [
        ("answers", [str(r.answers) for r in results]),
        ("cases opened", [str(r.cases) for r in results]),
        ("suppressed by contact rules", [str(r.suppressed) for r in results]),
        ("deadlines", [str(r.deadlines) for r in results]),
        (f"  met ({staff})", [str(r.met) for r in results]),
        ("  missed", [str(r.missed) for r in results]),
        ("  not yet due at the end", [str(r.open) for r in results]),
        ("escalations", [str(r.escalations) for r in results]),
        ("cases with an offer", [str(r.offers) for r in results]),
        ("  over every authority limit", [str(r.over_authority) for r in results]),
        ("compensation (upper bound)", [_money(r) for r in results]),
    ]
    for title, attr in (("owner", "by_owner"), ("policy", "by_policy"), ("day", "by_day")):
        keys = sorted({k for r in results for k in getattr(r, attr)})
        rows.append((f"cases by {title}:", ["" for _ in results]))
        rows += [
            (f"  {for_terminal(k)}", [str(getattr(r, attr).get(k, 0)) for r in results])
            for k in keys
        ]
    head = ("", [for_terminal(Path(n).name) for n in names])
    width = max(len(label) for label, _ in [head, *rows]) + 2
    cols = [
        max(len(c) for c in col) + 2
        for col in zip(*(cells for _, cells in [head, *rows]), strict=True)
    ]
    lines = [
        (
            label.ljust(width) + "".join(c.rjust(w) for c, w in zip(cells, cols, strict=True))
        ).rstrip()
        for label, cells in [head, *rows]
    ]
    lines.append(
        f"capacity: {staff}, {minutes} business minutes a contact, first come first served"
    )
    if signals:
        lines.append(f"touchpoint signals skipped: {signals}")
    if failed:
        lines.append(f"rows that could not be read: {failed} (named on stderr)")
    return "\n".join(lines)


def _money(result: SimulationResult) -> str:
    if not result.spent:
        return "0"
    return ", ".join(f"{amount} {cur}" for cur, amount in sorted(result.spent.items()))
