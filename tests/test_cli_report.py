"""``loopkit report``: the metrics of a database, as text, JSON, CSV or HTML, to
stdout or a file, over a window, by period in a time zone."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from loopkit.cli import main
from loopkit.metrics import nps

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
FRIDAY_EVENING = "2026-11-20T21:30:00+01:00"
MONDAY = "2026-11-23T16:00:00+01:00"


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "loop.db"
    base = ["--policies", str(POLICIES), "--db", str(path)]
    assert main(["ingest", *base, "--now", FRIDAY_EVENING, str(FEED)]) == 0
    assert main(["tick", *base, "--now", MONDAY]) == 0
    capsys.readouterr()
    return path


def _feed_secrets() -> set[str]:
    found: set[str] = set()
    for line in FEED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        found.add(row["customer"]["id"])
        found.add(row["customer"]["name"])
        found.update(p["address"] for p in row["customer"]["contact"]["channels"])
        if row["response"].get("comment"):
            found.add(row["response"]["comment"])
    return found


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["report", *args, "--now", MONDAY]) == 0
    return capsys.readouterr().out


def test_the_json_report_counts_what_the_database_holds(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(_report(capsys, "--db", str(db), "--format", "json"))
    scores = [
        json.loads(line)["response"]["score"]
        for line in FEED.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["response"].get("scale", "nps") == "nps"
    ]
    expected = nps(scores)
    assert (data["nps"]["n"], data["nps"]["promoters"]) == (expected.n, expected.promoters)
    assert main(["cases", "--db", str(db)]) == 0
    opened = int(capsys.readouterr().out.splitlines()[-1].split()[0])  # "5 cases"
    assert data["cases"]["opened"] == opened > 0
    # read through the loop: nobody was re-surveyed or compensated in this feed
    assert (data["recovery"]["recovered"], data["recovery"]["pending"]) == (0, 0)
    assert data["compensation"] is not None and data["issues"] is not None


def test_every_format_leaves_out_personal_data(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("text", "json", "csv", "html"):
        out = _report(capsys, "--db", str(db), "--format", fmt)
        assert out
        for secret in _feed_secrets():
            assert secret not in out, (fmt, "a value from the feed")


def test_period_time_zone_and_window(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--db", str(db), "--format", "json", "--period", "day", "--tz", "Asia/Tokyo")
    data = json.loads(_report(capsys, *args))
    assert data["report"]["timezone"] == "Asia/Tokyo" and data["report"]["period"] == "day"
    # Friday afternoon in Stockholm is Friday night or Saturday in Tokyo
    assert {row["period"] for row in data["nps_trend"]} <= {"2026-11-20", "2026-11-21"}
    empty = json.loads(_report(capsys, *args, "--since", "2026-11-21T00:00:00+01:00"))
    assert empty["nps"]["n"] == 0 and empty["nps"]["score"] is None


def test_csv_to_a_file_keeps_its_crlf_line_ends(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.csv"
    assert _report(capsys, "--db", str(db), "--format", "csv", "--output", str(target)) == ""
    raw = target.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 5
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0][:3] == ["section", "key", "metric"]


def test_html_to_a_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.html"
    _report(capsys, "--db", str(db), "--format", "html", "--output", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script" not in page


def test_bad_options_are_usage_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--db", str(tmp_path / "none.db")]) == 2
    assert main(["report", "--db", str(db), "--format", "pdf"]) == 2
    assert main(["report", "--db", str(db), "--since", "2026-11-20"]) == 2  # no offset
    assert main(["report", "--db", str(db), "--tz", "Mars/Olympus"]) == 1
    assert "timezone" in capsys.readouterr().err


def test_the_reference_shows_what_the_command_prints(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "reference-cli.md").read_text(encoding="utf-8")
    command = (
        "$ loopkit report --db loop.db --now 2026-11-23T16:00:00+01:00 --tz Europe/Stockholm\n"
    )
    shown = page.split(command, 1)[1].split("```", 1)[0]
    assert _report(capsys, "--db", str(db), "--tz", "Europe/Stockholm") == shown
