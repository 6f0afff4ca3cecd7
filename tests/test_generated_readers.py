"""The readers generated per class (loopkit._input.compiled) accept exactly
what the full Reader accepts, into equal values, and leave every error to it:
``from_dict`` with them and without them (the Reader alone, as before) give
the same value, or the same error type, paths and messages, on valid and
on corrupted input."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit.model.customer as customer_module
import loopkit.model.response as response_module
import loopkit.model.touchpoint as touchpoint_module
from loopkit import ContactPoint, ContactPreferences, Customer, Response, Touchpoint
from loopkit._input.compiled import SLOW
from loopkit.cli._feed import read_line
from loopkit.testing import strategies as lks

_FAST = [
    (touchpoint_module, "_read"),
    (customer_module, "_read_point"),
    (customer_module, "_read_contact"),
    (customer_module, "_read_customer"),
    (response_module, "_read"),
]


@contextlib.contextmanager
def reader_alone() -> Iterator[None]:
    """``from_dict`` as it was: every mapping read by the full Reader."""
    with contextlib.ExitStack() as stack:
        for module, name in _FAST:
            stack.enter_context(mock.patch.object(module, name, return_value=SLOW))
        yield


def outcome(read: Callable[[Any], Any], data: Any) -> tuple[Any, ...]:
    """What reading ``data`` gives: the value with everything that tells two
    equal values apart, or the error's type, message and problems."""
    try:
        value = read(data)  # no reader changes its input
    except Exception as err:  # the same error, whatever it is
        return ("error", type(err), str(err), getattr(err, "problems", None))
    if isinstance(value, tuple):  # read_line: subject and customer
        return ("line", *(_shape(v) for v in value))
    return ("value", *_shape(value))


def _shape(value: Any) -> tuple[Any, ...]:
    return (
        type(value),
        value,
        json.dumps(value.to_dict(), sort_keys=True, default=str),
        getattr(value, "category", None),
        repr(value),
    )


def same(read: Callable[[Any], Any], data: Any) -> tuple[Any, ...]:
    new = outcome(read, data)
    with reader_alone():
        old = outcome(read, data)
    assert new == old
    return new


ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 7, 11, 2**70, 1.5, math.nan, "", " ", "a b", "c-1", "emp 7",
    "x@example.com", "+46 70 123 45 67", "nps", "NPS", "csat", "Europe/Stockholm",
    "posix/UTC", "localtime", "Mars/Base", "2026-01-05T07:00:00+00:00",
    "2026-01-05T07:00:00Z", "2026-01-05T07:00:00z", "2026-01-05T07:00:00", "not a time",
    "20:00-08:00", "25:00-08:00", "relationship", "gold", " gold", "gold\n", "\x00",
    "a\x00b", "a\tb", "\x7f", "\ud800", "é", "x" * 201, "x" * 321, "email", "Email", "phone",
    "purchase", "12.5", "1e3", "sv-SE", [], [1], ["a"], (), {}, {"a": 1}, {"channel": "email"},
    {"channel": "email", "address": "a@example.com"}, MappingProxyType({"a": 1}),
]  # fmt: skip


def _fresh(value: Any) -> Any:
    """A copy of an odd table or list, so that no change reaches the shared one."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _places(data: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``data``, nested ones included."""
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((data, key))
            _places(value, out)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((data, i))
            _places(value, out)
    return out


@st.composite
def corrupted(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A valid value's dict, with up to three places changed: a value
    replaced by an odd one, a key removed or misspelt, a table made a
    read-only mapping or a list a tuple."""
    data = draw(valid).to_dict()
    for _ in range(draw(st.integers(0, 3))):
        places = _places(data, [])
        if not places:
            break
        holder, key = draw(st.sampled_from(places))
        move = draw(st.sampled_from(["value", "value", "drop", "unknown", "wrap"]))
        if move == "value":
            holder[key] = _fresh(draw(st.sampled_from(ODD_VALUES)))
        elif move == "drop" and isinstance(holder, dict):
            del holder[key]
        elif move == "unknown" and isinstance(holder, dict):
            holder[str(key) + draw(st.sampled_from(["s", "_", "x"]))] = holder.pop(key)
        elif move == "wrap" and isinstance(holder[key], dict):
            holder[key] = MappingProxyType(holder[key])
        elif move == "wrap" and isinstance(holder[key], list):
            holder[key] = tuple(holder[key])
    return data


READERS: list[tuple[Callable[[Any], Any], st.SearchStrategy[Any]]] = [
    (Touchpoint.from_dict, lks.touchpoints()),
    (ContactPoint.from_dict, lks.contact_points()),
    (ContactPreferences.from_dict, lks.contact_preferences()),
    (Customer.from_dict, lks.customers()),
    (Response.from_dict, lks.responses()),
]
IDS = ["touchpoint", "contact_point", "contact", "customer", "response"]


@pytest.mark.parametrize(("read", "valid"), READERS, ids=IDS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_input_reads_into_the_same_value(
    read: Callable[[Any], Any], valid: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(valid)
    kind, *_ = same(read, value.to_dict())
    assert kind == "value"


@pytest.mark.parametrize(("read", "valid"), READERS, ids=IDS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupted_input_gives_the_same_value_or_error(
    read: Callable[[Any], Any], valid: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    same(read, data.draw(corrupted(valid)))


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "response": draw(corrupted(lks.responses())),
        "customer": draw(corrupted(lks.customers())),
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.one_of(lines(), corrupted(st.builds(lambda: _Line()))))
def test_a_feed_line_reads_the_same(line: dict[str, Any]) -> None:
    same(read_line, line)


class _Line:
    """A valid feed line, for :func:`corrupted` to damage anywhere (the
    top-level keys too)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "response": {
                "id": "r-1",
                "customer_id": "c-1",
                "scale": "nps",
                "score": 3,
                "answered_at": "2026-01-05T07:00:00+00:00",
                "source": "email_survey",
                "touchpoint": {
                    "id": "t-1",
                    "kind": "support_contact",
                    "channel": "phone",
                    "occurred_at": "2026-01-05T06:00:00+01:00",
                    "employee_id": "emp-7",
                },
            },
            "customer": {
                "id": "c-1",
                "timezone": "Europe/Stockholm",
                "segment": "gold",
                "name": "Anna",
                "contact": {
                    "channels": [{"channel": "email", "address": "anna@example.com"}],
                    "quiet_hours": "20:00-08:00",
                },
            },
        }


def _each_change(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``data`` with one place changed, in every way :func:`corrupted` knows."""
    for at in range(len(_places(data, []))):
        for value in [*ODD_VALUES, _DROP, _RENAME]:
            changed = copy.deepcopy(data)
            holder, key = _places(changed, [])[at]
            if value is _DROP:
                if isinstance(holder, dict):
                    del holder[key]
            elif value is _RENAME:
                if isinstance(holder, dict):
                    holder[f"{key}s"] = holder.pop(key)
            else:
                holder[key] = _fresh(value)
            yield changed


_DROP, _RENAME = object(), object()


def test_every_single_change_to_a_line_reads_the_same() -> None:
    """Every place of a valid line changed to every odd value, one at a time:
    a guard that lets one bad value through fails here."""
    line = _Line().to_dict()
    outcomes = [same(read_line, changed)[0] for changed in _each_change(line)]
    assert outcomes.count("line") > 100 and outcomes.count("error") > 1000
    for read, key in ((Response.from_dict, "response"), (Customer.from_dict, "customer")):
        for changed in _each_change(line[key]):
            same(read, changed)


def test_the_generated_reader_reads_a_common_line_without_the_full_reader() -> None:
    """The fast path is taken (else these tests would compare the Reader with itself)."""
    data = _Line().to_dict()
    read_line(data)  # a zone name passes its full check once, then a set lookup
    with (
        mock.patch("loopkit.model.response.Reader", side_effect=AssertionError),
        mock.patch("loopkit.model.customer.Reader", side_effect=AssertionError),
    ):
        subject, customer = read_line(data)
    assert isinstance(subject, Response) and subject.touchpoint is not None
    assert customer.contact.channels[0].channel == "email"
    with mock.patch("loopkit.model.response.Reader", side_effect=AssertionError):
        data["response"]["id"] = "r 1"  # an id with a space: valid, for the full reader
        with pytest.raises(AssertionError):
            read_line(data)
