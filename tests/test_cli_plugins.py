"""Plugins for the ``loopkit`` command: ``--plugin module.path`` (or
``module:attribute``, repeatable) and those installed under the ``loopkit``
entry-point group, registered on the loop of every command that builds one.
A plugin's channel is used instead of the console's."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
MONDAY = "2026-11-23T16:00:00+01:00"

PLUGIN = textwrap.dedent(
    """
    import loopkit

    SENT = []


    class Recorder:
        def send(self, message):
            SENT.append((message.channel, message.case_id, message.purpose))


    @loopkit.hookimpl
    def loopkit_register_channels(register):
        register("email", Recorder())
        register("phone", Recorder())


    class Opened:
        def __init__(self):
            self.cases = []

        @loopkit.hookimpl
        def loopkit_case_opened(self, case):
            self.cases.append(case.id)


    opened = Opened()
    """
)


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A plugin module on sys.path, under a name unique to the test."""
    name = "cli_plugin_" + re.sub(r"\W", "_", request.node.name)
    (tmp_path / f"{name}.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _run(db: Path, *options: str) -> int:
    argv = ["run", str(FEED), "--policies", str(POLICIES), "--db", str(db), "--quiet"]
    return main([*argv, "--until", MONDAY, *options])


def _sent(out: str) -> int:
    found = re.search(r"(\d+) sent", out)
    return 0 if found is None else int(found.group(1))


def test_a_plugin_module_sends_on_its_channels_instead_of_the_console(
    tmp_path: Path, plugin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "loop.db", "--plugin", plugin) == 0
    out = capsys.readouterr().out
    sent = sys.modules[plugin].SENT
    assert len(sent) == _sent(out) > 0
    assert {channel for channel, _, _ in sent} <= {"email", "phone"}
    assert all(purpose == "follow_up" for _, _, purpose in sent)


def test_plugin_module_attribute_registers_that_object(
    tmp_path: Path, plugin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    argv = ["--policies", str(POLICIES), "--db", str(db), "--now", MONDAY, "--quiet"]
    assert main(["ingest", *argv, "--plugin", f"{plugin}:opened", str(FEED)]) == 0
    out = capsys.readouterr().out
    opened = sys.modules[plugin].opened.cases
    assert len(opened) == int(re.search(r"(\d+) opened", out).group(1)) == 5  # type: ignore[union-attr]
    # the casework commands take plugins too: a case closed through one
    case = opened[0]
    common = ["--policies", str(POLICIES), "--db", str(db), "--now", MONDAY]
    by = ["--by", "emp-7", "--plugin", plugin]
    assert main(["contact", *common, case, *by, "--outcome", "reached"]) == 0
    assert main(["step", *common, case, "apology", *by]) == 0
    assert main(["close", *common, case, *by, "--cause", "callback-missed"]) == 0
    assert "root causes callback-missed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no_such_module_anywhere", "cannot import 'no_such_module_anywhere'"),
        ("json:no_such_thing", "'json' has no attribute 'no_such_thing'"),
        ("json:", "expected module.path or module.path:attribute"),
    ],
)
def test_a_plugin_that_cannot_be_loaded_is_a_usage_error(
    tmp_path: Path, spec: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "loop.db", "--plugin", spec) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "loop.db").exists()


def test_a_plugin_with_a_hook_loopkit_does_not_have_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cli_plugin_wrong.py").write_text(
        "import loopkit\n\n@loopkit.hookimpl\ndef loopkit_no_such_hook():\n    pass\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert _run(tmp_path / "loop.db", "--plugin", "cli_plugin_wrong") == 1
    finally:
        sys.modules.pop("cli_plugin_wrong", None)
    assert "loopkit_no_such_hook" in capsys.readouterr().err


def test_installed_plugins_load_from_entry_points_unless_told_not_to(
    tmp_path: Path, plugin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "cli_recorder-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cli-recorder\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[loopkit]\nrecorder = {plugin}\n", encoding="utf-8")

    def ingest_and_tick(db: Path, *options: str) -> str:
        argv = ["--policies", str(POLICIES), "--db", str(db), *options]
        friday = "2026-11-20T21:30:00+01:00"
        assert main(["ingest", *argv, "--now", friday, "--quiet", str(FEED)]) == 0
        assert main(["tick", *argv, "--now", MONDAY]) == 0
        return capsys.readouterr().out

    off = ingest_and_tick(tmp_path / "off.db", "--no-entry-points")
    assert plugin not in sys.modules  # never imported
    assert "[phone] follow_up" in off  # the console stood in
    on = ingest_and_tick(tmp_path / "on.db")
    assert len(sys.modules[plugin].SENT) == _sent(on) == _sent(off) > 0
    assert "[phone] follow_up" not in on and "[email] follow_up" not in on


HOLIDAY_PLUGIN = textwrap.dedent(
    """
    import datetime

    import loopkit

    CALLS = []


    @loopkit.hookimpl
    def loopkit_register_channels(register):
        CALLS.append("channels")


    @loopkit.hookimpl
    def loopkit_holidays(calendar, years):
        CALLS.append("holidays")
        return [datetime.date(2026, 11, 23)] if calendar == "support" else []
    """
)


@pytest.fixture
def holidays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A plugin module making Monday 23 November 2026 a holiday on the support calendar."""
    name = "cli_holidays_" + re.sub(r"\W", "_", request.node.name)
    (tmp_path / f"{name}.py").write_text(HOLIDAY_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_explain_decides_with_the_plugins_holidays(
    holidays: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explain", "--policies", str(POLICIES), str(FEED), "--id", "r-103"]
    assert main([*argv, "--now", "2026-11-20T21:30:00+01:00"]) == 0
    before = capsys.readouterr().out
    assert "due 2026-11-23T16:00+01:00" in before
    assert holidays not in sys.modules
    assert main([*argv, "--now", "2026-11-20T21:30:00+01:00", "--plugin", holidays]) == 0
    after = capsys.readouterr().out
    assert "holidays" in sys.modules[holidays].CALLS
    assert "due 2026-11-23" not in after and "due 2026-11-24T16:00+01:00" in after


@pytest.mark.parametrize("command", ["cases", "report"])
def test_cases_and_report_read_through_a_loop_with_the_plugins(
    tmp_path: Path, holidays: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    argv = ["--policies", str(POLICIES), "--db", str(db), "--now", MONDAY, "--quiet", str(FEED)]
    assert main(["ingest", *argv, "--no-entry-points"]) == 0
    capsys.readouterr()
    assert main([command, "--db", str(db), "--no-entry-points"]) == 0
    without = capsys.readouterr().out
    assert holidays not in sys.modules
    assert main([command, "--db", str(db), "--plugin", holidays, "--no-entry-points"]) == 0
    assert sys.modules[holidays].CALLS == ["channels"]  # registered on the reading loop
    assert capsys.readouterr().out == without  # reading: the plugin changes nothing shown


@pytest.mark.parametrize("command", ["explain", "cases", "report"])
def test_explain_cases_and_report_refuse_a_plugin_as_the_other_commands_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "loop.db"
    assert main(["ingest", "--policies", str(POLICIES), "--db", str(db), "-q", str(FEED)]) == 0
    argv = {
        "explain": ["explain", "--policies", str(POLICIES), str(FEED)],
        "cases": ["cases", "--db", str(db)],
        "report": ["report", "--db", str(db)],
    }[command]
    capsys.readouterr()
    assert main([*argv, "--plugin", "no_such_module_anywhere"]) == 2
    assert "cannot import 'no_such_module_anywhere'" in capsys.readouterr().err
    (tmp_path / "cli_plugin_wrong.py").write_text(
        "import loopkit\n\n@loopkit.hookimpl\ndef loopkit_no_such_hook():\n    pass\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main([*argv, "--plugin", "cli_plugin_wrong"]) == 1
    finally:
        sys.modules.pop("cli_plugin_wrong", None)
    assert "loopkit_no_such_hook" in capsys.readouterr().err


def test_explain_classifies_a_custom_scale_as_the_plugins_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stars = {
        "name": "stars",
        "minimum": 1,
        "maximum": 5,
        "detractor": [1, 2],
        "passive": [3, 3],
        "promoter": [4, 5],
    }
    line = {
        "response": {
            "id": "r-1",
            "customer_id": "c-1",
            "scale": stars,
            "score": 3,
            "answered_at": "2026-11-20T15:30:00+01:00",
        },
        "customer": {"id": "c-1", "timezone": "Europe/Stockholm"},
    }
    feed = tmp_path / "stars.jsonl"
    feed.write_text(json.dumps(line) + "\n", encoding="utf-8")
    (tmp_path / "cli_plugin_stars.py").write_text(
        "import loopkit\n\n@loopkit.hookimpl\ndef loopkit_classify_response(response):\n"
        "    return loopkit.Category.DETRACTOR if response.score <= 3 else None\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["explain", "--policies", str(POLICIES), str(feed), "--no-entry-points"]
    try:
        assert main(argv) == 0
        assert "stars 3, passive" in capsys.readouterr().out
        assert main([*argv, "--plugin", "cli_plugin_stars"]) == 0
    finally:
        sys.modules.pop("cli_plugin_stars", None)
    assert "stars 3, detractor" in capsys.readouterr().out
