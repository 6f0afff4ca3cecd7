"""loopkit's errors: one hierarchy, context as attributes, safe to pickle."""

from __future__ import annotations

import pickle

import pytest

import loopkit
from loopkit import (
    BusinessTimeError,
    ConflictError,
    IllegalTransition,
    LoopkitError,
    MissingStepError,
    PluginError,
    Problem,
    UnknownCase,
    UnknownCustomer,
    ValidationError,
)


@pytest.mark.parametrize(
    "kind",
    [
        ValidationError,
        BusinessTimeError,
        IllegalTransition,
        MissingStepError,
        ConflictError,
        PluginError,
        UnknownCase,
        UnknownCustomer,
    ],
)
def test_every_error_is_a_loopkit_error(kind: type[Exception]) -> None:
    assert issubclass(kind, LoopkitError)


def test_validation_errors_are_value_errors_and_business_time_is_validation() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(BusinessTimeError, ValidationError)
    assert issubclass(MissingStepError, IllegalTransition)


def test_a_validation_error_reads_like_a_compiler_message() -> None:
    err = ValidationError("policies[2].when.all[1].le", "a number", got="'six'", hint="see docs")
    assert str(err) == "policies[2].when.all[1].le: expected a number, got 'six' (see docs)"
    assert (err.path, err.expected, err.got) == ("policies[2].when.all[1].le", "a number", "'six'")
    assert err.problems == (Problem("policies[2].when.all[1].le", "a number", "'six'", "see docs"),)


def test_several_problems_and_a_source_file() -> None:
    err = ValidationError.of([Problem("a", "x"), Problem("b[0]", "y", "z")], source="policy.toml")
    assert str(err) == "policy.toml: 2 problems:\n  a: expected x\n  b[0]: expected y, got z"
    assert err.path == "a"
    assert err.in_source("other.toml").source == "other.toml"
    with pytest.raises(ValueError):
        ValidationError.of([])


def test_moving_an_error_under_a_path() -> None:
    err = ValidationError("Response.score", "an integer")
    moved = err.under("responses[4]", strip="Response")
    assert moved.path == "responses[4].score"
    assert ValidationError("[0]", "x").under("items").path == "items[0]"
    assert Problem("", "x").under("root").path == "root"
    assert str(Problem("", "x")) == "<root>: expected x"


def test_under_keeps_the_error_type() -> None:
    err = BusinessTimeError("Touchpoint.occurred_at", "a timezone-aware datetime")
    assert type(err.under("touchpoints[0]", strip="Touchpoint")) is BusinessTimeError


@pytest.mark.parametrize(
    "err",
    [
        ValidationError("a.b", "x", got="y", hint="h", source="f.toml"),
        ValidationError.of([Problem("a", "x"), Problem("b", "y")]),
        BusinessTimeError("at", "an aware datetime", "a naive datetime"),
        IllegalTransition("closed", "contact", ["reopen"]),
        MissingStepError("contacted", "resolve", ["callback", "apology"]),
        ConflictError("response r-1 was ingested twice with different scores"),
        ConflictError("response 'r-1' ...; expected ...", key="r-1", kind="response"),
        PluginError("hook loopkit_x returned a str"),
        PluginError("loopkit_holidays: expected dates, got a str", hook="loopkit_holidays"),
        UnknownCase("case 'case-9': expected the id of a stored case", case_id="case-9"),
        UnknownCase("promise 'p-9': expected ...", promise_id="p-9"),
        UnknownCase("message 'm-9': expected ...", message_id="m-9"),
        UnknownCustomer("customer 'c-9': expected ...", customer_id="c-9"),
        UnknownCustomer("no customer"),
    ],
    ids=lambda e: f"{type(e).__name__}-{e}"[:40],
)
def test_errors_survive_pickling(err: LoopkitError) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(err, protocol=protocol))
        assert type(copy) is type(err)
        assert str(copy) == str(err) and copy.args == err.args
        for name in CONTEXT:
            assert getattr(copy, name, None) == getattr(err, name, None), name


CONTEXT = (
    "problems",
    "source",
    "state",
    "transition",
    "allowed",
    "missing",
    "key",
    "kind",
    "response_id",
    "hook",
    "case_id",
    "promise_id",
    "message_id",
    "customer_id",
)
"""Every context attribute an error of loopkit's may carry."""


def test_errors_raised_the_old_way_still_work_and_say_nothing_they_do_not_know() -> None:
    """Code that raises with a message only (as before the attributes) keeps working."""
    conflict = ConflictError("response 'r-1' was ingested twice")
    assert (conflict.key, conflict.kind, conflict.response_id) == (None, None, None)
    assert PluginError("bad plugin").hook is None
    case = UnknownCase("case 'x': expected the id of a stored case")
    assert (case.case_id, case.promise_id, case.message_id) == (None, None, None)
    assert UnknownCustomer("customer 'x' unknown").customer_id is None
    assert str(conflict) == "response 'r-1' was ingested twice"


def test_a_conflict_names_what_collided() -> None:
    err = ConflictError("grant key 'g-1' was used before ...", key="g-1", kind="grant")
    assert (err.key, err.kind) == ("g-1", "grant")
    assert err.response_id is None  # only a response's key is a response id
    assert ConflictError("...", key="r-1", kind="response").response_id == "r-1"


def test_lookups_that_find_nothing_are_lookup_errors_defined_with_the_others() -> None:
    import loopkit.engine
    import loopkit.errors

    for name in ("UnknownCase", "UnknownCustomer"):
        error = getattr(loopkit, name)
        assert error is getattr(loopkit.errors, name) is getattr(loopkit.engine, name)
        assert error.__module__ == "loopkit.errors"
        assert issubclass(error, LookupError) and name in loopkit.errors.__all__


def test_the_context_attributes_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ConflictError("m", "r-1")  # type: ignore[misc]
    with pytest.raises(TypeError):
        UnknownCase("m", "case-1")  # type: ignore[misc]


def test_illegal_transition_carries_its_context() -> None:
    err = IllegalTransition("closed", "contact", ["reopen"])
    assert (err.state, err.transition, err.allowed) == ("closed", "contact", ("reopen",))
    assert str(err) == "cannot contact a case that is closed; allowed from closed: ['reopen']"


def test_missing_step_error_lists_what_is_missing() -> None:
    err = MissingStepError("contacted", "resolve", ["callback", "apology"])
    assert err.missing == ("apology", "callback")
    assert (err.state, err.transition) == ("contacted", "resolve")
    assert "missing: ['apology', 'callback']" in str(err)


def test_errors_are_exported_from_loopkit() -> None:
    for name in (
        "LoopkitError",
        "ValidationError",
        "BusinessTimeError",
        "IllegalTransition",
        "MissingStepError",
        "ConflictError",
        "PluginError",
        "Problem",
        "UnknownCase",
        "UnknownCustomer",
    ):
        assert name in loopkit.__all__
