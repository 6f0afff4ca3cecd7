"""The public hypothesis strategies produce valid values; loopkit itself never needs hypothesis."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.testing import strategies as lks


def test_importing_loopkit_does_not_import_hypothesis() -> None:
    code = (
        "import sys, loopkit, loopkit.model, loopkit.errors, loopkit.testing\n"
        "assert 'hypothesis' not in sys.modules, 'loopkit imported hypothesis'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=60, deadline=None)
@given(lks.aware_datetimes())
def test_aware_datetimes_are_aware(at: datetime) -> None:
    assert at.tzinfo is not None
    assert at.utcoffset() is not None


@settings(max_examples=60, deadline=None)
@given(lks.ids())
def test_ids_are_valid_ids(value: str) -> None:
    assert loopkit.Customer(id=value, timezone="UTC").id == value


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_responses_on_a_given_scale_stay_on_it(data: st.DataObject) -> None:
    scale = data.draw(lks.scales())
    response = data.draw(lks.responses(scale=scale))
    assert response.scale == scale
    assert scale.minimum <= response.score <= scale.maximum


def test_dst_heavy_zones_are_drawn() -> None:
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None)
    @given(lks.timezone_names())
    def collect(name: str) -> None:
        seen.add(name)

    collect()
    assert seen & set(lks.DST_HEAVY_ZONES)
