"""A store shared by two incompatible playbooks: a Loop built with a playbook
that would strand the store's open cases is refused with IncompatiblePlaybook,
naming the policies and saying what to do; every other playbook change builds."""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path
from typing import Any

import pytest

import loopkit
from loopkit import IncompatiblePlaybook
from loopkit.testing import FakeClock

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
CALLBACK = "support-detractor-callback"


def _data() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def _policy(data: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [p for p in data["policies"] if p["name"] == name]
    return found


@pytest.fixture
def store(story_store: loopkit.Store | None) -> loopkit.Store:
    return story_store if story_store is not None else loopkit.MemoryStore()


def _loop(store: loopkit.Store, data: dict[str, Any], **options: Any) -> loopkit.Loop:
    return loopkit.Loop(
        loopkit.load_playbook(data), store=store, clock=FakeClock(), check_channels=False, **options
    )


def test_a_playbook_without_the_policy_of_open_cases_is_refused(store: loopkit.Store) -> None:
    loop = _loop(store, _data())
    for customer in ("c-1", "c-2"):
        loop.open_case(customer, by="emp-1", policy=CALLBACK)
    loop.open_case("c-3", by="emp-1")  # no policy: no playbook strands it
    without = _data()
    without["policies"] = [p for p in without["policies"] if p["name"] != CALLBACK]
    with pytest.raises(IncompatiblePlaybook) as caught:
        _loop(store, without)
    assert caught.value.missing == (CALLBACK,)
    assert caught.value.moved == ()
    message = str(caught.value)
    assert f"2 open case(s) of policy {CALLBACK!r}" in message
    assert "Use the playbook that opened them" in message
    assert "c-1" not in message  # names only, never a customer
    assert isinstance(caught.value, loopkit.LoopkitError)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.missing, copy.moved, str(copy)) == (caught.value.missing, (), message)
    # a playbook without policies only reads: not checked
    reader = loopkit.Playbook(version=1, policies=loopkit.PolicySet(policies=()))
    loopkit.Loop(reader, store=store, clock=FakeClock(), check_channels=False)
    # check_store=False builds it anyway (to close the cases, say)
    assert _loop(store, without, check_store=False).playbook is not None


def test_a_policy_whose_topic_changed_under_open_cases_is_refused(store: loopkit.Store) -> None:
    loop = _loop(store, _data())
    case = loop.open_case("c-1", by="emp-1", policy=CALLBACK)
    moved = _data()
    _policy(moved, CALLBACK)["topic"] = "support-calls"
    with pytest.raises(IncompatiblePlaybook) as caught:
        _loop(store, moved)
    assert caught.value.moved == ((CALLBACK, case.topic, "support-calls"),)
    assert caught.value.missing == ()
    assert "now gives topic 'support-calls'" in str(caught.value)


def test_every_other_change_builds_and_closed_cases_strand_nothing(store: loopkit.Store) -> None:
    loop = _loop(store, _data())
    case = loop.open_case("c-1", by="emp-1", policy=CALLBACK)
    edited = _data()
    _policy(edited, CALLBACK)["deadline"]["within"] = "2h"  # a deadline edited
    edited["policies"].append(dict(_policy(edited, CALLBACK), name="another"))  # one added
    edited["calendars"]["support"]["holidays"].append("2027-04-02")  # a calendar edited
    _loop(store, edited)
    loop.close(case.id, resolved=False, by="emp-1")
    without = _data()
    without["policies"] = [p for p in without["policies"] if p["name"] != CALLBACK]
    _loop(store, without)  # its cases are closed: nothing to strand
