"""``loopkit explain``: what the policies decide for each answer of a feed, and
why, with nothing stored or sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
EXPORT = ROOT / "examples" / "survey-export.csv"
MAPPING = ROOT / "examples" / "survey-mapping.toml"


def _explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["explain", "--policies", str(POLICIES), *args])
    return code, capsys.readouterr().out


def _blocks(out: str) -> dict[str, str]:
    """Each answer's block of the output, by its id."""
    blocks: dict[str, str] = {}
    for block in out.split("\nline ")[0:]:
        head = block.removeprefix("line ").splitlines()[0]
        if ", answer " in head:
            blocks[head.split(", answer ")[1].split(" ")[0]] = block
    return blocks


def test_each_answer_shows_its_decision_and_every_policys_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _explain(capsys, str(FEED))
    assert code == 0
    blocks = _blocks(out)
    lines = FEED.read_text(encoding="utf-8").splitlines()
    answers = [json.loads(line)["response"]["id"] for line in lines if '"response"' in line]
    assert set(answers) <= set(blocks)
    anna = blocks["r-101"]
    assert "follow-up: matched policy 'support-detractor-callback': phone follow-up" in anna
    assert "escalates at 2026-11-23T15:30+01:00 to team:support-leads" in anna
    assert "decided by 'support-detractor-callback'" in anna
    assert "purchase-detractor-email: no, when.all[1]: touchpoint.kind in" in anna
    promoter = blocks["r-105"]
    assert "no policy matched" in promoter and "follow-up:" not in promoter


def test_nothing_is_stored_and_no_personal_data_is_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(FEED.read_text(encoding="utf-8"), encoding="utf-8")
    code, out = _explain(capsys, str(feed))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.jsonl"]  # no database, no rejects
    for line in FEED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        secrets = [row["customer"].get("name"), row.get("response", {}).get("comment")]
        secrets += [c["address"] for c in row["customer"].get("contact", {}).get("channels", [])]
        assert [s for s in secrets if s and s in out] == []


def test_ids_choose_the_answers_and_a_missing_one_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _explain(capsys, str(FEED), "--id", "r-103")
    assert code == 0 and list(_blocks(out)) == ["r-103"]
    code, out = _explain(capsys, str(FEED), "--id", "r-103", "--id", "r-nope")
    assert code == 1
    assert list(_blocks(out)) == ["r-103"] and out.splitlines()[-1].endswith(": r-nope")


def test_a_suppressed_follow_up_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    row = json.loads(FEED.read_text(encoding="utf-8").splitlines()[0])
    row["customer"]["contact"]["channels"] = []  # consented to no channel
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(row) + "\n", encoding="utf-8")
    code, out = _explain(capsys, str(feed))
    assert code == 0
    assert "no follow-up:" in out and "decided by 'support-detractor-callback'" in out


def test_a_csv_export_is_read_through_its_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _explain(capsys, str(EXPORT), "--mapping", str(MAPPING))
    assert out.startswith("times without an offset are read as Europe/Stockholm")
    assert "decided by" in out
    # the bundled export has rows that cannot be read (to show the rejects file)
    unreadable = [line for line in out.splitlines() if ": cannot be read: " in line]
    assert code == (1 if unreadable else 0)


def test_a_row_that_cannot_be_read_is_named_with_its_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = FEED.read_text(encoding="utf-8").splitlines()[0]
    feed = tmp_path / "feed.jsonl"
    feed.write_text(good + "\n{not json\n", encoding="utf-8")
    code, out = _explain(capsys, str(feed))
    assert code == 1
    assert "line 2: cannot be read: " in out and "decided by" in out


def test_now_decides_as_at_another_time(capsys: pytest.CaptureFixture[str]) -> None:
    _, then = _explain(capsys, str(FEED), "--id", "r-103")
    _, late = _explain(capsys, str(FEED), "--id", "r-103", "--now", "2026-12-01T09:00:00+01:00")
    # the deadline runs from the answer; decided a week late, it has passed
    assert "due 2026-11-23T16:00+01:00" in then and "due 2026-11-23T16:00+01:00" in late
    assert "first contact allowed from 2026-12-01T09:00+01:00" in late
    assert "warning: the deadline had passed when it was decided" in late
    assert "warning:" not in then


def test_the_reference_shows_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (ROOT / "docs" / "reference-cli.md").read_text(encoding="utf-8")
    command = "$ loopkit explain --policies examples/policies.toml examples/feed.jsonl --id r-103\n"
    shown = page.split(command, 1)[1].split("```", 1)[0]
    assert _explain(capsys, str(FEED), "--id", "r-103") == (0, shown)
