"""The engine's plugin manager and the one typed wrapper that calls hooks."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

import pluggy

from loopkit import hooks
from loopkit.channels import Channel
from loopkit.errors import PluginError
from loopkit.model import Category, Customer, FollowUpCase, Response
from loopkit.stores import MemoryStore, Store

log = logging.getLogger("loopkit")


class _DefaultStore:
    """The in-memory store, registered ``trylast`` so any other store wins."""

    @hooks.hookimpl(trylast=True)
    def loopkit_store(self) -> Store:
        return MemoryStore()


def plugin_manager(plugins: Iterable[object], *, load_entry_points: bool) -> pluggy.PluginManager:
    """A fresh manager owned by one loop: no global state between loops or tests."""
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)
    pm.register(_DefaultStore(), name="loopkit.default-store")
    for plugin in plugins:
        pm.register(plugin)
    if load_entry_points:
        pm.load_setuptools_entrypoints(hooks.PROJECT)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginError(f"a plugin implements a hook loopkit does not have: {err}") from err
    return pm


class PluginHooks:
    """The only code that touches ``pm.hook``: one typed method per hook, always
    called with keyword arguments; hooks without implementations are skipped."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._has = {
            name: bool(getattr(pm.hook, name).get_hookimpls())
            for name in dir(hooks)
            if name.startswith("loopkit_")
        }

    def _call(self, name: str, **kwargs: Any) -> Any:
        return getattr(self.pm.hook, name)(**kwargs)

    def channels(self) -> dict[str, Channel]:
        found: dict[str, Channel] = {}

        def register(name: str, channel: Channel) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"a channel must be registered under a name, got {name!r}")
            if not callable(getattr(channel, "send", None)):
                raise PluginError(f"channel {name!r} has no send(message) method")
            if name in found:
                raise PluginError(f"two plugins registered a channel named {name!r}")
            found[name] = channel

        if self._has["loopkit_register_channels"]:
            self._call("loopkit_register_channels", register=register)
        return found

    def store(self) -> Store:
        store = self._call("loopkit_store")
        if store is None or not callable(getattr(store, "transaction", None)):
            raise PluginError(f"loopkit_store returned {type(store).__name__}, not a Store")
        found: Store = store
        return found

    def load_customer(self, customer_id: str) -> Customer | None:
        if not self._has["loopkit_load_customer"]:
            return None
        found = self._call("loopkit_load_customer", customer_id=customer_id)
        if found is not None and not isinstance(found, Customer):
            raise PluginError(f"loopkit_load_customer returned {type(found).__name__}")
        return found

    def classify(self, response: Response) -> Category | None:
        if not self._has["loopkit_classify_response"]:
            return None
        found = self._call("loopkit_classify_response", response=response)
        if found is not None and not isinstance(found, Category):
            raise PluginError(f"loopkit_classify_response returned {type(found).__name__}")
        return found

    def root_causes(self, response: Response | None, case: FollowUpCase) -> set[str]:
        if not self._has["loopkit_tag_root_causes"]:
            return set()
        tags: set[str] = set()
        for result in self._call("loopkit_tag_root_causes", response=response, case=case):
            tags.update(result or ())
        return tags

    def holidays(self, calendar: str, years: range) -> set[date]:
        if not self._has["loopkit_holidays"]:
            return set()
        days: set[date] = set()
        for result in self._call("loopkit_holidays", calendar=calendar, years=years):
            days.update(result or ())
        return days

    def notify(self, name: str, **kwargs: Any) -> None:
        """Call a notification hook; each implementation's error is logged, not raised."""
        if not self._has[name]:
            return
        for impl in reversed(getattr(self.pm.hook, name).get_hookimpls()):
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as err:  # a failing plugin never stops the loop or the others
                log.error("plugin %s failed in %s: %s", impl.plugin_name, name, type(err).__name__)
