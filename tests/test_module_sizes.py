"""Each part has one job, and so stays small: no module of the package is over
about 400 lines (a few are a little over; the limit here says how far "about" goes),
and the parts that were split are packages, not single modules."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopkit

SRC = Path(loopkit.__file__).resolve().parent  # the source tree, or the installed wheel
MAX_LINES = 425
SPLIT = ("cli", "errors", "conditions", "_input", "engine", "stores", "testing")


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_the_split_parts_are_packages_not_modules() -> None:
    for package in SPLIT:
        assert (SRC / package / "__init__.py").is_file(), package
        assert not (SRC / f"{package}.py").exists(), package
    assert len(_modules()) >= 100  # the parametrised test below is not vacuous


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_each_module_stays_at_about_400_lines(module: Path) -> None:
    lines = module.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module.relative_to(SRC)} has {lines} lines: split it by subject"
