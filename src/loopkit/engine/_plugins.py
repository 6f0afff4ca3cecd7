"""The engine's plugin manager and the one typed wrapper that calls hooks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import pluggy

from loopkit import hooks
from loopkit._input.checks import check_slug
from loopkit.channels import Channel
from loopkit.compensation import Proposal, StaffMember
from loopkit.errors import PluginError, ValidationError, describe_input
from loopkit.model import Category, Customer, FollowUpCase, Promise, Response
from loopkit.outcomes import SystemicIssue
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
        raise PluginError(
            f"a plugin implements a hook loopkit does not have: {err}; expected only the "
            "loopkit_* hooks of loopkit.hooks"
        ) from err
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
        """Call a hook; an implementation that raises becomes a :class:`PluginError`
        naming the hook. The plugin's own exception is kept as ``__cause__`` but
        never formatted into the message: its text may hold personal data
        (``KeyError('anna@example.com')`` from a CRM lookup)."""
        try:
            return getattr(self.pm.hook, name)(**kwargs)
        except PluginError:  # loopkit's own, raised by a register callback
            raise
        except Exception as err:
            raise PluginError(
                f"{name}: a plugin raised {_type_name(err)}; expected it to return "
                f"{_RETURNS[name]} (the plugin's exception is this error's __cause__, "
                "its text is not shown: it may hold personal data)",
                hook=name,
            ) from err

    def channels(self) -> dict[str, Channel]:
        found: dict[str, Channel] = {}

        def register(name: str, channel: Channel) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(
                    "loopkit_register_channels: expected a channel registered under a name, "
                    f"got {describe_input(name)}",
                    hook="loopkit_register_channels",
                )
            if not callable(getattr(channel, "send", None)):
                raise PluginError(
                    f"loopkit_register_channels: channel {name!r} has no send(message) "
                    "method; expected an object with send(message)",
                    hook="loopkit_register_channels",
                )
            if name in found:
                raise PluginError(
                    f"loopkit_register_channels: two plugins registered a channel named "
                    f"{name!r}; expected each name once",
                    hook="loopkit_register_channels",
                )
            found[name] = channel

        if self._has["loopkit_register_channels"]:
            self._call("loopkit_register_channels", register=register)
        return found

    def store(self) -> Store:
        store = self._call("loopkit_store")
        if store is None or not callable(getattr(store, "transaction", None)):
            raise _wrong_type("loopkit_store", store)
        found: Store = store
        return found

    def load_customer(self, customer_id: str) -> Customer | None:
        if not self._has["loopkit_load_customer"]:
            return None
        found = self._call("loopkit_load_customer", customer_id=customer_id)
        if found is not None and not isinstance(found, Customer):
            raise _wrong_type("loopkit_load_customer", found)
        if found is not None and found.id != customer_id:
            raise PluginError(
                f"loopkit_load_customer: asked for customer {customer_id!r}, expected that "
                "customer or None, got a customer with another id",
                hook="loopkit_load_customer",
            )
        return found

    def classify(self, response: Response) -> Category | None:
        if not self._has["loopkit_classify_response"]:
            return None
        found = self._call("loopkit_classify_response", response=response)
        if found is not None and not isinstance(found, Category):
            raise _wrong_type("loopkit_classify_response", found)
        return found

    def root_causes(self, response: Response | None, case: FollowUpCase) -> set[str]:
        if not self._has["loopkit_tag_root_causes"]:
            return set()
        tags: set[str] = set()
        for result in self._call("loopkit_tag_root_causes", response=response, case=case):
            for tag in _items("loopkit_tag_root_causes", result):
                if not isinstance(tag, str):
                    raise _wrong_type("loopkit_tag_root_causes", tag, item=True)
                try:
                    tags.add(check_slug(tag, "tag", "a root-cause tag"))
                except ValidationError:
                    raise _wrong_type("loopkit_tag_root_causes", tag, item=True) from None
        return tags

    def holidays(self, calendar: str, years: range) -> set[date]:
        if not self._has["loopkit_holidays"]:
            return set()
        days: set[date] = set()
        for result in self._call("loopkit_holidays", calendar=calendar, years=years):
            for day in _items("loopkit_holidays", result):
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise _wrong_type("loopkit_holidays", day, item=True)
                days.add(day)
        return days

    def load_staff(self, employee_id: str) -> StaffMember | None:
        if not self._has["loopkit_load_staff"]:
            return None
        found = self._call("loopkit_load_staff", employee_id=employee_id)
        if found is not None and not isinstance(found, StaffMember):
            raise _wrong_type("loopkit_load_staff", found)
        if found is not None and found.id != employee_id:
            raise PluginError(
                f"loopkit_load_staff: asked for employee {employee_id!r}, expected that "
                "employee or None, got a staff member with another id",
                hook="loopkit_load_staff",
            )
        return found

    def propose_offers(
        self, case: FollowUpCase, response: Response | None, customer: Customer
    ) -> list[Proposal]:
        if not self._has["loopkit_propose_offers"]:
            return []
        found: list[Proposal] = []
        results = self._call(
            "loopkit_propose_offers", case=case, response=response, customer=customer
        )
        for result in results:
            for proposal in _items("loopkit_propose_offers", result):
                if not isinstance(proposal, Proposal):
                    raise _wrong_type("loopkit_propose_offers", proposal, item=True)
                found.append(proposal)
        return found

    # Notification hooks: one typed method each. They run after the change they
    # report is committed; each implementation's error is logged (its type only:
    # the text may hold personal data), never raised, and the others still run.

    def case_opened(self, case: FollowUpCase) -> None:
        """``loopkit_case_opened``: a case was opened."""
        if self._has["loopkit_case_opened"]:
            self._notify("loopkit_case_opened", case=case)

    def deadline_warning(self, case: FollowUpCase) -> None:
        """``loopkit_deadline_warning``: a case's deadline is near."""
        if self._has["loopkit_deadline_warning"]:
            self._notify("loopkit_deadline_warning", case=case)

    def deadline_breached(self, case: FollowUpCase) -> None:
        """``loopkit_deadline_breached``: a case passed its deadline without a first contact."""
        if self._has["loopkit_deadline_breached"]:
            self._notify("loopkit_deadline_breached", case=case)

    def case_escalated(self, case: FollowUpCase) -> None:
        """``loopkit_case_escalated``: a case moved one step up its escalation ladder."""
        if self._has["loopkit_case_escalated"]:
            self._notify("loopkit_case_escalated", case=case)

    def case_closed(self, case: FollowUpCase) -> None:
        """``loopkit_case_closed``: a case was closed."""
        if self._has["loopkit_case_closed"]:
            self._notify("loopkit_case_closed", case=case)

    def promise_broken(self, promise: Promise, case: FollowUpCase) -> None:
        """``loopkit_promise_broken``: a promise was not kept; ``case`` is its recovery case."""
        if self._has["loopkit_promise_broken"]:
            self._notify("loopkit_promise_broken", promise=promise, case=case)

    def issue_opened(self, issue: SystemicIssue) -> None:
        """``loopkit_issue_opened``: a root cause crossed the threshold (or recurred)."""
        if self._has["loopkit_issue_opened"]:
            self._notify("loopkit_issue_opened", issue=issue)

    def issue_grew(self, issue: SystemicIssue) -> None:
        """``loopkit_issue_grew``: an open issue's count doubled since the host was last told."""
        if self._has["loopkit_issue_grew"]:
            self._notify("loopkit_issue_grew", issue=issue)

    def _notify(self, name: str, **kwargs: Any) -> None:
        for impl in reversed(getattr(self.pm.hook, name).get_hookimpls()):
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as err:  # a failing plugin never stops the loop or the others
                log.error("plugin %s failed in %s: %s", impl.plugin_name, name, _type_name(err))


_RETURNS: Final = {
    "loopkit_register_channels": "None after calling register(name, channel)",
    "loopkit_store": "a Store or None",
    "loopkit_load_customer": "a Customer or None",
    "loopkit_classify_response": "a Category or None",
    "loopkit_tag_root_causes": "an iterable of root-cause tags such as ['billing']",
    "loopkit_holidays": "an iterable of dates",
    "loopkit_load_staff": "a StaffMember or None",
    "loopkit_propose_offers": "an iterable of Proposal values with a plugin source",
}
"""What each hook that answers must return, as its errors say it."""


def _type_name(value: object) -> str:
    return type(value).__name__


def _wrong_type(hook: str, value: object, *, item: bool = False) -> PluginError:
    """The error for a hook that returned the wrong kind of value (described,
    never shown: a plugin may return personal data where a tag belongs)."""
    what = "an item" if item else "a result"
    return PluginError(
        f"{hook}: expected {_RETURNS[hook]}, got {what} that is {describe_input(value)}",
        hook=hook,
    )


def _items(hook: str, result: object) -> Iterable[object]:
    """A hook's result as the items it holds: a collection, never a string
    (``"billing"`` is one tag, not the tags b, i, l, n, g) nor a mapping."""
    if result is None:
        return ()
    if isinstance(result, str | bytes | bytearray | Mapping) or not isinstance(result, Iterable):
        raise _wrong_type(hook, result)
    return result
