"""Personal data never shows in repr(), str() or an error message.

Recognisable values are planted in every field that holds personal data, and
every text loopkit could print or log about those values (or about errors
caused by them, pickled and unpickled too) is searched for them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import loopkit

NAME = "Zelda Quackenbush"
EMAIL = "zelda.q@example.org"
PHONE = "+46701234567"
COMMENT = "MY-SECRET-COMMENT-TEXT"
PLANTED = (NAME, EMAIL, PHONE, COMMENT)
# Fragments too, so a shortened repr ("'Zelda Qua...") cannot slip through.
FRAGMENTS = (*PLANTED, "Zelda", "Quackenbush", "zelda.q", "example.org", "701234567", "SECRET")

T = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def assert_clean(text: str) -> None:
    for secret in FRAGMENTS:
        assert secret not in text, f"{secret!r} leaked into: {text}"


def texts_of_error(err: BaseException) -> Iterator[str]:
    yield str(err)
    yield repr(err)
    yield from (str(a) for a in err.args)
    for problem in getattr(err, "problems", ()):
        yield str(problem)
        yield repr(problem)
    yield str(vars(err)) if hasattr(err, "__dict__") else ""


def assert_error_clean(err: BaseException) -> None:
    for text in texts_of_error(err):
        assert_clean(text)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    for text in texts_of_error(copy):
        assert_clean(text)


def customer() -> loopkit.Customer:
    return loopkit.Customer(
        id="c-1",
        timezone="Europe/Stockholm",
        name=NAME,
        contact=loopkit.ContactPreferences(
            channels=(
                loopkit.ContactPoint(channel="email", address=EMAIL),
                loopkit.ContactPoint(channel="sms", address=PHONE),
                loopkit.ContactPoint(channel="phone", address=PHONE),
            )
        ),
    )


def response() -> loopkit.Response:
    return loopkit.Response(
        id="r-1", customer_id="c-1", scale=loopkit.NPS, score=2, comment=COMMENT, answered_at=T
    )


def case() -> loopkit.FollowUpCase:
    opened = loopkit.FollowUpCase.open(
        id="k-1", customer_id="c-1", at=T, by="system", note=f"{NAME} wrote: {COMMENT}"
    )
    return (
        opened.add_note(f"call {PHONE} or mail {EMAIL}", at=T, by="emp-7")
        .contact(at=T, by="emp-7", note=f"spoke to {NAME}")
        .escalate(at=T, by="emp-7", to="emp-9", note=COMMENT)
    )


MODELS: dict[str, Callable[[], object]] = {
    "customer": customer,
    "contact preferences": lambda: customer().contact,
    "contact point": lambda: loopkit.ContactPoint(channel="email", address=EMAIL),
    "response": response,
    "case event": lambda: loopkit.CaseEvent(at=T, actor="emp-7", kind="note", note=COMMENT),
    "case": case,
    "case events": lambda: case().events,
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_repr_and_str_never_show_personal_data(make: Callable[[], object]) -> None:
    value = make()
    assert_clean(repr(value))
    assert_clean(str(value))
    assert_clean(f"{value}")


def test_the_planted_values_are_really_there() -> None:
    """The test above would be empty if the values were dropped instead of hidden."""
    assert customer().name == NAME
    assert customer().contact.address_for("email") == EMAIL
    assert response().comment == COMMENT
    dumped = str(case().to_dict())
    for secret in (NAME, EMAIL, PHONE, COMMENT):
        assert secret in dumped


def _response_dict(**changes: Any) -> dict[str, Any]:
    data = response().to_dict()
    data.update(changes)
    return data


def _customer_dict(**changes: Any) -> dict[str, Any]:
    data = customer().to_dict()
    data.update(changes)
    return data


def _channels(address: object) -> dict[str, Any]:
    return {"channels": [{"channel": "email", "address": address}]}


BAD_INPUTS: dict[str, Callable[[], object]] = {
    # comments
    "long comment": lambda: loopkit.Response.from_dict(_response_dict(comment=COMMENT * 500)),
    "long comment, constructor": lambda: loopkit.Response(
        id="r-1",
        customer_id="c-1",
        scale=loopkit.NPS,
        score=2,
        comment=COMMENT * 500,
        answered_at=T,
    ),
    "comment as list": lambda: loopkit.Response.from_dict(_response_dict(comment=[COMMENT])),
    "comment as table": lambda: loopkit.Response.from_dict(
        _response_dict(comment={"text": COMMENT})
    ),
    "comment as list, constructor": lambda: loopkit.Response(
        id="r-1",
        customer_id="c-1",
        scale=loopkit.NPS,
        score=2,
        comment=[COMMENT],  # type: ignore[arg-type]
        answered_at=T,
    ),
    "comment beside a bad score": lambda: loopkit.Response.from_dict(
        _response_dict(score=11, comment=COMMENT, extra=COMMENT)
    ),
    # names
    "long name": lambda: loopkit.Customer.from_dict(_customer_dict(name=NAME * 20)),
    "name as table": lambda: loopkit.Customer.from_dict(
        _customer_dict(name={"first": "Zelda", "last": "Quackenbush"})
    ),
    "long name, constructor": lambda: loopkit.Customer(id="c-1", timezone="UTC", name=NAME * 20),
    "name beside a bad zone": lambda: loopkit.Customer.from_dict(
        _customer_dict(timezone="Mars/Base", name=NAME)
    ),
    # addresses
    "blank address": lambda: loopkit.Customer.from_dict(_customer_dict(contact=_channels("   "))),
    "long address": lambda: loopkit.Customer.from_dict(
        _customer_dict(contact=_channels(EMAIL * 30))
    ),
    "address as list": lambda: loopkit.Customer.from_dict(
        _customer_dict(contact=_channels([EMAIL, PHONE]))
    ),
    "phone as number": lambda: loopkit.ContactPoint.from_dict(
        {"channel": "sms", "address": 46701234567}
    ),
    "long address, constructor": lambda: loopkit.ContactPoint(channel="email", address=EMAIL * 30),
    "blank address, constructor": lambda: loopkit.ContactPoint(channel="email", address=""),
    "address beside a bad channel": lambda: loopkit.ContactPoint.from_dict(
        {"channel": "E mail", "address": EMAIL}
    ),
    # notes
    "long note": lambda: loopkit.CaseEvent(at=T, actor="emp-7", kind="note", note=COMMENT * 500),
    "note as list": lambda: loopkit.CaseEvent.from_dict(
        {"at": T.isoformat(), "actor": "emp-7", "kind": "note", "note": [COMMENT]}
    ),
    "long note on a case": lambda: case().add_note(COMMENT * 500, at=T, by="emp-7"),
    "note on a closed case": lambda: (
        case()
        .fail(at=T, by="emp-7")
        .close(at=T, by="emp-7")
        .add_note(COMMENT, at=datetime(2020, 1, 1, tzinfo=UTC), by="emp-7")
    ),
    "illegal move with a note": lambda: case().close(at=T, by="emp-7", note=COMMENT),
    "case from dict with a long note": lambda: loopkit.FollowUpCase.from_dict(
        {**case().to_dict(), "events": [{**case().to_dict()["events"][0], "note": COMMENT * 500}]}
    ),
    "case from dict with a bad state": lambda: loopkit.FollowUpCase.from_dict(
        {**case().to_dict(), "state": "gone"}
    ),
}


@pytest.mark.parametrize("attempt", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_errors_about_personal_values_never_show_them(attempt: Callable[[], object]) -> None:
    with pytest.raises(loopkit.LoopkitError) as info:
        attempt()
    assert_error_clean(info.value)


def test_redacted_descriptions_still_say_what_was_wrong() -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.Response.from_dict(_response_dict(comment=[COMMENT]))
    assert info.value.path == "response.comment"
    assert info.value.got == "a redacted list of 1 item"
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.ContactPoint(channel="email", address="  ")
    assert info.value.got == "a redacted str of 2 characters"
