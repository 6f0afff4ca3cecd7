"""Plugins: discovery by entry point, contracts enforced when the loop is built."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import loopkit
from loopkit.testing import FakeClock, RecordingChannel

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
PLAYBOOK = loopkit.load_playbook(EXAMPLE)


def test_plugins_are_discovered_through_the_loopkit_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme_sms.py").write_text(
        textwrap.dedent(
            """
            import loopkit
            from loopkit.testing import RecordingChannel

            SMS = RecordingChannel()

            @loopkit.hookimpl
            def loopkit_register_channels(register):
                register("sms", SMS)
            """
        )
    )
    dist = tmp_path / "acme_sms-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-sms\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[loopkit]\nacme_sms = acme_sms\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        without = loopkit.Loop(PLAYBOOK, clock=FakeClock())
        assert "sms" not in without.channels
        loop = loopkit.Loop(PLAYBOOK, clock=FakeClock(), load_entry_points=True)
        assert "sms" in loop.channels
    finally:
        sys.modules.pop("acme_sms", None)


def test_a_plugin_implementing_an_unknown_hook_is_refused() -> None:
    class Typo:
        @loopkit.hookimpl
        def loopkit_case_opend(self, case: loopkit.FollowUpCase) -> None: ...

    with pytest.raises(loopkit.PluginError, match="loopkit_case_opend") as caught:
        loopkit.Loop(PLAYBOOK, plugins=[Typo()], clock=FakeClock())
    assert caught.value.hook is None  # not about one of loopkit's hooks


def test_two_channels_with_one_name_are_refused() -> None:
    one = loopkit.ChannelPlugin({"sms": RecordingChannel()})
    two = loopkit.ChannelPlugin({"sms": RecordingChannel()})
    with pytest.raises(loopkit.PluginError, match="'sms'") as caught:
        loopkit.Loop(PLAYBOOK, plugins=[one, two], clock=FakeClock())
    assert caught.value.hook == "loopkit_register_channels"


def test_a_store_plugin_must_return_a_store() -> None:
    class Bad:
        @loopkit.hookimpl
        def loopkit_store(self) -> object:
            return "not a store"

    with pytest.raises(loopkit.PluginError, match="loopkit_store") as caught:
        loopkit.Loop(PLAYBOOK, plugins=[Bad()], clock=FakeClock())
    assert caught.value.hook == "loopkit_store"


def test_a_customer_plugin_must_return_a_customer() -> None:
    class Bad:
        @loopkit.hookimpl
        def loopkit_load_customer(self, customer_id: str) -> object:
            return {"id": customer_id}

    loop = loopkit.Loop(PLAYBOOK, plugins=[Bad()], clock=FakeClock())
    with pytest.raises(loopkit.PluginError, match="loopkit_load_customer") as caught:
        loop.ingest(loopkit.testing.make_response(1))
    assert caught.value.hook == "loopkit_load_customer"


def test_a_plugin_that_raises_is_named_by_its_hook() -> None:
    class Down:
        @loopkit.hookimpl
        def loopkit_load_customer(self, customer_id: str) -> object:
            raise TimeoutError("crm.example.com timed out")

    loop = loopkit.Loop(PLAYBOOK, plugins=[Down()], clock=FakeClock())
    with pytest.raises(loopkit.PluginError) as caught:
        loop.ingest(loopkit.testing.make_response(1))
    assert caught.value.hook == "loopkit_load_customer"
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert "crm.example.com" not in str(caught.value)


def test_each_loop_owns_its_plugins() -> None:
    recorded = RecordingChannel()
    first = loopkit.Loop(
        PLAYBOOK, plugins=[loopkit.ChannelPlugin({"sms": recorded})], clock=FakeClock()
    )
    second = loopkit.Loop(PLAYBOOK, clock=FakeClock())
    assert "sms" in first.channels
    assert "sms" not in second.channels
    assert first.store is not second.store


def test_a_clock_that_gives_naive_times_is_refused() -> None:
    from datetime import datetime

    class Naive:
        def now(self) -> datetime:
            return datetime(2026, 11, 20, 15, 30)

    loop = loopkit.Loop(PLAYBOOK, clock=Naive())
    with pytest.raises(loopkit.BusinessTimeError):
        loop.tick()
