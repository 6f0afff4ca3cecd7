"""The ``loopkit`` command acts only through :class:`~loopkit.Loop`: it never opens
a store transaction itself, and still reads what it needs (the cases, the
channels of messages waiting in the outbox) through the loop's public methods."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import warnings
from pathlib import Path

import pytest

import loopkit
import loopkit.cli
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
CLI = Path(loopkit.cli.__file__).resolve().parent
FRIDAY_EVENING = "2026-11-20T21:30:00+01:00"
MONDAY = "2026-11-23T16:00:00+01:00"


def _transactions(source: str) -> list[int]:
    """The lines of ``source`` that reach for a store transaction: a
    ``.transaction`` attribute (called or passed on), or the name as a string
    (``getattr(store, "transaction")``)."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if (isinstance(node, ast.Attribute) and node.attr == "transaction")
        or (isinstance(node, ast.Constant) and node.value == "transaction")
    )


def test_the_scan_finds_every_way_to_a_transaction() -> None:
    source = (
        "with store.transaction() as tx:\n"
        "    tx.cases(None)\n"
        "begin = store.transaction\n"
        "getattr(store, 'transaction')()\n"
        "loop.cases()\n"
    )
    assert _transactions(source) == [1, 3, 4]


def test_the_command_is_a_package_of_small_modules() -> None:
    assert CLI.name == "cli" and (CLI / "__init__.py").is_file()
    assert {p.name for p in CLI.glob("*.py")} >= {
        "__init__.py",
        "_commands.py",
        "_feed.py",
        "_ingest.py",
        "_output.py",
    }


@pytest.mark.parametrize("module", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_the_command_opens_no_store_transaction_itself(module: Path) -> None:
    lines = _transactions(module.read_text(encoding="utf-8"))
    assert not lines, f"cli/{module.name} reaches for a store transaction on lines {lines}"


def test_the_console_script_and_python_dash_m_run_the_package_main() -> None:
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="loopkit")
    assert script.value == "loopkit.cli:main"
    assert script.load() is main
    source = (Path(loopkit.__file__).parent / "__main__.py").read_text(encoding="utf-8")
    assert "from loopkit.cli import main" in source


def test_listing_cases_builds_a_read_only_loop_that_warns_about_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    argv = ["ingest", "--policies", str(POLICIES), "--db", str(db), "--now", FRIDAY_EVENING]
    assert main([*argv, str(FEED)]) == 0
    opened = int(re.search(r"(\d+) opened", capsys.readouterr().out).group(1))  # type: ignore[union-attr]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["cases", "--db", str(db)]) == 0
    assert [str(w.message) for w in caught] == []
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "CASE",
        "STATE",
        "LEVEL",
        "OWNER",
        "DUE",
        "POLICY",
        "CUSTOMER",
    ]
    rows = out.splitlines()[1:-1]
    assert len(rows) == opened > 0 and out.splitlines()[-1] == f"{opened} cases"
    assert all(row.split()[0].startswith("case-") for row in rows)


def test_a_message_queued_on_a_channel_the_policy_file_no_longer_names_is_still_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tick reads the channels of the messages waiting in the outbox through
    the loop (``loop.messages(status=PENDING)``) and registers the console for
    them too, so a channel dropped from the policy file is not dead-lettered."""
    policies = tmp_path / "with-crm.toml"
    policies.write_text(
        POLICIES.read_text(encoding="utf-8").replace(
            'channels = ["phone", "email"]', 'channels = ["crm_task", "phone", "email"]'
        ),
        encoding="utf-8",
    )
    first = json.loads(FEED.read_text(encoding="utf-8").splitlines()[0])  # c-anna, csat 1
    first["customer"]["contact"]["channels"].insert(
        0, {"channel": "crm_task", "address": "queue-7"}
    )
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(first) + "\n", encoding="utf-8")
    db = tmp_path / "loop.db"
    argv = ["--db", str(db), "--now", FRIDAY_EVENING]
    assert main(["ingest", "--policies", str(policies), *argv, str(feed)]) == 0
    assert "opened" in capsys.readouterr().out

    # The tick runs on the original file, which names no crm_task channel.
    assert "crm_task" not in POLICIES.read_text(encoding="utf-8")
    assert main(["tick", "--policies", str(POLICIES), "--db", str(db), "--now", MONDAY]) == 0
    out = capsys.readouterr().out
    assert "[crm_task] follow_up for c-anna (case case-1) to <redacted>" in out
    assert "tick: 1 sent, 0 retried, 0 dead_lettered" in out
    assert "queue-7" not in out
