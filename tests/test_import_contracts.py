"""The layering contracts in pyproject.toml (run by ``lint-imports`` in CI) hold for the
package as it is, and they bite: a forbidden import planted in a copy is caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import loopkit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(loopkit.__file__).resolve().parent  # the source tree, or the installed wheel
LINT = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(tmp_path: Path, plant: tuple[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the project's contracts over a copy of the package,
    with ``plant`` = (module file, line) added to one module first."""
    copy = tmp_path / "pkg" / "loopkit"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if plant is not None:
        module, line = plant
        target = copy / module
        target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config = tmp_path / "contracts.toml"
    config.write_text(_toml(contracts["tool"]["importlinter"]), encoding="utf-8")
    return subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(copy.parent), "PATH": str(LINT.parent)},
        timeout=120,
        check=False,
    )


def _toml(section: dict[str, object]) -> str:
    """The ``[tool.importlinter]`` section written back as TOML (strings, booleans,
    lists of strings and the list of contract tables are all it holds)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {value(v)}" for k, v in section.items() if k != "contracts"]
    for contract in section["contracts"]:  # type: ignore[attr-defined]
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{k} = {value(v)}" for k, v in contract.items()]
    return "\n".join(lines) + "\n"


def test_the_package_keeps_every_layering_contract(tmp_path: Path) -> None:
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("model/customer.py", "import loopkit.engine", "pure domain"),
        ("policies/decide.py", "import sqlite3", "pure domain"),
        ("businesstime/calendar.py", "import loopkit.policies", "Layers"),
        ("conditions/tree.py", "import loopkit.policies", "Layers"),
        ("conditions/fields.py", "import loopkit.compensation", "Layers"),
        ("compensation/values.py", "import loopkit.policies", "Layers"),
        ("conditions/compiler.py", "import subprocess", "pure domain"),
        ("stores/memory.py", "import loopkit.engine", "Layers"),
        ("_input/checks.py", "import loopkit.model", "Layers"),
        ("_input/reader.py", "import sqlite3", "pure domain"),
        ("policies/policy.py", "import loopkit.model._pickling", "Private modules"),
        ("stores/records.py", "from loopkit.businesstime import _table", "Private modules"),
    ],
)
def test_a_planted_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    result = _lint(tmp_path, plant=(module, line))
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
