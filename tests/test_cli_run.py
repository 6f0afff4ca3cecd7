"""``loopkit run``: ingest a feed, let the clock follow its data (ticking each
hour crossed), stop at ``--until`` or the end of the data, and print the
report; what it ends with is what ``ingest`` then ``tick`` at the same times
would have left."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
EXPORT = ROOT / "examples" / "export.csv"
MAPPING = ROOT / "examples" / "export-mapping.toml"
MONDAY = "2026-11-23T16:00:00+01:00"


def _run(db: Path, feed: Path, *options: str) -> int:
    return main(["run", str(feed), "--policies", str(POLICIES), "--db", str(db), *options])


def _cases(db: Path) -> list[loopkit.FollowUpCase]:
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        return sorted(tx.cases(), key=lambda c: c.id)


def test_run_ends_where_ingest_then_tick_at_the_same_times_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran, by_hand = tmp_path / "run.db", tmp_path / "hand.db"
    assert _run(ran, FEED, "--until", MONDAY, "--quiet") == 0
    out = capsys.readouterr().out
    assert "10 responses ingested: 5 opened, 1 attached" in out
    # by hand: the same feed ingested after its last answer, then one tick on Monday
    last = max(json.loads(line)["response"]["answered_at"] for line in FEED.open())
    argv = ["--policies", str(POLICIES), "--db", str(by_hand)]
    assert main(["ingest", *argv, "--now", last, "--quiet", str(FEED)]) == 0
    assert main(["tick", *argv, "--now", MONDAY]) == 0
    capsys.readouterr()
    ours, theirs = _cases(ran), _cases(by_hand)
    assert [(c.id, c.state, c.owner, c.due_at, c.escalation_level) for c in ours] == [
        (c.id, c.state, c.owner, c.due_at, c.escalation_level) for c in theirs
    ]
    breached = [c.id for c in ours if any(e.kind == "deadline_breached" for e in c.events)]
    assert len(breached) == 4
    assert "4 breaches, 2 escalations" in out


def test_the_clock_ticks_once_per_hour_the_data_crosses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "loop.db", FEED, "--quiet") == 0
    out = capsys.readouterr().out
    # independently: in the file's order, each answer in a later whole hour than
    # every answer before it moves the clock on (the feed is not sorted), plus one
    # tick at the end of the data
    times = [
        datetime.fromisoformat(json.loads(line)["response"]["answered_at"]).astimezone(UTC)
        for line in FEED.open()
    ]
    hour = [t.replace(minute=0, second=0, microsecond=0) for t in times]
    crossings = sum(hour[i] > max(hour[:i]) for i in range(1, len(hour)))
    expected = crossings + 1
    assert sorted(times) != times and expected == 3
    last = max(json.loads(line)["response"]["answered_at"] for line in FEED.open())
    assert f"clock: {expected} ticks from " in out
    assert f" to {last[:16]}{last[19:]}" in out  # to the last answer, to the minute
    # every 15 minutes ticks at least as often
    assert _run(tmp_path / "q.db", FEED, "--quiet", "--tick-every", "15m") == 0
    quarter = re.search(r"clock: (\d+) ticks", capsys.readouterr().out)
    assert quarter is not None and int(quarter.group(1)) >= expected


def test_until_leaves_later_rows_for_the_next_run_which_replays_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.reader(EXPORT.open(encoding="utf-8")))[1:]
    cut = "2026-11-09T00:00:00+01:00"
    before = sum(row[1] < "2026-11-09" for row in rows)  # Stockholm times, as written
    db = tmp_path / "loop.db"
    options = ("--mapping", str(MAPPING), "--quiet", "--format", "json")
    assert _run(db, EXPORT, *options, "--until", cut) == 0
    out = capsys.readouterr().out
    assert f"{before} responses ingested" in out
    assert f"{len(rows) - before} rows from 2026-11-09T00:00:00+01:00 on left for a later run" in (
        out
    )
    report = json.loads(out[out.index("{") :])
    assert report["nps"]["n"] == before
    assert _run(db, EXPORT, *options, "--until", "2026-11-16T00:00:00+01:00") == 0
    again = capsys.readouterr().out
    assert f"{before} replayed, 0 failed" in again


def test_a_csv_export_with_a_bad_row_is_rejected_with_its_line_and_the_rest_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = EXPORT.read_text(encoding="utf-8").splitlines()[:201]
    lines[50] = lines[50].replace(",Europe/", ",Europe/Atlantis", 1)  # no such zone
    feed = tmp_path / "export.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _run(tmp_path / "loop.db", feed, "--mapping", str(MAPPING), "--quiet") == 1
    out, err = capsys.readouterr()
    assert "199 responses ingested" in out and "1 failed" in out
    assert f"{feed}:51: column 'Time zone'" in err
    rejects = list(csv.reader((tmp_path / "export.rejects.csv").open(encoding="utf-8")))
    assert rejects[0] == ["line", "id", "reason"] and [r[0] for r in rejects[1:]] == ["51"]
    assert "NPS " in out and "Did we close the loop" in out  # the report still comes


def test_the_report_can_be_written_as_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    code = _run(tmp_path / "loop.db", FEED, "--quiet", "--format", "html", "--output", str(page))
    assert code == 0
    assert f"report written to {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype")
    assert "Anna" not in html


def test_a_bad_tick_step_and_a_missing_feed_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "loop.db", FEED, "--tick-every", "10s") == 2
    assert "--tick-every" in capsys.readouterr().err
    assert _run(tmp_path / "loop.db", tmp_path / "none.jsonl") == 2
    assert "feed file not found" in capsys.readouterr().err


def test_the_deadlines_a_run_breaches_are_those_past_at_the_end(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    assert _run(db, FEED, "--quiet", "--until", MONDAY) == 0
    monday = datetime.fromisoformat(MONDAY)
    for case in _cases(db):
        breached = any(e.kind == "deadline_breached" for e in case.events)
        assert case.due_at is not None
        assert breached == (case.due_at <= monday), case.id
        for event in case.events:
            assert event.at <= monday + timedelta(seconds=1)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    step=st.sampled_from(["15m", "1h", "3h", "1d"]),
    until=st.datetimes(
        min_value=datetime(2026, 11, 19, 12),
        max_value=datetime(2026, 11, 24, 12),
    ).map(lambda t: t.replace(second=0, microsecond=0, tzinfo=UTC)),
)
def test_whatever_the_step_and_the_end_only_earlier_rows_go_in_and_only_past_deadlines_breach(
    tmp_path_factory: pytest.TempPathFactory, step: str, until: datetime
) -> None:
    db = tmp_path_factory.mktemp("run") / "loop.db"
    code = main(
        [
            *("run", str(FEED), "--policies", str(POLICIES), "--db", str(db)),
            *("--quiet", "--tick-every", step, "--until", until.isoformat()),
        ]
    )
    assert code == 0
    answered = {
        json.loads(line)["response"]["id"]: datetime.fromisoformat(
            json.loads(line)["response"]["answered_at"]
        )
        for line in FEED.open()
    }
    with loopkit.SQLiteStore(db) as store:
        loop = loopkit.Loop(loopkit.load_playbook(POLICIES), store=store, check_channels=False)
        ingested = {r.id for r in loop.responses()}
        cases = loop.cases()
    assert ingested == {rid for rid, at in answered.items() if at < until}
    for case in cases:
        breached = any(e.kind == "deadline_breached" for e in case.events)
        assert case.due_at is not None
        assert breached == (case.due_at <= until), (case.id, case.due_at, until)
        assert all(event.at <= until for event in case.events)
