"""Each part has one job, and so stays small: the modules of the packages that
were split (the command, the errors, the model) stay at 400 lines or fewer.
Add a package to ``SPLIT`` once it is split too."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopkit

SRC = Path(loopkit.__file__).resolve().parent  # the source tree, or the installed wheel
SPLIT = ("cli", "errors", "model")
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(path for package in SPLIT for path in (SRC / package).rglob("*.py"))


def test_the_split_parts_are_packages_not_modules() -> None:
    for package in SPLIT:
        assert (SRC / package / "__init__.py").is_file(), package
        assert not (SRC / f"{package}.py").exists(), package
    assert len(_modules()) >= 15  # the parametrised test below is not vacuous


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_each_module_stays_at_400_lines_or_fewer(module: Path) -> None:
    lines = module.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module.relative_to(SRC)} has {lines} lines"
