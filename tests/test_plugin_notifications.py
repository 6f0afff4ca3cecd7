"""The plugin wrapper has one typed method per notification hook: it calls the hook
with keywords, skips a hook nobody implements, and logs (never raises) a plugin's
failure while the other plugins still hear of it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import loopkit
from loopkit import hooks
from loopkit.engine._plugins import PluginHooks, plugin_manager

T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
CASE = loopkit.FollowUpCase.open(id="case-1", customer_id="c-1", at=T0, by="system", topic="t")
PROMISE = loopkit.Promise(
    id="p-1",
    case_id="case-1",
    customer_id="c-1",
    kind="call_back",
    due_at=T0 + timedelta(hours=2),
    made_by="emp-7",
    made_at=T0,
)
ISSUE = loopkit.SystemicIssue(cause="campaign_targeting", state=loopkit.IssueState.OPEN, count=5)
NOTIFICATIONS = sorted(
    name
    for name in dir(hooks)
    if name.startswith("loopkit_")
    and (inspect.getdoc(getattr(hooks, name)) or "").startswith("Notification:")
)
ARGUMENTS: dict[str, dict[str, object]] = {
    "loopkit_case_opened": {"case": CASE},
    "loopkit_deadline_warning": {"case": CASE},
    "loopkit_deadline_breached": {"case": CASE},
    "loopkit_case_escalated": {"case": CASE},
    "loopkit_case_closed": {"case": CASE},
    "loopkit_promise_broken": {"promise": PROMISE, "case": CASE},
    "loopkit_issue_opened": {"issue": ISSUE},
    "loopkit_issue_grew": {"issue": ISSUE},
}


def typed(wrapper: PluginHooks, hook: str) -> Callable[..., None]:
    method: Callable[..., None] = getattr(wrapper, hook.removeprefix("loopkit_"))
    return method


class Listener:
    """Implements every notification hook and writes down what it heard."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, dict[str, object]]] = []

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_case_opened", {"case": case}))

    @loopkit.hookimpl
    def loopkit_deadline_warning(self, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_deadline_warning", {"case": case}))

    @loopkit.hookimpl
    def loopkit_deadline_breached(self, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_deadline_breached", {"case": case}))

    @loopkit.hookimpl
    def loopkit_case_escalated(self, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_case_escalated", {"case": case}))

    @loopkit.hookimpl
    def loopkit_case_closed(self, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_case_closed", {"case": case}))

    @loopkit.hookimpl
    def loopkit_promise_broken(self, promise: loopkit.Promise, case: loopkit.FollowUpCase) -> None:
        self.heard.append(("loopkit_promise_broken", {"promise": promise, "case": case}))

    @loopkit.hookimpl
    def loopkit_issue_opened(self, issue: loopkit.SystemicIssue) -> None:
        self.heard.append(("loopkit_issue_opened", {"issue": issue}))

    @loopkit.hookimpl
    def loopkit_issue_grew(self, issue: loopkit.SystemicIssue) -> None:
        self.heard.append(("loopkit_issue_grew", {"issue": issue}))


def wrapper(*plugins: object) -> PluginHooks:
    return PluginHooks(plugin_manager(plugins, load_entry_points=False))


def test_the_notification_hooks_are_the_ones_the_wrapper_knows() -> None:
    assert sorted(ARGUMENTS) == NOTIFICATIONS


@pytest.mark.parametrize("hook", NOTIFICATIONS)
def test_each_notification_hook_has_a_typed_method_with_its_parameters(hook: str) -> None:
    method = getattr(PluginHooks, hook.removeprefix("loopkit_"), None)
    assert method is not None, f"PluginHooks has no method for {hook}"
    spec = inspect.signature(getattr(hooks, hook))
    mine = inspect.signature(method)
    assert list(mine.parameters)[1:] == list(spec.parameters)
    for name, parameter in spec.parameters.items():
        assert mine.parameters[name].annotation == parameter.annotation
        assert mine.parameters[name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert mine.return_annotation == "None"


@pytest.mark.parametrize("hook", NOTIFICATIONS)
def test_each_typed_method_tells_every_plugin_that_implements_its_hook(hook: str) -> None:
    first, second = Listener(), Listener()
    typed(wrapper(first, second), hook)(**ARGUMENTS[hook])
    assert first.heard == [(hook, ARGUMENTS[hook])]
    assert second.heard == [(hook, ARGUMENTS[hook])]


def test_a_plugin_may_take_fewer_arguments_than_the_hook_names() -> None:
    heard: list[str] = []

    class OnlyThePromise:
        @loopkit.hookimpl
        def loopkit_promise_broken(self, promise: loopkit.Promise) -> None:
            heard.append(promise.id)

    wrapper(OnlyThePromise()).promise_broken(PROMISE, CASE)
    assert heard == ["p-1"]


@pytest.mark.parametrize("hook", NOTIFICATIONS)
def test_a_hook_nobody_implements_is_skipped_without_calling_pluggy(
    hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = wrapper(loopkit.ChannelPlugin({}))

    class NoHooks:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"pm.hook.{name} was touched")

    monkeypatch.setattr(quiet.pm, "hook", NoHooks())
    assert typed(quiet, hook)(**ARGUMENTS[hook]) is None


@pytest.mark.parametrize("hook", NOTIFICATIONS)
def test_a_failing_plugin_is_logged_by_type_and_the_others_still_hear(
    hook: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        pass

    def fail(self: object, **kwargs: object) -> None:
        raise KeyError("anna@example.com")

    fail.__name__ = hook
    setattr(Broken, hook, loopkit.hookimpl(fail))
    listener = Listener()
    with caplog.at_level(logging.DEBUG, logger="loopkit"):
        typed(wrapper(listener, Broken()), hook)(**ARGUMENTS[hook])
    assert listener.heard == [(hook, ARGUMENTS[hook])]
    [record] = [r for r in caplog.records if r.name == "loopkit"]
    assert record.levelno == logging.ERROR
    assert hook in record.getMessage() and "KeyError" in record.getMessage()
    assert "anna@" not in caplog.text
