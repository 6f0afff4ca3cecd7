"""The commands — check, ingest, tick, cases — each over a
:class:`~loopkit.Loop` on the SQLite store.

Every read and write goes through the loop's public methods; the command
never opens a store transaction itself. ``loopkit cases`` has no policy
file: it reads through a loop built on :data:`READ_ONLY_PLAYBOOK`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Final, TextIO, cast

from loopkit.channels import ChannelPlugin, ConsoleChannel
from loopkit.engine import Loop, TickReport
from loopkit.errors import LoopkitError
from loopkit.model import CHANNELS, FollowUpCase, MessageStatus
from loopkit.playbook import Playbook, load_playbook
from loopkit.policies import PolicySet
from loopkit.stores import MemoryStore, SQLiteStore, Store
from loopkit.stores.sqlite import SCHEMA_VERSION as SQLITE_LAYOUT

from ._explain import explain as explain_feed
from ._ingest import ingest_rows
from ._output import EscapedStream, Failed, csv_cell, for_terminal, table
from ._plugins import Plugins, plugins_of
from ._progress import Progress, estimate_lines
from ._source import feed_rows

__all__ = [
    "DEMO_INGEST_AT",
    "DEMO_TICK_AT",
    "READ_ONLY_PLAYBOOK",
    "Failed",
    "cases",
    "check",
    "ingest",
    "migrate",
    "tick",
]

DEMO_INGEST_AT: Final = "2026-11-20T21:30:00+01:00"
"""When the demo ingests its feed: Friday evening, after the last answer came in."""
DEMO_TICK_AT: Final = "2026-11-23T16:00:00+01:00"
"""When the demo lets time pass to: Monday afternoon, after the first deadlines."""

READ_ONLY_PLAYBOOK: Final = Playbook(version=1, policies=PolicySet(policies=()))
"""The playbook of a loop that only reads the store (``loopkit cases``, which
takes no policy file): no policies, so it could open no case and queue no
message, and no channel for its loop to warn about."""


class _FixedClock:
    """The clock a command runs on when it is given ``--now`` (``loopkit run``
    moves it on as the feed's time passes: ``at``)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


NO_PLUGINS: Final = Plugins()


class _Discard(io.TextIOBase):
    """Where the console channel writes when its messages are not shown."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


# -- the commands ----------------------------------------------------------------


def check(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    print(f"{for_terminal(args.policies)}: ok: {_summary(playbook)}", file=out)
    return 0


def ingest(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    if args.feed != "-" and not Path(args.feed).is_file():
        raise Failed(f"feed file not found: {args.feed}", 2)
    rows, rejects, times = feed_rows(args, out)
    with _store(args.db, create=True) as store:
        loop = _loop(playbook, store, args.now, hosts=hosts)
        progress = None if args.quiet else Progress("loopkit ingest", estimate_lines(args.feed))
        code = ingest_rows(loop, rows, args.feed, out, rejects, progress=progress)
    if times.zone is not None:
        n = times.placed
        print(
            f"{n} time{'' if n == 1 else 's'} without an offset read as {times.zone.key}", file=out
        )
    return code


def explain(args: argparse.Namespace, out: TextIO) -> int:
    """Explain the feed's decisions as a loop with the plugins would make them:
    its calendars with the hosts' holidays, a custom scale's answers classified
    by a plugin; an empty in-memory store, nothing sent."""
    playbook = _playbook(args.policies)
    hosts = plugins_of(args)
    loop = Loop(
        playbook,
        plugins=hosts.objects,
        store=MemoryStore(),
        clock=None if args.now is None else _FixedClock(args.now),
        load_entry_points=hosts.entry_points,
        check_channels=False,
        check_store=False,
    )
    return explain_feed(args, loop.playbook, out, classify=loop.hooks.classify)


def tick(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _playbook(args.policies)
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    with _store(args.db, create=False) as store:
        loop = _loop(playbook, store, args.now, hosts=hosts)
        report = loop.tick()
        print(_report(report), file=out)
    return 0


def migrate(args: argparse.Namespace, out: TextIO) -> int:
    """Open the database, which brings an older layout up to this loopkit's
    (every store does so when it opens, in one transaction): run it before
    starting the workers of a new release. Says from which version to which;
    a database of a newer loopkit is refused (exit 1)."""
    with _store(args.db, create=False) as store:
        if isinstance(store, SQLiteStore):
            found, latest, name = store.opened_at_version, SQLITE_LAYOUT, for_terminal(args.db)
        else:
            from loopkit.stores.postgres import SCHEMA_VERSION, PostgresStore

            assert isinstance(store, PostgresStore)  # the only other store --db opens
            found, latest = store.opened_at_version, SCHEMA_VERSION
            name = "the PostgreSQL database"  # its DSN may hold a password
    if found == latest:
        print(f"{name}: layout version {latest}, already this loopkit's", file=out)
    elif found == 0:
        print(f"{name}: layout version {latest} created", file=out)
    else:
        print(f"{name}: layout version {found} upgraded to {latest}", file=out)
    return 0


def cases(args: argparse.Namespace, out: TextIO) -> int:
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    with _store(args.db, create=False) as store:
        found = [c for c in _reading(store, hosts).cases(args.customer) if _wanted(args, c)]
    if args.json:
        for case in found:  # the log's notes are personal data: left out
            data = case.to_dict()
            for event in data["events"]:
                event.pop("note", None)
            print(json.dumps(data, ensure_ascii=True), file=out)
        return 0
    none = "" if args.csv else "-"
    rows = [("CASE", "STATE", "LEVEL", "OWNER", "DUE", "POLICY", "CUSTOMER")]
    for case in found:
        due = none if case.due_at is None else case.due_at.isoformat(timespec="minutes")
        rows.append(
            (
                case.id,
                case.state.value,
                str(case.escalation_level),
                case.owner or none,
                due,
                case.policy or none,
                case.customer_id,
            )
        )
    if args.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([csv_cell(cell) for cell in row] for row in rows)
        return 0
    table(rows, out)
    print(f"{len(found)} case{'' if len(found) == 1 else 's'}", file=out)
    return 0


def _wanted(args: argparse.Namespace, case: FollowUpCase) -> bool:
    """Whether ``case`` passes ``--state``, ``--owner`` and ``--breached``."""
    if args.state and case.state.value not in args.state:
        return False
    if args.owner is not None and case.owner != args.owner:
        return False
    return not args.breached or any(e.kind == "deadline_breached" for e in case.events)


# -- helpers -----------------------------------------------------------------------


def _playbook(path: str) -> Playbook:
    if not Path(path).is_file():
        raise Failed(f"policy file not found: {path}", 2)
    return load_playbook(path)


def _summary(playbook: Playbook) -> str:
    counts = (
        (len(list(playbook.policies)), "policy", "policies"),
        (len(list(playbook.compensation)), "compensation rule", "compensation rules"),
        (len(playbook.calendars), "calendar", "calendars"),
    )
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)


_DSN_SCHEMES = ("postgresql://", "postgres://")


def _postgres(dsn: str) -> Store:
    """The PostgreSQL store a ``--db postgresql://…`` names (its errors never
    show the DSN: it may hold a password)."""
    try:
        from loopkit.stores.postgres import PostgresStore
    except ImportError as err:
        raise Failed(f"{err}", 2) from None
    try:
        return PostgresStore(dsn)
    except LoopkitError as err:
        raise Failed(f"cannot open the PostgreSQL database: {err}") from None


@contextlib.contextmanager
def _store(path: str, *, create: bool) -> Iterator[Store]:
    if path.startswith(_DSN_SCHEMES):
        store = _postgres(path)
        try:
            yield store
        finally:
            store.close()
        return
    if path != ":memory:" and not create and not Path(path).is_file():
        raise Failed(f"database not found: {path} (loopkit ingest creates it)", 2)
    try:
        store = SQLiteStore(path)
    except sqlite3.Error as err:
        raise Failed(f"cannot open database {path}: {err}") from None
    try:
        yield store
    finally:
        store.close()


def _reading(store: Store, hosts: Plugins = NO_PLUGINS) -> Loop:
    """A loop that only reads ``store`` (its cases, its outbox), with the
    plugins ``hosts`` names (so their channels are known)."""
    return Loop(
        READ_ONLY_PLAYBOOK,
        plugins=hosts.objects,
        store=store,
        check_channels=False,
        load_entry_points=hosts.entry_points,
    )


def _loop(
    playbook: Playbook,
    store: Store,
    now: datetime | None,
    *,
    hosts: Plugins | argparse.Namespace = NO_PLUGINS,
    clock: _FixedClock | None = None,
    echo: bool = True,
) -> Loop:
    """The loop a command acts through, with the plugins ``hosts`` names
    (``--plugin``, entry points; a namespace is read for them): the console
    channel stands in for every channel a policy names, and for every channel
    a message still waiting in the outbox was queued on, that no plugin
    registered (``echo=False``: its messages are counted, not printed)."""
    if isinstance(hosts, argparse.Namespace):
        hosts = plugins_of(hosts)
    names = set(CHANNELS)
    for policy in playbook.policies:
        names.update(policy.channels)
    reader = _reading(store, hosts)
    names.update(m.channel for m in reader.messages(status=MessageStatus.PENDING))
    names -= reader.channels.keys()  # a plugin's channel is used, not the console
    # prints to sys.stdout, personal data redacted, ids escaped
    console = ConsoleChannel(stream=cast(TextIO, EscapedStream() if echo else _Discard()))
    return Loop(
        playbook,
        plugins=[*hosts.objects, ChannelPlugin([(name, console) for name in sorted(names)])],
        store=store,
        clock=clock if clock is not None else None if now is None else _FixedClock(now),
        rng=random.Random(0),
        load_entry_points=hosts.entry_points,
    )


def _report(report: TickReport) -> str:
    fields = (
        "sent",
        "retried",
        "dead_lettered",
        "warnings",
        "breaches",
        "escalations",
        "broken_promises",
    )
    return "tick: " + ", ".join(f"{getattr(report, name)} {name}" for name in fields)
