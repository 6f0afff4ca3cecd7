"""``loopkit demo``, the README's main command: the bundled example (eight
weeks of a retailer's survey export) run end to end, ingest, ticks, cases
called back and closed with root causes, re-surveys answered, and a report
with NPS and its interval, cases opened and closed, SLA compliance, recovery
and the top root causes; as HTML, drawn by headless Chromium."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

import loopkit
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PACKAGED = Path(loopkit.__file__).resolve().parent / "_demo"


def _chromium_helpers() -> ModuleType:
    """tests/test_reports_chromium.py: its PNG decoder, chart colours and pixel finder."""
    path = Path(__file__).with_name("test_reports_chromium.py")
    spec = importlib.util.spec_from_file_location("_chromium_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _chromium_helpers()
CHARTS, CHROMIUM = _helpers.CHARTS, _helpers.CHROMIUM
_where, decode_png = _helpers._where, _helpers.decode_png


@pytest.mark.parametrize("name", ["export.csv", "export-mapping.toml", "policies.toml"])
def test_the_packaged_example_is_the_one_in_examples_byte_for_byte(name: str) -> None:
    assert (PACKAGED / name).read_bytes() == (EXAMPLES / name).read_bytes()


def test_the_generator_writes_the_committed_export_again(tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "generate_export.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (EXAMPLES / "export.csv").read_bytes()


def _export() -> list[dict[str, str]]:
    with (EXAMPLES / "export.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_export_looks_like_a_real_one() -> None:
    rows = _export()
    assert 2000 <= len(rows) <= 5000
    assert len({r["Touchpoint"] for r in rows}) >= 5
    assert len({r["Channel"] for r in rows}) >= 4
    assert len({r["Time zone"] for r in rows}) >= 5
    days = Counter(r["Submitted At"][:10] for r in rows)
    ordinary = sorted(n for d, n in days.items() if d.startswith("2026-12-1"))
    assert days["2026-12-25"] < ordinary[len(ordinary) // 2] / 2  # Christmas is quiet
    customers = Counter(r["Customer"] for r in rows)
    assert sum(1 for n in customers.values() if n > 1) > 100  # customers come back


def _nps(rows: list[dict[str, str]]) -> tuple[float, int]:
    scores = [int(r["Score"]) for r in rows]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    return 100 * (promoters - detractors) / len(scores), len(scores)


def test_the_demo_runs_the_whole_loop_and_prints_what_a_team_recognises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    started = time.monotonic()
    assert main(["demo", "--db", str(db)]) == 0
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert err == ""
    assert took < 30  # about 3 s on a laptop; generous for a shared CI machine
    assert "$ loopkit check policies.toml" in out
    assert "$ loopkit run export.csv --mapping export-mapping.toml --policies policies.toml" in out
    rows = _export()
    nps, n = _nps(rows)
    assert re.search(
        rf"NPS +{re.escape(f'{nps:+.1f}')} +\[[+-]\d+\.\d, [+-]\d+\.\d\] +n={n}\b", out
    ), out
    assert f"{n} responses ingested" in out and "0 failed" in out
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        cases = tx.cases()
    closed = [c for c in cases if c.is_closed]
    assert 0.5 * len(cases) < len(closed) < len(cases)  # most, not all
    opened = re.search(r"cases opened +(\d+)", out)
    assert opened is not None and int(opened.group(1)) == len(cases)
    share = re.search(r"closed +(\d+\.\d)%", out)
    assert share is not None and float(share.group(1)) == round(100 * len(closed) / len(cases), 1)
    assert re.search(r"in time \(SLA\) +\d+\.\d%", out)
    breached = [c for c in cases if any(e.kind == "deadline_breached" for e in c.events)]
    assert breached  # some deadlines were missed: the team never picked some cases up
    recovered = [c for c in cases if c.recovery is not None]
    assert recovered and re.search(r"recovered +\d+\.\d% +\[", out)  # re-surveys answered
    causes = Counter(cause for case in cases for cause in case.root_causes)
    top = out[out.index("Top root causes") :].splitlines()[1:6]
    shown = [(line.split()[0], int(line.split()[1])) for line in top]
    assert [n for _, n in shown] == sorted(causes.values(), reverse=True)[:5]
    assert all(causes[name] == count for name, count in shown)
    assert "spent" in out and "grants" in out
    for row in rows[:200]:  # no personal data
        for secret in (row["Name"], row["Email"], row["Comment"]):
            assert not secret or secret not in out


def test_the_demo_tells_the_same_story_every_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "database: in memory" in first
    assert main(["demo"]) == 0
    assert capsys.readouterr().out == first


def test_python_dash_m_loopkit_demo_runs_from_any_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loopkit", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Top root causes" in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_the_demo_writes_an_html_report_that_chromium_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    assert main(["demo", "--format", "html", "--output", str(page)]) == 0
    out = capsys.readouterr().out
    assert "--format html --output report.html" in out and f"written to {page}" in out
    if not CHROMIUM.exists():
        if os.environ.get("LOOPKIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LOOPKIT_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing")
        pytest.skip("/usr/bin/chromium is not installed")
    shot = tmp_path / "report.png"
    width, height = 1200, 3200
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={width},{height}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    w, h, bpp, rows = decode_png(shot.read_bytes())
    assert (w, h) == (width, height)
    for chart, (colour, _) in CHARTS.items():
        count, (x0, y0, x1, y1) = _where(rows, bpp, colour)
        assert count >= 200, f"{chart}: {count} pixels of {colour}"
        assert x1 - x0 >= 20 and y1 - y0 >= 5, f"{chart}: {x0, y0, x1, y1}"
