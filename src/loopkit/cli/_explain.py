"""``loopkit explain``: what the playbook decides for each answer of a feed,
and why, without a database and without sending anything."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from loopkit import Category, Customer, Decision, Response, Touchpoint
from loopkit.playbook import Playbook

from ._feed import Row
from ._output import for_terminal
from ._plugins import add_options as add_plugin_options
from ._source import feed_rows

__all__ = ["add_parser", "explain"]


def add_parser(
    commands: argparse._SubParsersAction[Any],
    instant: Callable[[str], datetime],
    feed_options: Callable[[argparse.ArgumentParser], None],
    explain_run: Callable[[argparse.Namespace, TextIO], int],
) -> None:
    sub = commands.add_parser(
        "explain",
        help="what the policies decide for each answer of a feed, and why (nothing is stored)",
    )
    sub.add_argument("--policies", required=True, metavar="FILE", help="the policy file")
    sub.add_argument(
        "--now",
        type=instant,
        metavar="ISO",
        help="decide as at this time (default: when each answer was given)",
    )
    sub.add_argument(
        "--id",
        action="append",
        metavar="ID",
        dest="ids",
        help="only the answer (or touchpoint) with this id (repeatable)",
    )
    sub.add_argument("feed", metavar="FEED", help="JSON Lines or a CSV export, as for ingest")
    feed_options(sub)
    add_plugin_options(sub)
    sub.set_defaults(run=explain_run)


def explain(
    args: argparse.Namespace,
    playbook: Playbook,
    out: TextIO,
    *,
    classify: Callable[[Response], Category | None] = lambda response: None,
) -> int:
    """Print, for each row (or those ``--id`` names), the decision of a loop
    with no history: the policy that decides, the follow-up (channel, owner,
    deadline, first contact) or why contact rules suppressed it, warnings, and
    every policy's verdict in order. Frequency caps and open cases depend on a
    store's history and are not counted. Exit code 1 when a row could not be
    read (it is named, with its reasons) or an ``--id`` is not in the feed,
    else 0. ``classify`` is the plugins' category for an answer on a custom
    scale (``loopkit_classify_response``), as the loop asks it on ingest."""
    args.rejects = None  # nothing is written: a row that cannot be read is shown
    rows, _, _ = feed_rows(args, out)
    wanted = None if not args.ids else set(args.ids)
    seen: set[str] = set()
    failed = 0
    for row in rows:
        ids = {row.key, _subject_id(row)}
        if wanted is not None and not ids & wanted:
            continue
        seen.update(i for i in ids if i is not None)
        if isinstance(row.entry, list):
            failed += 1
            print(f"line {row.line}: cannot be read: {'; '.join(row.entry)}", file=out)
            continue
        subject, customer = row.entry
        if isinstance(subject, Response) and not subject.scale.is_builtin:
            category = classify(subject)
            if category is not None and category is not subject.category:
                subject = subject.reclassified(category)
        print(_explained(row.line, subject, customer, playbook, args.now), file=out)
    missing = set() if wanted is None else wanted - seen
    if missing:
        names = ", ".join(for_terminal(i) for i in sorted(missing))
        print(f"not in {for_terminal(args.feed)}: {names}", file=out)
    return 1 if failed or missing else 0


def _subject_id(row: Row) -> str | None:
    if isinstance(row.entry, list):
        return None
    return row.entry[0].id


def _explained(
    line: int,
    subject: Response | Touchpoint,
    customer: Customer,
    playbook: Playbook,
    now: datetime | None,
) -> str:
    policies = playbook.policies
    if isinstance(subject, Response):
        at = now or subject.answered_at
        decision = policies.decide(subject, customer, at)
        what = (
            f"answer {subject.id} (customer {customer.id}): {subject.scale.name} "
            f"{subject.score}, {subject.category.value}"
        )
    else:
        at = now or subject.occurred_at
        decision = policies.decide_touchpoint(subject, customer, at)
        what = f"touchpoint {subject.id} (customer {customer.id}): {subject.kind}"
    lines = [f"line {line}, {for_terminal(what)}", *_outcome(decision)]
    lines += [f"  {text}" for text in str(decision.explanation).splitlines()]
    return "\n".join(lines)


def _outcome(decision: Decision) -> list[str]:
    if decision.policy is None:
        return []  # the explanation says so
    if not decision.follow_up:
        return [f"  no follow-up: {for_terminal(decision.suppressed or decision.reason)}"]
    lines = [f"  follow-up: {for_terminal(decision.reason)}"]
    if decision.first_contact_at is not None:
        first = decision.first_contact_at.isoformat(timespec="minutes")
        lines.append(f"  first contact allowed from {first}")
    lines += [
        f"  escalates at {e.at.isoformat(timespec='minutes')} to {e.to}"
        for e in decision.escalations
    ]
    lines += [f"  warning: {for_terminal(w)}" for w in decision.warnings]
    return lines
