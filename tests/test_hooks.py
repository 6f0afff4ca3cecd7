"""The hookspecs are documented contracts, and the docs page covers every one."""

from __future__ import annotations

import inspect
from pathlib import Path

import pluggy
import pytest

import loopkit
from loopkit import hooks

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference-hooks.md"
SPECS = sorted(name for name in dir(hooks) if name.startswith("loopkit_"))


def test_the_markers_are_loopkits() -> None:
    assert isinstance(loopkit.hookimpl, pluggy.HookimplMarker)
    assert loopkit.hookimpl.project_name == "loopkit"
    assert loopkit.hookspec.project_name == "loopkit"


@pytest.mark.parametrize("name", SPECS)
def test_every_hookspec_states_its_contract(name: str) -> None:
    doc = inspect.getdoc(getattr(hooks, name)) or ""
    assert "Called" in doc, f"{name}: say when it is called"
    assert "raises" in doc, f"{name}: say what happens if it raises"
    assert "Return" in doc or "return" in doc, f"{name}: say what it returns"


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_has_a_section_and_an_example_in_the_reference(name: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"## `{name}`" in text, f"docs/reference-hooks.md has no section for {name}"
    section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    assert "```python" in section, f"the {name} section has no runnable example"
