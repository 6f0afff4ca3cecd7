"""``loopkit ingest`` reads touchpoint signals (a touchpoint and a customer, no
response) between the responses of a feed, in line order, idempotently."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import loopkit
from loopkit.cli import main

POLICIES = """
version = 1

[[policies]]
name = "detractor-call"
when = { field = "response.category", equals = "detractor" }
channels = ["phone"]
owner = "team:cx"

[[policies]]
name = "last-impression"
topic = "offboarding"
when.all = [
  { field = "touchpoint.kind", equals = "cancellation" },
  { not = { field = "response.category", equals = "promoter" } },
]
channels = ["phone"]
owner = "team:retention"
"""
NOW = "2026-11-20T21:30:00+01:00"
SECRET_PHONE = "+46701234567"


def _summary(out: str) -> str:
    """The summary (the last line), without the note on where rejected rows went."""
    return re.sub(r" \(rejected rows in .*\)$", "", out.splitlines()[-1])


def customer(id: str = "c-1") -> dict[str, Any]:
    return {
        "id": id,
        "timezone": "Europe/Stockholm",
        "name": "Anna Andersson",
        "contact": {"channels": [{"channel": "phone", "address": SECRET_PHONE}]},
    }


def touchpoint(id: str = "tp-1", kind: str = "cancellation") -> dict[str, Any]:
    return {"id": id, "kind": kind, "channel": "phone", "occurred_at": "2026-11-20T15:00:00+01:00"}


def response(id: str, score: int, customer_id: str = "c-1") -> dict[str, Any]:
    return {
        "id": id,
        "customer_id": customer_id,
        "scale": "nps",
        "score": score,
        "answered_at": "2026-11-20T16:00:00+01:00",
        "touchpoint": touchpoint("tp-9", "support_contact"),
    }


def run(tmp_path: Path, rows: list[object]) -> int:
    policies = tmp_path / "policies.toml"
    policies.write_text(POLICIES, encoding="utf-8")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    db = str(tmp_path / "loop.db")
    return main(["ingest", "--policies", str(policies), "--db", db, "--now", NOW, str(feed)])


FEED: list[object] = [
    {"response": response("r-1", 2), "customer": customer()},
    {"touchpoint": touchpoint("tp-1"), "customer": customer("c-2")},
    {"touchpoint": touchpoint("tp-2", "purchase"), "customer": customer("c-3")},
    {"response": response("r-2", 3), "customer": customer()},
]


def test_a_feed_with_signals_ingests_them_in_line_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, FEED) == 0
    out, err = capsys.readouterr()
    assert err == ""
    *rows, summary = out.splitlines()
    assert [row.split() for row in rows] == [
        ["r-1", "opened", "case-1", "detractor-call"],
        ["touchpoint:tp-1", "opened", "case-2", "last-impression"],
        ["touchpoint:tp-2", "no_follow_up", "-", "-"],
        ["r-2", "attached", "case-1", "detractor-call"],
    ]
    assert summary == (
        "2 responses, 2 touchpoint signals ingested: 2 opened, 1 attached, 1 no_follow_up; "
        "0 replayed, 0 failed"
    )
    assert SECRET_PHONE not in out and "Anna" not in out
    with loopkit.SQLiteStore(tmp_path / "loop.db") as store, store.transaction() as tx:
        signal_case = tx.get_case("case-2")
        assert signal_case is not None and signal_case.origin is loopkit.CaseOrigin.TOUCHPOINT


def test_the_same_feed_again_replays_the_signals_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, FEED) == 0
    capsys.readouterr()
    assert run(tmp_path, FEED) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.endswith("(replayed)") for line in lines[:-1])
    assert lines[-1].endswith("4 replayed, 0 failed")


def test_a_changed_signal_and_a_bad_one_are_reported_on_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = {"touchpoint": {**touchpoint("tp-1"), "channel": "web"}, "customer": customer("c-2")}
    bad = {"touchpoint": {**touchpoint("tp-3"), "kind": "Cancel Now"}, "customer": customer()}
    assert run(tmp_path, [*FEED, changed, bad]) == 1
    out, err = capsys.readouterr()
    feed = tmp_path / "feed.jsonl"
    assert f"{feed}:5: touchpoint 'tp-1' was ingested before as a signal" in err
    assert f"{feed}:6: touchpoint.kind: expected a touchpoint kind" in err
    assert _summary(out).endswith("0 replayed, 2 failed")
