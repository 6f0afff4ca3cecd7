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
        PluginError("hook loopkit_x returned a str"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(err: LoopkitError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    for name in ("problems", "source", "state", "transition", "allowed", "missing"):
        assert getattr(copy, name, None) == getattr(err, name, None)


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
    ):
        assert name in loopkit.__all__
