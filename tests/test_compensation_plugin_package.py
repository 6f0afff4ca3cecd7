"""The example plugin package (examples/loopkit-fitted-offers), installed with
pip and found by a Loop through its entry point: it fits the offer to what the
customer bought and what they are worth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from loopkit import GrantStatus, Loop, OfferSource, load_playbook
from loopkit.testing import FakeClock, make_customer, make_response, make_touchpoint

PACKAGE = Path(__file__).resolve().parents[1] / "examples" / "loopkit-fitted-offers"
FITTED = OfferSource.plugin("fitted-offers")
PLAYBOOK_FILE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built and installed into a folder of its own, offline (its
    build backend, hatchling, is in loopkit's dev extra)."""
    target = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PACKAGE),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    return target


@pytest.fixture
def on_path(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(installed))
    yield
    sys.modules.pop("loopkit_fitted_offers", None)


def _ingest(loop: Loop, customer_value: int) -> str:
    bought = make_touchpoint(
        "support_contact",
        attributes={"product": "body lotion", "price": "149 SEK"},
    )
    customer = make_customer("c-1", value=Decimal(customer_value), segment="gold")
    result = loop.ingest(make_response(2, touchpoint=bought), customer=customer)
    assert result.case is not None
    return result.case.id


def test_the_loop_finds_the_installed_plugin_through_its_entry_point(on_path: None) -> None:
    loop = Loop(
        load_playbook(PLAYBOOK_FILE),
        clock=FakeClock(),
        load_entry_points=True,
        check_channels=False,
    )
    case_id = _ingest(loop, customer_value=20_000)
    offers = loop.compensation.offers(case_id)
    fitted = [p for p in offers if p.source == FITTED]
    assert [(p.offer.kind.value, str(p.offer.value)) for p in fitted] == [
        ("discount_code", "500 SEK"),  # 5% of a valuable customer's year, at most 500
        ("free_product", "149 SEK"),
    ]
    assert fitted[1].offer.what == "body lotion"
    shown = loop.case(case_id).events[-1]
    assert "plugin:fitted-offers free_product 149 SEK (body lotion)" in shown.details["offers"]
    granted = loop.compensation.grant(case_id, fitted[1], by="emp-7", key="fit-1")
    assert granted.status is GrantStatus.GRANTED  # within the agent's 200 SEK
    assert loop.compensation.ledger(case_id=case_id).entries[0].source == FITTED


def test_without_entry_points_the_plugin_is_not_loaded(on_path: None) -> None:
    loop = Loop(load_playbook(PLAYBOOK_FILE), clock=FakeClock(), check_channels=False)
    case_id = _ingest(loop, customer_value=800)
    assert FITTED not in {p.source for p in loop.compensation.offers(case_id)}


def test_an_ordinary_customer_is_offered_half_the_price(on_path: None) -> None:
    loop = Loop(
        load_playbook(PLAYBOOK_FILE),
        clock=FakeClock(),
        load_entry_points=True,
        check_channels=False,
    )
    case_id = _ingest(loop, customer_value=800)
    later = loop.case(case_id).opened_at + timedelta(minutes=5)
    fitted = [p for p in loop.compensation.offers(case_id, at=later) if p.source == FITTED]
    assert [str(p.offer.value) for p in fitted] == ["149 SEK", "75 SEK"]


def test_the_how_to_shows_the_package_as_it_is() -> None:
    howto = (PACKAGE.parents[1] / "docs" / "howto-write-a-compensation-plugin.md").read_text(
        encoding="utf-8"
    )
    source = PACKAGE / "src" / "loopkit_fitted_offers" / "__init__.py"
    assert source.read_text(encoding="utf-8") in howto
    assert (PACKAGE / "pyproject.toml").read_text(encoding="utf-8") in howto
