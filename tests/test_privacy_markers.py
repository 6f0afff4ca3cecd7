"""Planted markers: personal data never shows in any output, log or error.

Unique marker strings are planted as names, e-mail addresses, phone numbers,
comments, notes, free attribute values (top-level and nested), as values in
the wrong field (an e-mail address as a channel, a time zone, a language, a
segment, an id), as whole records given as a string, and as the text of a
plugin's own exception. Then every path is driven: the model's constructors
and ``from_dict``, the loop (``ingest``, ``ingest_many``, ``close``,
``add_note``, ``record_contact``...), explanations, reprs, ``str()`` of every
error (pickled too), ``describe()``, log records at DEBUG, and the output of
``loopkit ingest`` / ``loopkit tick`` / ``loopkit cases``. No marker may show.

A path whose input is refused must raise a :class:`loopkit.LoopkitError`
(never a bare ``TypeError`` or a traceback from deep inside).
"""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import loopkit
from loopkit.cli import main
from loopkit.errors import describe, describe_input, describe_key
from loopkit.testing import FakeClock, make_customer, make_response, make_touchpoint

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"

NAME = "Quilla Marrowfax"
EMAIL = "quilla.marrowfax@markers.example"
PHONE = "+46709876543"
COMMENT = "QMXCOMMENT the courier threw my parcel over the fence"
NOTE = "QMXNOTE her daughter is in hospital, call after six"
ATTRIBUTE = "QMXATTR lives with Quilla Marrowfax"
NESTED = "QMXNESTED spouse Quilla Marrowfax"
RECORD = f"{NAME}, {EMAIL}, {PHONE}"
PLUGIN_TEXT = f"QMXPLUGIN no such customer {EMAIL}"

TOKENS = ("quilla", "marrowfax", "markers.example", "9876543", "qmx")
"""Lower-case pieces of every marker: a shortened repr cannot slip through."""

T = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def leaks(text: str) -> list[str]:
    low = text.lower()
    return [token for token in TOKENS if token in low]


def test_the_markers_are_found_when_they_are_there() -> None:
    """The checks below would pass vacuously if ``leaks`` found nothing."""
    for marker in (NAME, EMAIL, PHONE, COMMENT, NOTE, ATTRIBUTE, NESTED, RECORD, PLUGIN_TEXT):
        assert leaks(marker) and leaks(repr(marker))
    assert leaks(str(personal_customer().to_dict()))  # kept where they belong


# -- values carrying the markers -------------------------------------------------------


def personal_customer(id: str = "c-1", **changes: Any) -> loopkit.Customer:
    fields: dict[str, Any] = {
        "name": NAME,
        "segment": "gold",
        "attributes": {"spouse": ATTRIBUTE, "kids": [ATTRIBUTE, 2], "since": 2019},
    }
    fields["channels"] = {"phone": PHONE, "email": EMAIL}
    return make_customer(id, **(fields | changes))


def personal_response(score: int = 1, **changes: Any) -> loopkit.Response:
    touchpoint = make_touchpoint(attributes={"desk_note": ATTRIBUTE})
    return make_response(score, comment=COMMENT, touchpoint=touchpoint, **changes)


def customer_dict(**changes: Any) -> dict[str, Any]:
    return {**personal_customer().to_dict(), **changes}


def response_dict(**changes: Any) -> dict[str, Any]:
    return {**personal_response().to_dict(), **changes}


def touchpoint_dict(**changes: Any) -> dict[str, Any]:
    return {**make_touchpoint(attributes={"desk_note": ATTRIBUTE}).to_dict(), **changes}


def with_channel(channel: object, address: object = EMAIL) -> dict[str, Any]:
    return customer_dict(contact={"channels": [{"channel": channel, "address": address}]})


# -- collecting every text a path produces -----------------------------------------------


def texts_of(value: object) -> Iterator[str]:
    yield repr(value)
    yield str(value)
    yield f"{value}"
    if isinstance(value, BaseException):
        yield from texts_of_error(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts_of(item)
    for name in ("reason", "explanation", "decision", "error", "result", "suppressed"):
        found = getattr(value, name, None)
        if found is not None and found is not value:
            yield from texts_of(found)


def texts_of_error(err: BaseException) -> Iterator[str]:
    yield str(err)
    yield repr(err)
    yield from (str(arg) for arg in err.args)
    yield from traceback.format_exception_only(err)
    for problem in getattr(err, "problems", ()):
        yield str(problem)
        yield repr(problem)
    copy = pickle.loads(pickle.dumps(err))
    yield str(copy)
    yield repr(copy)


class Outputs:
    """Everything one path printed, logged, returned or raised."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]):
        self.caplog = caplog
        self.capsys = capsys
        self.texts: list[str] = []

    def run(self, attempt: Callable[[], object]) -> object:
        try:
            value = attempt()
        except loopkit.LoopkitError as err:
            self.texts.extend(texts_of(err))
            return err
        self.texts.extend(texts_of(value))
        return value

    def check(self) -> None:
        captured = self.capsys.readouterr()
        self.texts += [captured.out, captured.err, self.caplog.text]
        for record in self.caplog.records:
            self.texts += [record.getMessage(), str(record.args), str(record.exc_text or "")]
        found = {token for text in self.texts for token in leaks(text)}
        assert not found, [t for t in self.texts if leaks(t)][:3]


@pytest.fixture
def outputs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Outputs:
    caplog.set_level(logging.DEBUG)
    return Outputs(caplog, capsys)


# -- 1. the model: constructors and from_dict ------------------------------------------

REFUSED: dict[str, Callable[[], object]] = {
    # whole records given as a string
    "customer record as a string": lambda: loopkit.Customer.from_dict(RECORD),
    "response record as a string": lambda: loopkit.Response.from_dict(RECORD),
    "touchpoint record as a string": lambda: loopkit.Touchpoint.from_dict(RECORD),
    "contact as a string": lambda: loopkit.Customer.from_dict(customer_dict(contact=RECORD)),
    "channels as a string": lambda: loopkit.Customer.from_dict(
        customer_dict(contact={"channels": RECORD})
    ),
    "contact point as a string": lambda: loopkit.Customer.from_dict(
        customer_dict(contact={"channels": [RECORD]})
    ),
    "touchpoint as a string": lambda: loopkit.Response.from_dict(response_dict(touchpoint=RECORD)),
    "scale as a string": lambda: loopkit.Response.from_dict(response_dict(scale=RECORD)),
    # e-mail, phone and name in the wrong field: customer
    "e-mail as customer id": lambda: loopkit.Customer.from_dict(customer_dict(id=EMAIL)),
    "phone as customer id": lambda: loopkit.Customer.from_dict(customer_dict(id=PHONE)),
    "record as customer id": lambda: loopkit.Customer.from_dict(customer_dict(id=RECORD)),
    "e-mail as time zone": lambda: loopkit.Customer.from_dict(customer_dict(timezone=EMAIL)),
    "name as time zone": lambda: loopkit.Customer.from_dict(customer_dict(timezone=NAME)),
    "e-mail as language": lambda: loopkit.Customer.from_dict(customer_dict(language=EMAIL)),
    "name as language": lambda: loopkit.Customer.from_dict(customer_dict(language=NAME)),
    "first name as language": lambda: loopkit.Customer.from_dict(customer_dict(language="Quilla")),
    "e-mail as segment": lambda: loopkit.Customer.from_dict(customer_dict(segment=EMAIL)),
    "e-mail as region": lambda: loopkit.Customer.from_dict(customer_dict(region=EMAIL)),
    "phone as value": lambda: loopkit.Customer.from_dict(customer_dict(value=PHONE)),
    "e-mail as value": lambda: loopkit.Customer.from_dict(customer_dict(value=EMAIL)),
    "e-mail as channel": lambda: loopkit.Customer.from_dict(with_channel(EMAIL)),
    "name as channel": lambda: loopkit.Customer.from_dict(with_channel(NAME)),
    "phone as quiet hours": lambda: loopkit.Customer.from_dict(
        customer_dict(contact={"quiet_hours": PHONE})
    ),
    "name as preferred window": lambda: loopkit.Customer.from_dict(
        customer_dict(contact={"preferred_window": NAME})
    ),
    "e-mail as survey opt-out": lambda: loopkit.Customer.from_dict(
        customer_dict(contact={"surveys_opt_out": EMAIL})
    ),
    "name as a table": lambda: loopkit.Customer.from_dict(
        customer_dict(name={"first": "Quilla", "last": "Marrowfax"})
    ),
    "address as a list": lambda: loopkit.Customer.from_dict(with_channel("email", [EMAIL])),
    "address that is too long": lambda: loopkit.Customer.from_dict(
        with_channel("email", EMAIL * 20)
    ),
    "nested attribute value": lambda: loopkit.Customer.from_dict(
        customer_dict(attributes={"family": {"spouse": NESTED}})
    ),
    "nested attribute in a list": lambda: loopkit.Customer.from_dict(
        customer_dict(attributes={"family": [{"spouse": NESTED}]})
    ),
    "nested attribute under an e-mail key": lambda: loopkit.Customer.from_dict(
        customer_dict(attributes={EMAIL: {"spouse": NESTED}})
    ),
    "unknown key that is an e-mail": lambda: loopkit.Customer.from_dict(
        customer_dict(**{EMAIL: NAME})
    ),
    "unknown key that is a name": lambda: loopkit.Customer.from_dict(
        customer_dict(**{NAME: EMAIL})
    ),
    # constructors
    "constructor: e-mail as id": lambda: loopkit.Customer(id=EMAIL, timezone="UTC"),
    "constructor: e-mail as time zone": lambda: loopkit.Customer(id="c-1", timezone=EMAIL),
    "constructor: name as language": lambda: loopkit.Customer(
        id="c-1", timezone="UTC", language=NAME
    ),
    "constructor: e-mail as segment": lambda: loopkit.Customer(
        id="c-1", timezone="UTC", segment=EMAIL
    ),
    "constructor: nested attribute": lambda: loopkit.Customer(
        id="c-1", timezone="UTC", attributes={"family": {"spouse": NESTED}}
    ),
    "constructor: e-mail as channel": lambda: loopkit.ContactPoint(channel=EMAIL, address=EMAIL),
    "constructor: record as quiet hours": lambda: loopkit.ContactPreferences(quiet_hours=RECORD),
    "constructor: e-mail as window": lambda: loopkit.DailyWindow.parse(EMAIL),
    # the response and its touchpoint
    "e-mail as response id": lambda: loopkit.Response.from_dict(response_dict(id=EMAIL)),
    "e-mail as response customer id": lambda: loopkit.Response.from_dict(
        response_dict(customer_id=EMAIL)
    ),
    "phone as score": lambda: loopkit.Response.from_dict(response_dict(score=PHONE)),
    "phone number as score": lambda: loopkit.Response.from_dict(response_dict(score=46709876543)),
    "e-mail as survey kind": lambda: loopkit.Response.from_dict(response_dict(survey=EMAIL)),
    "e-mail as source": lambda: loopkit.Response.from_dict(response_dict(source=EMAIL)),
    "name as answered_at": lambda: loopkit.Response.from_dict(response_dict(answered_at=NAME)),
    "comment as a list": lambda: loopkit.Response.from_dict(response_dict(comment=[COMMENT])),
    "comment that is too long": lambda: loopkit.Response.from_dict(
        response_dict(comment=COMMENT * 300)
    ),
    "constructor: phone as score": lambda: loopkit.Response(
        id="r-1",
        customer_id="c-1",
        scale=loopkit.NPS,
        score=PHONE,
        answered_at=T,  # type: ignore[arg-type]
    ),
    "constructor: e-mail as response id": lambda: make_response(1, id=EMAIL),
    "constructor: e-mail as survey": lambda: make_response(1, survey=EMAIL),
    "e-mail as touchpoint kind": lambda: loopkit.Touchpoint.from_dict(touchpoint_dict(kind=EMAIL)),
    "e-mail as touchpoint channel": lambda: loopkit.Touchpoint.from_dict(
        touchpoint_dict(channel=EMAIL)
    ),
    "e-mail as employee id": lambda: loopkit.Touchpoint.from_dict(
        touchpoint_dict(employee_id=EMAIL)
    ),
    "phone as reference": lambda: loopkit.Touchpoint.from_dict(touchpoint_dict(reference=PHONE)),
    "e-mail as occurred_at": lambda: loopkit.Touchpoint.from_dict(
        touchpoint_dict(occurred_at=EMAIL)
    ),
    "nested touchpoint attribute": lambda: loopkit.Touchpoint.from_dict(
        touchpoint_dict(attributes={"visit": {"with": NESTED}})
    ),
    "constructor: e-mail as touchpoint channel": lambda: make_touchpoint(channel=EMAIL),
    "constructor: nested touchpoint attribute": lambda: make_touchpoint(
        attributes={"visit": [{"with": NESTED}]}
    ),
    # case events
    "note as a list": lambda: loopkit.CaseEvent.from_dict(
        {"at": T.isoformat(), "actor": "emp-7", "kind": "note", "note": [NOTE]}
    ),
    "e-mail as actor": lambda: loopkit.CaseEvent(at=T, actor=EMAIL, kind="note", note=NOTE),
    "e-mail as event kind": lambda: loopkit.CaseEvent(at=T, actor="emp-7", kind=EMAIL),
    "case: e-mail as owner": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7", owner=EMAIL
    ),
    "case: e-mail as topic": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7", topic=EMAIL
    ),
    "case: e-mail as channel": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7", channel=EMAIL
    ),
    "case: e-mail as required step": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7", required_steps=frozenset({EMAIL})
    ),
    "case: e-mail as a step done": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7"
    ).complete_step(EMAIL, at=T, by="emp-7"),
    "case: escalated to an e-mail": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7"
    ).escalate(at=T, by="emp-7", to=EMAIL),
    "case: e-mail as a root cause": lambda: (
        loopkit.FollowUpCase.open(id="k-1", customer_id="c-1", at=T, by="emp-7")
        .fail(at=T, by="emp-7")
        .close(at=T, by="emp-7", root_causes={EMAIL})
    ),
    "promise: e-mail as kind": lambda: loopkit.Promise(
        id="p-1", case_id="k-1", customer_id="c-1", kind=EMAIL, made_by="e", made_at=T, due_at=T
    ),
    "message: e-mail as channel": lambda: loopkit.Message(
        id="m-1",
        case_id="k-1",
        customer_id="c-1",
        channel=EMAIL,
        purpose="follow_up",
        created_at=T,
        not_before=T,
    ),
    "nested event detail": lambda: loopkit.CaseEvent(
        at=T, actor="emp-7", kind="note", details={"who": {"name": NESTED}}
    ),
}


@pytest.mark.parametrize("attempt", REFUSED.values(), ids=REFUSED.keys())
def test_refused_values_are_described_never_shown(
    outputs: Outputs, attempt: Callable[[], object]
) -> None:
    found = outputs.run(attempt)
    assert isinstance(found, loopkit.ValidationError), found
    assert found.problems and all(p.path for p in found.problems)
    outputs.check()


ACCEPTED: dict[str, Callable[[], object]] = {
    "customer": personal_customer,
    "customer from a dict": lambda: loopkit.Customer.from_dict(customer_dict()),
    "customer with an e-mail as an attribute key": lambda: personal_customer(
        attributes={EMAIL: ATTRIBUTE}
    ),
    "contact preferences": lambda: personal_customer().contact,
    "response": personal_response,
    "response from a dict": lambda: loopkit.Response.from_dict(response_dict()),
    "touchpoint from a dict": lambda: loopkit.Touchpoint.from_dict(touchpoint_dict()),
    "case": lambda: loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="emp-7", note=NOTE
    ).add_note(COMMENT, at=T, by="emp-7"),
    "message": lambda: loopkit.Message(
        id="m-1",
        case_id="k-1",
        customer_id="c-1",
        channel="email",
        purpose="follow_up",
        created_at=T,
        not_before=T,
        address=EMAIL,
    ),
    "pickled customer": lambda: pickle.loads(pickle.dumps(personal_customer())),
}


@pytest.mark.parametrize("make", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_reprs_of_values_holding_personal_data_never_show_it(
    outputs: Outputs, make: Callable[[], object]
) -> None:
    value = outputs.run(make)
    assert not isinstance(value, BaseException), value
    outputs.check()


DESCRIBED: dict[str, object] = {
    "name": NAME,
    "e-mail": EMAIL,
    "phone": PHONE,
    "phone as a number": 46709876543,
    "comment": COMMENT,
    "record": RECORD,
    "nested": {"family": {"spouse": NESTED}},
    "list": [NOTE, ATTRIBUTE],
    "exception": KeyError(PLUGIN_TEXT),
}


@pytest.mark.parametrize("value", DESCRIBED.values(), ids=DESCRIBED.keys())
def test_describe_shows_type_and_length_only(value: object) -> None:
    texts = [describe(value, personal=True), describe_input(value), describe_key(value)]
    assert not [t for t in texts if leaks(t)], texts
    assert describe_input(EMAIL) == f"a str of {len(EMAIL)} characters"


# -- 2. the loop ------------------------------------------------------------------------

PLAYBOOK = loopkit.load_playbook(POLICIES)
EXPLAINED = loopkit.PolicySet(
    policies=[
        loopkit.FollowUpPolicy.from_dict(
            {
                "name": "spouse",
                "channels": ["email"],
                "owner": "team:cx",
                "when": {"field": "customer.attributes.spouse", "equals": "someone else"},
            }
        ),
        loopkit.FollowUpPolicy.from_dict(
            {
                "name": "kids",
                "channels": ["email"],
                "owner": "team:cx",
                "when": {"field": "customer.attributes.kids", "contains": "nobody"},
            }
        ),
        loopkit.FollowUpPolicy.from_dict(
            {
                "name": "desk",
                "channels": ["email"],
                "owner": "team:cx",
                "when": {"field": "touchpoint.attributes.desk_note", "matches": "^x$"},
            }
        ),
        loopkit.FollowUpPolicy.from_dict(
            {
                "name": "words",
                "channels": ["email"],
                "owner": "team:cx",
                "when": {
                    "any": [
                        {"field": "response.comment", "contains": "refund"},
                        {"field": "customer.name", "equals": "Bo"},
                    ]
                },
            }
        ),
        loopkit.FollowUpPolicy.from_dict(
            {
                "name": "low",
                "channels": ["email"],
                "owner": "team:cx",
                "when": {"field": "response.score", "le": 6},
            }
        ),
    ]
)


class Crm:
    """A lookup plugin whose own errors carry personal data in their text."""

    @loopkit.hookimpl
    def loopkit_load_customer(self, customer_id: str) -> loopkit.Customer:
        raise KeyError(PLUGIN_TEXT)


class Tagger:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_tag_root_causes(self) -> object:
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


class Classifier:
    @loopkit.hookimpl
    def loopkit_classify_response(self) -> object:
        raise ValueError(PLUGIN_TEXT)


class Noisy:
    """A notification plugin that fails with personal data in its message."""

    @loopkit.hookimpl
    def loopkit_case_opened(self, case: loopkit.FollowUpCase) -> None:
        raise RuntimeError(PLUGIN_TEXT)

    @loopkit.hookimpl
    def loopkit_case_closed(self, case: loopkit.FollowUpCase) -> None:
        raise RuntimeError(PLUGIN_TEXT)


class Down:
    def send(self, message: loopkit.Message) -> None:
        raise ConnectionError(PLUGIN_TEXT)


def loop_with(*plugins: object) -> loopkit.Loop:
    return loopkit.Loop(PLAYBOOK, plugins=plugins, clock=FakeClock())


def opened(loop: loopkit.Loop) -> str:
    case = loop.ingest(personal_response(), customer=personal_customer()).case
    assert case is not None
    return case.id


_STARS = loopkit.Scale(
    name="stars", minimum=1, maximum=5, detractor=(1, 2), passive=(3, 4), promoter=(5, 5)
)


def _ingest_many_mixed() -> object:
    loop = loop_with(Crm())
    return loop.ingest_many(
        [
            (personal_response(id="r-1"), personal_customer()),
            (personal_response(id="r-2"), None),  # the lookup raises
            (personal_response(id="r-1", score=2), personal_customer()),  # a conflict
            (personal_response(id="r-3", customer_id="c-2"), personal_customer()),  # mismatch
        ]
    )


def _close_with(*plugins: object, root_causes: tuple[str, ...] = ()) -> object:
    loop = loop_with(*plugins)
    return loop.close(opened(loop), resolved=False, by="emp-7", root_causes=root_causes)


def _decide_and_explain() -> object:
    response, customer = personal_response(), personal_customer()
    decision = EXPLAINED.decide(response, customer, T)
    return [
        decision,
        decision.explanation,
        decision.explanation.explain(),
        list(decision.explanation),
        EXPLAINED.explain(response, customer, T),
        PLAYBOOK.policies.decide(response, customer, T),
        PLAYBOOK.policies.decide(response, personal_customer(quiet_hours="00:00-24:00"), T),
    ]


def _work_a_case() -> object:
    loop = loop_with(loopkit.ChannelPlugin({"phone": loopkit.ConsoleChannel(), "email": Down()}))
    case_id = opened(loop)
    bought = make_response(1, id="r-9", touchpoint=make_touchpoint("purchase"), comment=COMMENT)
    emailed = loop.ingest(bought, customer=personal_customer(channels={"email": EMAIL}))
    assert emailed.case is not None and emailed.case.channel == "email"
    loop.add_note(case_id, NOTE, by="emp-7")
    loop.record_contact(case_id, "no_answer", by="emp-7", note=NOTE, channel="phone")
    loop.complete_step(case_id, "apology", by="emp-7", note=COMMENT)
    loop.tick(datetime(2026, 11, 30, tzinfo=UTC))
    promise = loop.promise(
        case_id,
        "call_back",
        due_at=datetime(2026, 12, 1, tzinfo=UTC),
        by="emp-7",
        at=datetime(2026, 11, 30, 1, tzinfo=UTC),
    )
    loop.tick(datetime(2026, 12, 2, tzinfo=UTC))
    assert loop.promises()[0].status is loopkit.PromiseStatus.BROKEN
    sent = {m.channel: m.status for m in loop.messages() if m.attempts}
    assert sent == {"phone": loopkit.MessageStatus.SENT, "email": loopkit.MessageStatus.PENDING}
    return [loop.case(case_id), loop.messages(), loop.promises(), promise, loop.cases()]


LOOP_PATHS: dict[str, Callable[[], object]] = {
    "ingest": lambda: loop_with(Noisy()).ingest(personal_response(), customer=personal_customer()),
    "ingest, never contact": lambda: loop_with().ingest(
        personal_response(), customer=personal_customer(quiet_hours="00:00-24:00")
    ),
    "ingest, lookup plugin raises": lambda: loop_with(Crm()).ingest(personal_response()),
    "ingest, classifier raises": lambda: loop_with(Classifier()).ingest(
        personal_response(scale=_STARS), customer=personal_customer()
    ),
    "ingest, customer of another id": lambda: loop_with().ingest(
        personal_response(customer_id="c-2"), customer=personal_customer()
    ),
    "ingest_many": _ingest_many_mixed,
    "close, tagger returns an e-mail": lambda: _close_with(Tagger(EMAIL)),
    "close, tagger returns a list with an e-mail": lambda: _close_with(Tagger([EMAIL])),
    "close, tagger raises": lambda: _close_with(Tagger(RuntimeError(PLUGIN_TEXT))),
    "close, e-mail as a root cause": lambda: _close_with(root_causes=(EMAIL,)),
    "close, notification plugin raises": lambda: _close_with(Noisy()),
    "close with a note": lambda: (
        lambda loop: loop.close(opened(loop), resolved=False, by="emp-7", note=NOTE)
    )(loop_with()),
    "add_note": lambda: (lambda loop: loop.add_note(opened(loop), NOTE, by="emp-7"))(loop_with()),
    "add_note, e-mail as case id": lambda: loop_with().add_note(EMAIL, NOTE, by="emp-7"),
    "add_note, e-mail as author": lambda: (
        lambda loop: loop.add_note(opened(loop), NOTE, by=EMAIL)
    )(loop_with()),
    "add_note, note too long": lambda: (
        lambda loop: loop.add_note(opened(loop), NOTE * 300, by="emp-7")
    )(loop_with()),
    "record_contact, e-mail as outcome": lambda: (
        lambda loop: loop.record_contact(opened(loop), EMAIL, by="emp-7")
    )(loop_with()),
    "record_contact, e-mail as channel": lambda: (
        lambda loop: loop.record_contact(opened(loop), "reached", by="emp-7", channel=EMAIL)
    )(loop_with()),
    "record_contact, phone as case id": lambda: loop_with().record_contact(
        PHONE, "reached", by="emp-7"
    ),
    "record_contact with a note": lambda: (
        lambda loop: loop.record_contact(opened(loop), "reached", by="emp-7", note=NOTE)
    )(loop_with()),
    "open_case, e-mail as customer id": lambda: loop_with().open_case(EMAIL, by="emp-7"),
    "open_case with a note": lambda: loop_with().open_case(
        "c-1", by="emp-7", note=NOTE, customer=personal_customer()
    ),
    "promise, e-mail as kind": lambda: (
        lambda loop: loop.promise(opened(loop), EMAIL, due_at=T, by="emp-7")
    )(loop_with()),
    "keep_promise, e-mail as id": lambda: loop_with().keep_promise(EMAIL, by="emp-7"),
    "case, e-mail as id": lambda: loop_with().case(EMAIL),
    "survey_guard, e-mail as customer id": lambda: loop_with().survey_guard(EMAIL),
    "decide and explain": _decide_and_explain,
    "work a case, send, retry, break a promise": _work_a_case,
}


@pytest.mark.parametrize("attempt", LOOP_PATHS.values(), ids=LOOP_PATHS.keys())
def test_the_loop_never_shows_personal_data(
    outputs: Outputs, attempt: Callable[[], object]
) -> None:
    found = outputs.run(attempt)
    name = next(k for k, v in LOOP_PATHS.items() if v is attempt)
    if name in SUCCEEDS:
        assert not isinstance(found, BaseException), found
    else:
        assert isinstance(found, loopkit.LoopkitError), found
    outputs.check()


SUCCEEDS = {
    "ingest",
    "ingest, never contact",
    "ingest_many",
    "close, notification plugin raises",
    "close with a note",
    "add_note",
    "record_contact with a note",
    "open_case with a note",
    "decide and explain",
    "work a case, send, retry, break a promise",
}


def test_a_lookup_plugin_error_keeps_its_text_only_in_the_cause() -> None:
    with pytest.raises(loopkit.PluginError) as info:
        loop_with(Crm()).ingest(personal_response())
    assert not leaks(str(info.value))
    assert "loopkit_load_customer" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.__cause__.args == (PLUGIN_TEXT,)  # kept for the host, never formatted


def test_explanations_describe_attributes_and_personal_fields() -> None:
    explanation = EXPLAINED.explain(personal_response(), personal_customer(), T)
    spouse = explanation.trace("spouse")
    assert (
        spouse.saw == f"customer.attributes.spouse = a redacted str of {len(ATTRIBUTE)} characters"
    )
    assert explanation.trace("kids").saw == "customer.attributes.kids = a redacted tuple of 2 items"
    assert explanation.decided_by == "low"


# -- 3. the command line ------------------------------------------------------------------


def _line(response: object, customer: object) -> str:
    return json.dumps({"response": response, "customer": customer})


def test_the_cli_never_shows_personal_data(
    tmp_path: Path, outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    good = personal_response()
    feed = tmp_path / "feed.jsonl"
    lines = [
        _line(good.to_dict(), customer_dict()),
        _line(response_dict(id="r-2"), customer_dict(timezone=EMAIL)),
        _line(response_dict(id="r-3"), customer_dict(language=NAME, segment=EMAIL)),
        _line(response_dict(id="r-4", score=PHONE), customer_dict()),
        _line(response_dict(id="r-5", comment=[COMMENT]), customer_dict(id=EMAIL)),
        _line(response_dict(id="r-6"), customer_dict(attributes={"family": {"x": NESTED}})),
        _line(response_dict(id="r-7"), RECORD),
        json.dumps(RECORD),
        json.dumps({"response": response_dict(id="r-8"), "customer": customer_dict(), EMAIL: 1}),
        json.dumps([NAME, EMAIL]),
        RECORD,  # not JSON at all
        _line(good.to_dict() | {"score": 9}, customer_dict()),  # a conflict: same id
    ]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "loop.db"
    now = "2026-11-20T21:30:00+01:00"
    common = ["--policies", str(POLICIES), "--db", str(db)]

    assert main(["ingest", *common, "--now", now, str(feed)]) == 1  # some lines failed
    assert main(["tick", *common, "--now", "2026-11-30T12:00:00+01:00"]) == 0
    assert main(["cases", "--db", str(db)]) == 0
    main(["cases", "--db", str(db), "--customer", EMAIL])
    captured = capsys.readouterr()
    assert "r-1" in captured.out and "opened" in captured.out  # the good line went in
    assert captured.err.count(str(feed)) >= 10  # every bad line was reported
    outputs.texts += [captured.out, captured.err]
    outputs.check()


def test_planted_values_are_kept_where_they_belong() -> None:
    """Hiding is not dropping: the stored values still hold the markers."""
    loop = loop_with()
    case_id = opened(loop)
    loop.add_note(case_id, NOTE, by="emp-7")
    assert loop.case(case_id).events[-1].note == NOTE
    [message] = loop.messages(case_id)
    assert message.address == PHONE
    assert personal_customer().attributes["spouse"] == ATTRIBUTE
    assert Decimal(str(personal_customer(value=5).value)) == 5


def _playbook(privacy: object) -> loopkit.Playbook:
    return loopkit.Playbook.from_dict(
        {
            "version": 1,
            "privacy": privacy,
            "policies": [
                {
                    "name": "spouse",
                    "channels": ["email"],
                    "owner": "team:cx",
                    "when": {
                        "all": [
                            {"field": "customer.attributes.since", "lt": 2000},
                            {"field": "customer.attributes.spouse", "equals": "x"},
                        ]
                    },
                }
            ],
        }
    )


def test_the_playbook_names_the_attributes_an_explanation_may_show() -> None:
    shown = _playbook({"shown_attributes": ["customer.attributes.since"]})
    hidden = _playbook({})
    customer = personal_customer(attributes={"since": 1990, "spouse": ATTRIBUTE})
    response = personal_response()
    assert shown.policies.shown_attributes == {"customer.attributes.since"}
    assert shown.policies.explain(response, customer, T).trace("spouse").saw == (
        f"customer.attributes.spouse = a redacted str of {len(ATTRIBUTE)} characters"
    )
    late = personal_customer(attributes={"since": 2019, "spouse": ATTRIBUTE})
    assert shown.policies.explain(response, late, T).trace("spouse").saw == (
        "customer.attributes.since = 2019"
    )
    assert hidden.policies.explain(response, late, T).trace("spouse").saw == (
        "customer.attributes.since = a redacted int"
    )
    # the shown set survives a host's holidays being added
    assert shown.with_calendars({}).policies.shown_attributes == shown.policies.shown_attributes


@pytest.mark.parametrize(
    ("privacy", "path"),
    [
        ({"shown_attributes": ["customer.name"]}, "privacy.shown_attributes[0]"),
        ({"shown_attributes": [EMAIL]}, "privacy.shown_attributes[0]"),
        ({"shown_attributes": EMAIL}, "privacy.shown_attributes"),
        ({"shown": []}, "privacy.shown"),
        (RECORD, "privacy"),
    ],
)
def test_a_bad_privacy_table_is_an_error_that_shows_no_personal_data(
    privacy: object, path: str
) -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        _playbook(privacy)
    assert path in [p.path for p in info.value.problems]
    assert not leaks(str(info.value))


def test_a_failing_plugin_is_logged_by_type_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    loop = loop_with(Noisy(), loopkit.ChannelPlugin({"phone": Down(), "email": Down()}))
    loop.ingest(personal_response(), customer=personal_customer())
    loop.tick(datetime(2026, 11, 30, tzinfo=UTC))
    messages = [record.getMessage() for record in caplog.records]
    assert any("loopkit_case_opened: RuntimeError" in m for m in messages), messages
    assert any("failed to send" in m and "ConnectionError" in m for m in messages), messages
    assert not [m for m in messages if leaks(m)]
