"""Working a case from the command line: ``loopkit contact``, ``step``, ``grant``
and ``close``, each one change through the loop, refused changes exit 1."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from loopkit import Loop, SQLiteStore, load_playbook
from loopkit.cli import main
from loopkit.testing import FakeClock

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
FRIDAY_EVENING = "2026-11-20T21:30:00+01:00"
MONDAY = "2026-11-23T09:00:00+01:00"
LATER = "2026-11-30T09:00:00+01:00"


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "loop.db"
    base = ["--policies", str(POLICIES), "--db", str(path)]
    assert main(["ingest", *base, "--now", FRIDAY_EVENING, str(FEED)]) == 0
    capsys.readouterr()
    return path


def _run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    command, *rest = args
    code = main([command, "--policies", str(POLICIES), "--db", str(db), "--now", MONDAY, *rest])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _case(db: Path, case_id: str):  # type: ignore[no-untyped-def]
    with SQLiteStore(db) as store:
        return Loop(load_playbook(POLICIES), store=store, check_channels=False).case(case_id)


def test_a_case_is_contacted_compensated_and_closed(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        db,
        "contact",
        "case-1",
        "--by",
        "emp-7",
        "--outcome",
        "reached",
        "--channel",
        "phone",
    )
    assert (code, out) == (0, "case-1: contacted\n")
    grant = ("grant", "case-1", "--by", "emp-7", "--key", "g-1", "--offer", "free_product")
    code, out, _ = _run(capsys, db, *grant, "--value", "75 SEK", "--what", "body lotion")
    assert (code, out) == (0, "case-1: contacted; grant g-1 granted\n")
    code, out, _ = _run(capsys, db, *grant, "--value", "75 SEK", "--what", "body lotion")
    assert (code, out) == (0, "case-1: contacted; grant g-1 granted (seen before)\n")
    code, out, _ = _run(capsys, db, "close", "case-1", "--by", "emp-7", "--cause", "no_callback")
    assert (code, out) == (0, "case-1: closed; root causes no_callback\n")
    case = _case(db, "case-1")
    assert case.is_closed and case.root_causes == frozenset({"no_callback"})
    assert [e.kind for e in case.events].count("compensation_granted") == 1


def test_above_authority_a_grant_waits_for_approval(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = ("grant", "case-1", "--by", "emp-7", "--key", "g-2", "--offer", "refund")
    code, out, _ = _run(capsys, db, *big, "--value", "500 SEK")
    assert (code, out) == (0, "case-1: open; grant g-2 pending\n")


def test_a_step_the_policy_requires_is_recorded(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, db, "step", "case-1", "apology", "--by", "emp-7")
    assert code == 0 and out == "case-1: open\n"
    assert "step" in [e.kind for e in _case(db, "case-1").events]


def test_a_refused_change_exits_1_and_says_why(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, db, "close", "case-2", "--by", "emp-7")
    assert (code, out) == (1, "")
    assert "loopkit close: cannot resolve a case that is open" in err
    code, _, err = _run(capsys, db, "contact", "case-99", "--by", "emp-7", "--outcome", "reached")
    assert code == 1 and "case-99" in err
    code, _, err = _run(
        capsys,
        db,
        "grant",
        "case-1",
        "--by",
        "emp-7",
        "--key",
        "k",
        "--offer",
        "refund",
        "--value",
        "-5 SEK",
    )
    assert code == 1 and "offer.value" in err
    assert not _case(db, "case-2").is_closed


def test_a_wrong_command_line_exits_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, db, "contact", "case-1", "--by", "emp-7", "--outcome", "maybe")
    assert code == 2 and "invalid choice" in err
    code, _, _ = _run(capsys, db, "close", "case-1")  # --by is required
    assert code == 2


def test_cases_are_filtered_by_state_owner_and_breach(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reached = ("--outcome", "reached")
    assert _run(capsys, db, "contact", "case-1", "--by", "emp-7", *reached)[0] == 0
    assert _run(capsys, db, "close", "case-1", "--by", "emp-7", "--cause", "no_callback")[0] == 0
    assert main(["tick", "--policies", str(POLICIES), "--db", str(db), "--now", LATER]) == 0
    capsys.readouterr()

    def listed(*args: str) -> list[str]:
        assert main(["cases", "--db", str(db), "--json", *args]) == 0
        return [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]

    everything = listed()
    assert listed("--state", "closed") == ["case-1"]
    assert set(listed("--state", "open", "--state", "closed")) == set(everything)
    assert listed("--owner", "team:cx") == ["case-4"]
    breached = listed("--breached")
    assert breached and "case-1" not in breached  # contacted in time, then closed
    with SQLiteStore(db) as store:  # a note in a case's log is personal data
        clock = FakeClock(datetime.fromisoformat(LATER))
        Loop(load_playbook(POLICIES), store=store, clock=clock, check_channels=False).add_note(
            "case-4", "She sounded upset PLANTED", by="emp-7"
        )
    lines = _json_cases(capsys, db)
    assert "PLANTED" not in json.dumps(lines)
    assert [e["kind"] for e in lines[3]["events"]][-1] == "note"


def _json_cases(capsys: pytest.CaptureFixture[str], db: Path) -> list[dict[str, Any]]:
    assert main(["cases", "--db", str(db), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]
