"""The architecture, enforced: the pure domain never reaches for I/O, hooks or the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loopkit

SRC = Path(loopkit.__file__).resolve().parent  # the source tree, or the installed wheel
PURE = [
    "errors",
    "_input",
    "model",
    "businesstime",
    "conditions",
    "policies",
    "compensation",
    "metrics",
    "outcomes",
    "reports",
]
FORBIDDEN_IMPORTS = (
    "loopkit.engine",
    "loopkit.stores",
    "loopkit.channels",
    "loopkit.hooks",
    "loopkit.playbook",
    "pluggy",
    "sqlite3",
    "socket",
    "urllib",
)
FORBIDDEN_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter", "time_ns"}


def _modules() -> list[Path]:
    found: list[Path] = []
    for entry in PURE:
        path = SRC / entry
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_the_pure_domain_imports_no_engine_store_channel_or_io(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    bad = {n for n in _imports(tree) if n.startswith(FORBIDDEN_IMPORTS)}
    assert not bad, f"{module.name} imports {sorted(bad)}"


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_the_pure_domain_never_reads_the_clock(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & FORBIDDEN_CALLS, f"{module.name} calls {sorted(calls & FORBIDDEN_CALLS)}"
