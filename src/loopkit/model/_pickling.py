"""Pickling for values with read-only mappings (free attributes, event details).

``types.MappingProxyType`` cannot be pickled, so a value holding one (a
:class:`~loopkit.Customer`'s ``attributes``) would not cross a process
boundary. Classes that hold such mappings set ``__getstate__ = getstate`` and
``__setstate__ = setstate``: the mappings travel as plain dicts and are made
read-only again on arrival. Nothing global (no ``copyreg``) is changed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

import attrs

_PROXIES: Final = "__read_only__"


def getstate(self: Any) -> dict[str, Any]:
    """Every field's value, read-only mappings as dicts (named under a marker key)."""
    state: dict[str, Any] = {}
    proxies: list[str] = []
    for field in attrs.fields(type(self)):
        value = getattr(self, field.name)
        if isinstance(value, MappingProxyType):
            value = dict(value)
            proxies.append(field.name)
        state[field.name] = value
    state[_PROXIES] = tuple(proxies)
    return state


def setstate(self: Any, state: dict[str, Any]) -> None:
    """Restore what :func:`getstate` gave, read-only mappings included."""
    proxies = frozenset(state.get(_PROXIES, ()))
    for name, value in state.items():
        if name == _PROXIES:
            continue
        object.__setattr__(self, name, MappingProxyType(value) if name in proxies else value)
