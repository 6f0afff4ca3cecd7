"""loopkit's pytest plugin: fixtures for testing a policy, a plugin or a host's
own code against a real :class:`~loopkit.Loop`, in a few lines.

Installing loopkit registers this module with pytest (entry point
``pytest11``), so the fixtures are there in any test suite, without a
``conftest.py``:

- ``loopkit_playbook``: the playbook under test: the bundled example
  (:func:`~loopkit.testing.example_playbook`) unless the test says otherwise
  with the ``loopkit_playbook`` marker, or the fixture is overridden;
- ``loopkit_clock``: a :class:`~loopkit.testing.FakeClock` at Friday
  2026-11-20 15:30 Stockholm time;
- ``loopkit_channels``: a :class:`~loopkit.testing.RecordingChannel` for every
  channel the playbook's policies send on, by name;
- ``loopkit_store``: a fresh :class:`~loopkit.stores.MemoryStore`;
- ``loopkit_plugins``: further plugins for the loop (none; override it);
- ``loopkit_loop``: a :class:`~loopkit.Loop` over all of the above;
- ``loopkit_builders``: the builders (:class:`~loopkit.testing.Builders`),
  with times taken from ``loopkit_clock``.

The marker takes a policy file's path (relative to pytest's rootdir), a
:class:`~loopkit.Playbook`, a mapping such as parsed TOML, or the TOML text
itself as ``toml=``::

    @pytest.mark.loopkit_playbook("config/policies.toml")
    def test_gold_detractors_get_a_call(loopkit_loop, loopkit_builders):
        ...

Set it on a module with ``pytestmark = pytest.mark.loopkit_playbook(...)``.
loopkit is imported by the fixtures, not when pytest loads the plugin, so
coverage measured by a host sees its first import.
"""

from __future__ import annotations

import functools
import os
import random
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from loopkit.engine import Loop
    from loopkit.playbook import Playbook
    from loopkit.stores import Store

    from .builders import Builders
    from .channels import RecordingChannel
    from .clock import FakeClock

__all__: list[str] = []  # fixtures only: pytest finds them

_MARKER = (
    "loopkit_playbook(source=None, *, toml=None): the playbook the loopkit_* fixtures use: "
    "a policy file's path (relative to the rootdir), a Playbook, a mapping, or TOML text"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


@functools.cache
def _load(path: Path, stamp: float) -> Playbook:
    """A policy file, loaded once per session (again if it changed)."""
    from loopkit.playbook import load_playbook

    return load_playbook(path)


def _marked_playbook(marker: pytest.Mark, rootpath: Path) -> Playbook:
    from loopkit.playbook import Playbook, load_playbook

    toml = marker.kwargs.get("toml")
    if toml is not None:
        return load_playbook(tomllib.loads(toml))
    if len(marker.args) != 1:
        raise pytest.UsageError(
            "@pytest.mark.loopkit_playbook takes one source (a path, a Playbook or a "
            "mapping) or toml=TEXT"
        )
    source = marker.args[0]
    if isinstance(source, Playbook):
        return source
    if isinstance(source, Mapping):
        return load_playbook(source)
    if isinstance(source, str | os.PathLike):
        path = rootpath / Path(source)  # an absolute path stays as it is
        if not path.is_file():
            raise pytest.UsageError(f"@pytest.mark.loopkit_playbook: no file {path}")
        return _load(path, path.stat().st_mtime)
    raise pytest.UsageError(
        "@pytest.mark.loopkit_playbook: expected a path, a Playbook, a mapping or toml=TEXT, "
        f"got a {type(source).__name__}"
    )


@pytest.fixture
def loopkit_playbook(request: pytest.FixtureRequest) -> Playbook:
    """The playbook under test: the ``loopkit_playbook`` marker's, else the
    bundled example's."""
    marker = request.node.get_closest_marker("loopkit_playbook")
    if marker is not None:
        return _marked_playbook(marker, request.config.rootpath)
    from .builders import example_playbook

    return example_playbook()


@pytest.fixture
def loopkit_clock() -> FakeClock:
    """A :class:`~loopkit.testing.FakeClock` at Friday 2026-11-20 15:30 Stockholm time."""
    from .clock import FakeClock

    return FakeClock()


@pytest.fixture
def loopkit_channels(loopkit_playbook: Playbook) -> dict[str, RecordingChannel]:
    """A recording channel for each channel the playbook's policies send on."""
    from .channels import RecordingChannel

    return {name: RecordingChannel() for name in sorted(loopkit_playbook.policies.channels())}


@pytest.fixture
def loopkit_store() -> Store:
    """A fresh in-memory store."""
    from loopkit.stores import MemoryStore

    return MemoryStore()


@pytest.fixture
def loopkit_plugins() -> tuple[object, ...]:
    """Plugins the loop registers besides the recording channels: none.
    Override this fixture to test your own plugin through the loop."""
    return ()


@pytest.fixture
def loopkit_loop(
    loopkit_playbook: Playbook,
    loopkit_clock: FakeClock,
    loopkit_channels: dict[str, RecordingChannel],
    loopkit_store: Store,
    loopkit_plugins: tuple[object, ...],
) -> Loop:
    """A loop on the playbook, the fake clock, the recording channels, the
    store and the plugins; its random numbers (retry jitter) are seeded."""
    from loopkit.channels import ChannelPlugin
    from loopkit.engine import Loop

    return Loop(
        loopkit_playbook,
        plugins=[ChannelPlugin(loopkit_channels.items()), *loopkit_plugins],
        store=loopkit_store,
        clock=loopkit_clock,
        rng=random.Random(0),
    )


@pytest.fixture
def loopkit_builders(loopkit_clock: FakeClock) -> Builders:
    """The builders, answering at ``loopkit_clock``'s now."""
    from .builders import Builders

    return Builders(loopkit_clock)
