"""The plugins a command's loop runs with: those installed under the
``loopkit`` entry-point group (``--no-entry-points`` leaves them out) and
those named with ``--plugin module.path`` or ``--plugin module:attribute``
(repeatable), imported and registered as they are, in the order given."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

import attrs

from ._output import Failed

__all__ = ["Plugins", "add_options", "plugins_of"]


@attrs.frozen
class Plugins:
    """What a command's loop registers besides the console channel."""

    objects: tuple[object, ...] = ()
    entry_points: bool = False


def add_options(sub: argparse.ArgumentParser) -> None:
    """``--plugin`` and ``--no-entry-points`` on a command that builds a loop."""
    sub.add_argument(
        "--plugin",
        action="append",
        metavar="MODULE[:ATTR]",
        help="import this module (or an attribute of it) and register it as a plugin (repeatable)",
    )
    sub.add_argument(
        "--no-entry-points",
        dest="entry_points",
        action="store_false",
        help="do not load the plugins installed under the 'loopkit' entry-point group",
    )


def plugins_of(args: argparse.Namespace) -> Plugins:
    """The plugins ``args`` asks for (none for a command without the options)."""
    names: Sequence[str] = getattr(args, "plugin", None) or ()
    given: tuple[object, ...] = getattr(args, "extra_plugins", ())  # loopkit demo's team
    return Plugins(
        objects=(*(_load(name) for name in names), *given),
        entry_points=bool(getattr(args, "entry_points", False)),
    )


def _load(spec: str) -> object:
    """``module.path`` or ``module.path:attribute``; a name that cannot be
    imported is a usage error (exit 2), named with the exception's type."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or (":" in spec and not attribute):
        raise Failed(f"--plugin: expected module.path or module.path:attribute, got {spec!r}", 2)
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise Failed(f"--plugin {spec}: cannot import {module_name!r} ({err})", 2) from None
    except Exception as err:  # the module itself failed: named by its type only
        raise Failed(
            f"--plugin {spec}: importing {module_name!r} raised {type(err).__name__}", 2
        ) from None
    if not attribute:
        return module
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise Failed(f"--plugin {spec}: {module_name!r} has no attribute {attribute!r}", 2)
        found = getattr(found, part)
    return found
