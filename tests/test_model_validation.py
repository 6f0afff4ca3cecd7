"""Bad input is refused with a typed error naming the exact field and what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import loopkit
from loopkit import BusinessTimeError, ValidationError

T = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
NAIVE = datetime(2026, 11, 20, 15, 30)


class Raised:
    value: ValidationError


@contextmanager
def refused(
    path: str, expected: str, kind: type[ValidationError] = ValidationError
) -> Iterator[Raised]:
    """Assert a ValidationError of exactly ``kind`` with one problem at ``path``
    whose message says ``expected``."""
    box = Raised()
    with pytest.raises(ValidationError) as info:
        yield box
    err = info.value
    box.value = err
    assert type(err) is kind, f"{type(err).__name__}: {err}"
    assert err.path == path, str(err)
    assert expected in err.expected, str(err)
    assert f"{path}: expected {err.expected}" in str(err)
    assert len(err.problems) == 1, str(err)


def response_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "r-1",
        "customer_id": "c-1",
        "scale": "nps",
        "score": 3,
        "answered_at": "2026-11-20T15:30:00+01:00",
    }
    data.update(changes)
    return data


def customer_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "c-1", "timezone": "Europe/Stockholm"}
    data.update(changes)
    return data


def touchpoint_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "t-1",
        "kind": "support_contact",
        "channel": "phone",
        "occurred_at": "2026-11-20T14:00:00Z",
    }
    data.update(changes)
    return data


def case_dict(**changes: Any) -> dict[str, Any]:
    case = loopkit.FollowUpCase.open(id="k-1", customer_id="c-1", at=T, by="system")
    data = case.to_dict()
    data.update(changes)
    return data


def make_response(**changes: Any) -> loopkit.Response:
    kwargs: dict[str, Any] = {
        "id": "r-1",
        "customer_id": "c-1",
        "scale": loopkit.NPS,
        "score": 3,
        "answered_at": T,
    }
    kwargs.update(changes)
    return loopkit.Response(**kwargs)


# -- scores ----------------------------------------------------------------------

NOT_INTEGERS = [True, False, 3.0, 3.5, math.nan, math.inf, -math.inf, "3", None.__class__]


@pytest.mark.parametrize("score", NOT_INTEGERS, ids=repr)
def test_from_dict_refuses_a_score_that_is_not_an_int(score: object) -> None:
    with refused("response.score", "an integer"):
        loopkit.Response.from_dict(response_dict(score=score))


@pytest.mark.parametrize("score", NOT_INTEGERS, ids=repr)
def test_constructor_refuses_a_score_that_is_not_an_int(score: object) -> None:
    with refused("Response.score", "an integer from 0 to 10"):
        make_response(score=score)


@pytest.mark.parametrize(
    ("scale", "score"),
    [
        ("nps", -1),
        ("nps", 11),
        ("csat", 0),
        ("csat", 6),
        ("ces5", 0),
        ("ces7", 8),
        ("ces7", 10**30),
    ],
)
def test_score_outside_the_scale_is_refused(scale: str, score: int) -> None:
    s = loopkit.Scale.from_dict(scale)
    expected = f"an integer from {s.minimum} to {s.maximum}"
    with refused("response.score", expected) as raised:
        loopkit.Response.from_dict(response_dict(scale=scale, score=score))
    assert scale in str(raised.value)
    with refused("Response.score", expected):
        make_response(scale=s, score=score)


def test_score_on_a_custom_scale_is_checked_against_that_scale() -> None:
    stars = {
        "name": "stars",
        "minimum": 1,
        "maximum": 3,
        "detractor": [1, 1],
        "passive": [2, 2],
        "promoter": [3, 3],
    }
    assert loopkit.Response.from_dict(response_dict(scale=stars, score=3)).category == "promoter"
    with refused("response.score", "an integer from 1 to 3"):
        loopkit.Response.from_dict(response_dict(scale=stars, score=4))


# -- numbers in customer value and attributes -----------------------------------


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "NaN", "Infinity", "-inf", "sNaN", True, "lots"]
)
def test_customer_value_must_be_finite(value: object) -> None:
    with refused("customer.value", "a finite number"):
        loopkit.Customer.from_dict(customer_dict(value=value))


@pytest.mark.parametrize("value", [math.nan, math.inf, Decimal("NaN"), Decimal("-Infinity")])
def test_customer_value_must_be_finite_in_the_constructor(value: object) -> None:
    with refused("Customer.value", "a finite number"):
        loopkit.Customer(id="c-1", timezone="UTC", value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_attributes_refuse_nan_and_infinities(bad: float) -> None:
    with refused("customer.attributes.score", "a finite number"):
        loopkit.Customer.from_dict(customer_dict(attributes={"score": bad}))
    with refused("customer.attributes.scores[1]", "a finite number"):
        loopkit.Customer.from_dict(customer_dict(attributes={"scores": [1.0, bad]}))
    with refused("touchpoint.attributes.weight", "a finite number"):
        loopkit.Touchpoint.from_dict(touchpoint_dict(attributes={"weight": bad}))
    with refused("Customer.attributes.score", "a finite number"):
        loopkit.Customer(id="c-1", timezone="UTC", attributes={"score": bad})
    with refused("Touchpoint.attributes.weight", "a finite number"):
        loopkit.Touchpoint(
            id="t-1", kind="purchase", channel="web", occurred_at=T, attributes={"weight": bad}
        )
    with refused("CaseEvent.details.amount", "a finite number"):
        loopkit.CaseEvent(at=T, actor="emp-1", kind="note", details={"amount": bad})


def test_attributes_refuse_nested_tables() -> None:
    with refused("customer.attributes.address", "a string, number, boolean or null"):
        loopkit.Customer.from_dict(customer_dict(attributes={"address": {"city": "Lund"}}))


# -- datetimes -------------------------------------------------------------------


def test_constructors_refuse_naive_datetimes() -> None:
    with refused("Touchpoint.occurred_at", "timezone-aware", BusinessTimeError):
        loopkit.Touchpoint(id="t-1", kind="purchase", channel="web", occurred_at=NAIVE)
    with refused("Response.answered_at", "timezone-aware", BusinessTimeError):
        make_response(answered_at=NAIVE)
    with refused("CaseEvent.at", "timezone-aware", BusinessTimeError):
        loopkit.CaseEvent(at=NAIVE, actor="emp-1", kind="note")
    with refused("FollowUpCase.opened_at", "timezone-aware", BusinessTimeError):
        loopkit.FollowUpCase(id="k-1", customer_id="c-1", opened_at=NAIVE)
    with refused("FollowUpCase.due_at", "timezone-aware", BusinessTimeError):
        loopkit.FollowUpCase(id="k-1", customer_id="c-1", opened_at=T, due_at=NAIVE)
    case = loopkit.FollowUpCase.open(id="k-1", customer_id="c-1", at=T, by="system")
    with refused("CaseEvent.at", "timezone-aware", BusinessTimeError):
        case.contact(at=NAIVE, by="emp-1")


@pytest.mark.parametrize("text", ["2026-11-20T15:30:00", "2026-11-20T15:30", "2026-11-20"])
def test_from_dict_refuses_timestamps_without_offset(text: str) -> None:
    expected = "an ISO 8601 timestamp with an offset"
    with refused("touchpoint.occurred_at", expected, BusinessTimeError):
        loopkit.Touchpoint.from_dict(touchpoint_dict(occurred_at=text))
    with refused("response.answered_at", expected, BusinessTimeError):
        loopkit.Response.from_dict(response_dict(answered_at=text))
    with refused("response.touchpoint.occurred_at", expected, BusinessTimeError):
        loopkit.Response.from_dict(response_dict(touchpoint=touchpoint_dict(occurred_at=text)))
    with refused("case.due_at", expected, BusinessTimeError):
        loopkit.FollowUpCase.from_dict(case_dict(due_at=text))
    events = case_dict()["events"]
    events[0]["at"] = text
    with refused("case.events[0].at", expected, BusinessTimeError):
        loopkit.FollowUpCase.from_dict(case_dict(events=events))


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", ""])
def test_from_dict_refuses_timestamps_that_do_not_parse(text: str) -> None:
    with refused("touchpoint.occurred_at", "an ISO 8601 timestamp with offset"):
        loopkit.Touchpoint.from_dict(touchpoint_dict(occurred_at=text))


def test_a_z_suffix_means_utc() -> None:
    tp = loopkit.Touchpoint.from_dict(touchpoint_dict(occurred_at="2026-11-20T14:00:00Z"))
    assert tp.occurred_at == datetime(2026, 11, 20, 14, tzinfo=UTC)


# -- time zones ------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "Europe/Stockholm\x00", "../../etc/passwd", "CEST", 1]
)
def test_unknown_time_zones_are_refused(zone: object) -> None:
    with refused("customer.timezone", "an IANA time zone name"):
        loopkit.Customer.from_dict(customer_dict(timezone=zone))
    with refused("Customer.timezone", "an IANA time zone name"):
        loopkit.Customer(id="c-1", timezone=zone)  # type: ignore[arg-type]


# -- ids -------------------------------------------------------------------------

BAD_IDS = [
    ("", "a non-empty id"),
    ("   ", "a non-empty id"),
    ("c\x001", "an id without control characters"),
    ("c-1\n", "an id without control characters"),
    ("\x1b[31mc-1", "an id without control characters"),
    ("c\x7f1", "an id without control characters"),
    ("c\x851", "an id without control characters"),
    ("c\t1", "an id without control characters"),
    ("x" * 201, "an id of at most 200 characters"),
    (42, "a string id"),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_IDS, ids=repr)
def test_bad_ids_are_refused_everywhere(bad: object, expected: str) -> None:
    with refused("customer.id", expected):
        loopkit.Customer.from_dict(customer_dict(id=bad))
    with refused("Customer.id", expected):
        loopkit.Customer(id=bad, timezone="UTC")  # type: ignore[arg-type]
    with refused("response.customer_id", expected):
        loopkit.Response.from_dict(response_dict(customer_id=bad))
    with refused("Response.id", expected):
        make_response(id=bad)
    with refused("touchpoint.employee_id", expected):
        loopkit.Touchpoint.from_dict(touchpoint_dict(employee_id=bad))
    with refused("case.response_ids[1]", expected):
        loopkit.FollowUpCase.from_dict(case_dict(response_ids=["r-1", bad]))
    events = case_dict()["events"]
    events[0]["actor"] = bad
    with refused("case.events[0].actor", expected):
        loopkit.FollowUpCase.from_dict(case_dict(events=events))
    with refused("FollowUpCase.id", expected):
        loopkit.FollowUpCase(id=bad, customer_id="c-1", opened_at=T)  # type: ignore[arg-type]


def test_an_id_of_exactly_the_limit_is_fine() -> None:
    assert loopkit.Customer(id="x" * 200, timezone="UTC").id == "x" * 200


# -- comments and notes ----------------------------------------------------------


def test_comment_of_exactly_the_limit_is_fine() -> None:
    assert loopkit.MAX_COMMENT_LENGTH == 10_000
    comment = "x" * loopkit.MAX_COMMENT_LENGTH
    assert make_response(comment=comment).comment == comment


def test_comment_over_the_limit_is_refused() -> None:
    too_long = "x" * (loopkit.MAX_COMMENT_LENGTH + 1)
    with refused("response.comment", "at most 10000 characters") as raised:
        loopkit.Response.from_dict(response_dict(comment=too_long))
    assert raised.value.got == "10001 characters"
    with refused("Response.comment", "at most 10000 characters"):
        make_response(comment=too_long)
    with refused("CaseEvent.note", "at most 10000 characters"):
        loopkit.CaseEvent(at=T, actor="emp-1", kind="note", note=too_long)


def test_comment_of_the_wrong_type_is_refused() -> None:
    with refused("response.comment", "a string"):
        loopkit.Response.from_dict(response_dict(comment=["a", "list"]))


# -- everything at once, unknown keys --------------------------------------------


def test_from_dict_reports_every_problem_at_once() -> None:
    data = response_dict(id="", score=True, answered_at="2026-11-20T15:30", scroe=3)
    with pytest.raises(ValidationError) as info:
        loopkit.Response.from_dict(data)
    err = info.value
    assert type(err) is ValidationError  # a mix, so not only a business-time problem
    assert [p.path for p in err.problems] == [
        "response.id",
        "response.score",
        "response.answered_at",
        "response.scroe",
    ]
    assert str(err).startswith("4 problems:\n")
    for problem in err.problems:
        assert f"  {problem}" in str(err)


def test_nested_problems_carry_their_full_path() -> None:
    data = customer_dict(
        contact={
            "channels": [
                {"channel": "email", "address": "   "},
                {"channel": "Email!", "address": "x"},
            ],
            "quiet_hours": "25:00-08:00",
        },
        language="?",
    )
    with pytest.raises(ValidationError) as info:
        loopkit.Customer.from_dict(data)
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "customer.language",
        "customer.contact.channels[0].address",
        "customer.contact.channels[1].channel",
        "customer.contact.quiet_hours",
    ]
    assert info.value.problems[1].expected == "a non-empty address"


@pytest.mark.parametrize(
    ("read", "data", "path", "hint"),
    [
        (loopkit.Response.from_dict, response_dict(scroe=3), "response.scroe", "score"),
        (loopkit.Customer.from_dict, customer_dict(timezon="UTC"), "customer.timezon", "timezone"),
        (
            loopkit.Touchpoint.from_dict,
            touchpoint_dict(refrence="o-1"),
            "touchpoint.refrence",
            "reference",
        ),
        (loopkit.FollowUpCase.from_dict, case_dict(ownr="emp-1"), "case.ownr", "owner"),
        (
            loopkit.CaseEvent.from_dict,
            {"at": "2026-11-20T15:30:00Z", "actor": "a", "kind": "note", "notes": "x"},
            "event.notes",
            "note",
        ),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(
    read: Callable[[Any], Any], data: dict[str, Any], path: str, hint: str
) -> None:
    with pytest.raises(ValidationError) as info:
        read(data)
    unknown = [p for p in info.value.problems if p.path == path]
    assert len(unknown) == 1, str(info.value)
    assert unknown[0].got == "an unknown key"
    assert unknown[0].hint == f"did you mean {hint!r}?"
    assert "one of the known keys" in unknown[0].expected
    assert f"did you mean {hint!r}?" in str(info.value)


def test_unknown_key_far_from_any_known_key_has_no_suggestion() -> None:
    with pytest.raises(ValidationError) as info:
        loopkit.Customer.from_dict(customer_dict(zzzzzz=1))
    assert info.value.problems[-1].hint is None


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        loopkit.Response.from_dict({})
    assert {p.path for p in info.value.problems} == {
        "response.id",
        "response.customer_id",
        "response.scale",
        "response.score",
        "response.answered_at",
    }
    assert all("required" in p.expected for p in info.value.problems)


@pytest.mark.parametrize("data", [None, [], "c-1", 3])
def test_from_dict_wants_a_mapping(data: object) -> None:
    with refused("customer", "a table (mapping)"):
        loopkit.Customer.from_dict(data)


def test_a_caller_can_name_where_the_input_sits() -> None:
    with refused("responses[3].score", "an integer"):
        loopkit.Response.from_dict(response_dict(score=3.0), "responses[3]")


# -- the rest of the model -------------------------------------------------------


def test_contact_preferences_name_their_fields() -> None:
    with refused("ContactPreferences.quiet_hours", "a window such as"):
        loopkit.ContactPreferences(quiet_hours="late")  # type: ignore[arg-type]
    with refused("ContactPoint.channel", "a channel name"):
        loopkit.ContactPoint(channel="E-mail", address="a@example.org")


@pytest.mark.parametrize("survey", ["weekly", 1])
def test_survey_kind_is_checked(survey: object) -> None:
    with refused("response.survey", "one of ['transactional', 'relationship']"):
        loopkit.Response.from_dict(response_dict(survey=survey))


def test_strings_are_not_split_into_steps_or_ids() -> None:
    with refused("FollowUpCase.required_steps", "a set of step names"):
        loopkit.FollowUpCase.open(
            id="k-1", customer_id="c-1", at=T, by="s", required_steps="apology"
        )
    with refused("FollowUpCase.response_ids", "a tuple of ids"):
        loopkit.FollowUpCase(id="k-1", customer_id="c-1", opened_at=T, response_ids="r-1")


def test_case_state_and_escalation_level_are_checked() -> None:
    with refused("case.state", "one of ['open'"):
        loopkit.FollowUpCase.from_dict(case_dict(state="pending"))
    with refused("case.escalation_level", "an escalation level >= 0"):
        loopkit.FollowUpCase.from_dict(case_dict(escalation_level=-1))
    with refused("case.escalation_level", "an integer"):
        loopkit.FollowUpCase.from_dict(case_dict(escalation_level=1.0))


def test_events_out_of_time_order_are_refused_from_dict() -> None:
    case = loopkit.FollowUpCase.open(id="k-1", customer_id="c-1", at=T, by="s")
    data = case.contact(at=T, by="e").to_dict()
    data["events"][1]["at"] = "2026-11-20T15:29:00+00:00"
    with refused("case.events[1].at", "events in time order"):
        loopkit.FollowUpCase.from_dict(data)


def test_a_csat_export_without_its_scale_column_is_refused_not_read_as_nps() -> None:
    """Read as NPS, every satisfied CSAT 4 of 5 would become a detractor."""
    row = {"id": "r-1", "customer_id": "c-1", "score": 4, "answered_at": "2026-11-20T15:30:00Z"}
    with pytest.raises(ValidationError) as info:
        loopkit.Response.from_dict(row)
    assert [(p.path, p.expected) for p in info.value.problems] == [
        ("response.scale", "a value (this field is required)")
    ]
    with pytest.raises(TypeError):
        loopkit.Response(id="r-1", customer_id="c-1", score=4, answered_at=T)  # type: ignore[call-arg]
