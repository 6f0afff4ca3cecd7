"""loopkit's pytest plugin: the ``loopkit_*`` fixtures, the ``loopkit_playbook``
marker, and the hypothesis strategies registered for ``st.from_type``, all
found through entry points (no conftest.py anywhere)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.testing import Builders, FakeClock, RecordingChannel, example_playbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "policies.toml"
ONE_POLICY = {
    "version": 1,
    "policies": [
        {
            "name": "every-detractor",
            "when": {"field": "response.category", "equals": "detractor"},
            "channels": ["sms"],
            "owner": "team:care",
        }
    ],
}


def test_the_default_playbook_is_the_bundled_example(
    loopkit_playbook: loopkit.Playbook,
) -> None:
    assert loopkit_playbook is example_playbook()
    assert loopkit_playbook == loopkit.load_playbook(EXAMPLE)


def test_there_is_a_recording_channel_for_every_channel_the_policies_use(
    loopkit_playbook: loopkit.Playbook, loopkit_channels: dict[str, RecordingChannel]
) -> None:
    assert set(loopkit_channels) == loopkit_playbook.policies.channels()
    assert {"phone", "email"} <= set(loopkit_channels)
    assert all(isinstance(c, RecordingChannel) for c in loopkit_channels.values())


def test_the_loop_runs_on_the_fake_clock_the_store_and_the_recording_channels(
    loopkit_loop: loopkit.Loop,
    loopkit_clock: FakeClock,
    loopkit_store: loopkit.MemoryStore,
    loopkit_channels: dict[str, RecordingChannel],
    loopkit_builders: Builders,
) -> None:
    assert loopkit_loop.store is loopkit_store
    customer = loopkit_builders.customer()
    response = loopkit_builders.response(score=1, scale=loopkit.CSAT)
    result = loopkit_loop.ingest(response, customer=customer)
    assert result.outcome is loopkit.IngestOutcome.OPENED
    assert result.case is not None and result.case.opened_at == loopkit_clock.now()

    loopkit_clock.advance(hours=1)
    assert loopkit_loop.tick().sent == 1
    (call,) = loopkit_channels["phone"].sent
    assert (call.case_id, call.customer_id) == (result.case.id, customer.id)
    assert loopkit_channels["email"].sent == []


def test_builders_answer_at_the_clocks_now(
    loopkit_builders: Builders, loopkit_clock: FakeClock
) -> None:
    first = loopkit_builders.response()
    later = loopkit_clock.advance(days=3)
    response = loopkit_builders.response(score=9, id="r-2", kind="purchase")
    assert first.answered_at != later == response.answered_at
    assert response.touchpoint is not None
    assert response.touchpoint.kind == "purchase"
    assert response.touchpoint.occurred_at == later - timedelta(minutes=40)
    assert [r.answered_at for r, _ in loopkit_builders.feed(2)] == [
        later,
        later + timedelta(minutes=3),
    ]


@pytest.mark.loopkit_playbook(ONE_POLICY)
def test_a_marker_gives_the_playbook_as_a_mapping(
    loopkit_loop: loopkit.Loop,
    loopkit_channels: dict[str, RecordingChannel],
    loopkit_builders: Builders,
) -> None:
    assert set(loopkit_channels) == {"sms"}
    customer = loopkit_builders.customer(channels={"sms": "+46700000001"})
    result = loopkit_loop.ingest(loopkit_builders.response(score=0), customer=customer)
    assert result.case is not None and result.case.owner == "team:care"
    loopkit_loop.tick()
    assert [m.channel for m in loopkit_channels["sms"].sent] == ["sms"]


@pytest.mark.loopkit_playbook(loopkit.load_playbook(ONE_POLICY))
def test_a_marker_gives_a_playbook(loopkit_playbook: loopkit.Playbook) -> None:
    assert [p.name for p in loopkit_playbook.policies] == ["every-detractor"]


@pytest.mark.loopkit_playbook(EXAMPLE)  # absolute: the rootdir is not joined
def test_a_marker_gives_a_policy_file(loopkit_playbook: loopkit.Playbook) -> None:
    assert loopkit_playbook == example_playbook()


class TestOverridingAFixture:
    """A host overrides a fixture as any pytest fixture: here its own plugin."""

    class Opened:
        def __init__(self) -> None:
            self.ids: list[str] = []

        @loopkit.hookimpl
        def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
            self.ids.append(case.id)

    @pytest.fixture
    def opened(self) -> TestOverridingAFixture.Opened:
        return self.Opened()

    @pytest.fixture
    def loopkit_plugins(self, opened: TestOverridingAFixture.Opened) -> tuple[object, ...]:
        return (opened,)

    def test_the_loop_registers_the_hosts_plugin(
        self,
        loopkit_loop: loopkit.Loop,
        loopkit_builders: Builders,
        opened: TestOverridingAFixture.Opened,
    ) -> None:
        response = loopkit_builders.response(score=1, scale=loopkit.CSAT)
        result = loopkit_loop.ingest(response, customer=loopkit_builders.customer())
        assert result.case is not None and opened.ids == [result.case.id]


@settings(max_examples=25, deadline=None)
@given(
    st.from_type(loopkit.Customer),
    st.from_type(loopkit.Response),
    st.from_type(loopkit.FollowUpCase),
)
def test_from_type_draws_valid_loopkit_values(
    customer: loopkit.Customer, response: loopkit.Response, case: loopkit.FollowUpCase
) -> None:
    assert loopkit.Customer.from_dict(customer.to_dict()) == customer
    assert loopkit.Response.from_dict(response.to_dict()) == response
    assert response.scale.minimum <= response.score <= response.scale.maximum
    assert case.state in set(loopkit.CaseState)


@settings(max_examples=5, deadline=None)
@given(st.data())
def test_every_model_type_is_registered_with_hypothesis(data: st.DataObject) -> None:
    from loopkit.testing._hypothesis_setup import REGISTERED

    for name in REGISTERED:
        value = data.draw(st.from_type(getattr(loopkit, name)))
        assert type(value).__name__ == name


HOST_TEST = """
import pytest
from hypothesis import given, strategies as st
import loopkit

pytestmark = pytest.mark.loopkit_playbook("config/policies.toml")


def test_the_marked_file_is_used(loopkit_playbook, loopkit_channels):
    assert [p.name for p in loopkit_playbook.policies][1] == "support-detractor-callback"
    assert "phone" in loopkit_channels


@given(st.from_type(loopkit.Touchpoint))
def test_touchpoints_are_drawn(touchpoint):
    assert isinstance(touchpoint, loopkit.Touchpoint)


@pytest.mark.loopkit_playbook(42)
def test_a_wrong_marker_is_a_usage_error(loopkit_playbook):
    raise AssertionError("not reached")
"""


def test_a_host_suite_gets_the_fixtures_and_strategies_from_the_entry_points(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "policies.toml").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_host.py").write_text(textwrap.dedent(HOST_TEST), "utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers"],
        cwd=tmp_path / "tests",  # the rootdir (pytest.ini) is one up: paths are from there
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "2 passed, 1 error" in run.stdout, run.stdout + run.stderr
    assert "@pytest.mark.loopkit_playbook: expected a path, a Playbook" in run.stdout


def test_the_howto_shows_the_fixture_example_exactly_as_it_runs() -> None:
    page = (ROOT / "docs" / "howto-write-and-test-a-policy.md").read_text(encoding="utf-8")
    example = (Path(__file__).parent / "test_howto_policy_fixtures.py").read_text("utf-8")
    assert f"```python\n# doctest: skip\n{example}```\n" in page


def test_importing_loopkit_imports_neither_pytest_nor_hypothesis() -> None:
    code = (
        "import sys, loopkit, loopkit.testing, loopkit.cli\n"
        "from loopkit.testing import example_playbook\n"
        "example_playbook()\n"
        "assert 'pytest' not in sys.modules, 'loopkit imported pytest'\n"
        "assert 'hypothesis' not in sys.modules, 'loopkit imported hypothesis'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
