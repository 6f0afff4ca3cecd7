"""The condition language: every operator, every error form, no code injection,
and the compiled function always agrees with the explanation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopkit import CES5, CSAT, NPS, ValidationError
from loopkit.conditions import OPERATORS, Condition, compile_first_match
from loopkit.testing import STOCKHOLM, make_customer, make_response, make_touchpoint
from loopkit.testing import strategies as lks

FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)


def holds(spec: dict[str, Any], response: Any = None, customer: Any = None, **kw: Any) -> bool:
    cond = Condition.parse(spec)
    response = response or make_response()
    customer = customer or make_customer()
    result = cond.matches(response, customer, **kw)
    assert cond.explain(response, customer, **kw).matched is result
    return result


def error(spec: object, path: str = "policies[2].when") -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Condition.parse(spec, path)
    return info.value


# -- operators -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "score", "expected"),
    [
        ("equals", 6, 6, True),
        ("equals", 6, 7, False),
        ("not_equals", 6, 7, True),
        ("in", [0, 1, 2], 1, True),
        ("not_in", [0, 1, 2], 1, False),
        ("lt", 6, 5, True),
        ("lt", 6, 6, False),
        ("le", 6, 6, True),
        ("gt", 8, 9, True),
        ("ge", 9, 8, False),
        ("between", [7, 8], 8, True),
        ("between", [7, 8], 9, False),
        ("exists", True, 0, True),
        ("exists", False, 0, False),
        ("le", 6.5, 6, True),
    ],
)
def test_number_operators(op: str, value: object, score: int, expected: bool) -> None:
    assert holds({"field": "response.score", op: value}, make_response(score=score)) is expected


def test_category_is_the_same_word_on_every_scale() -> None:
    spec = {"field": "response.category", "equals": "detractor"}
    assert holds(spec, make_response(score=6, scale=NPS))
    assert holds(spec, make_response(score=2, scale=CSAT))
    assert holds(spec, make_response(score=5, scale=CES5))  # lower is better
    assert not holds(spec, make_response(score=1, scale=CES5))
    assert holds({"field": "response.scale", "equals": "csat"}, make_response(1, scale=CSAT))


def test_contains_is_case_insensitive_and_matches_is_a_regular_expression() -> None:
    r = make_response(comment="Nobody CALLED me back, I want a Refund")
    assert holds({"field": "response.comment", "contains": "called"}, r)
    assert holds({"field": "response.comment", "contains": "REFUND"}, r)
    assert not holds({"field": "response.comment", "contains": "modem"}, r)
    assert holds({"field": "response.comment", "matches": r"\brefund\b|\bmoney back\b"}, r) is False
    assert holds({"field": "response.comment", "matches": r"(?i)\brefund\b"}, r)
    assert not holds({"field": "response.comment", "contains": "x"}, make_response())


def test_within_measures_time_between_two_fields_or_before_now() -> None:
    tp = make_touchpoint(occurred_at=FRIDAY - timedelta(minutes=90))
    r = make_response(touchpoint=tp, answered_at=FRIDAY)
    spec = {"field": "response.answered_at", "within": "2h", "since": "touchpoint.occurred_at"}
    assert holds(spec, r)
    assert not holds({**spec, "within": "1h"}, r)
    # Answered before the touchpoint: not "within" it.
    early = make_response(touchpoint=make_touchpoint(occurred_at=FRIDAY + timedelta(hours=1)))
    assert not holds(spec, early)
    # Without since: the field is at most that long before now.
    recent = {"field": "touchpoint.occurred_at", "within": "7d"}
    assert holds(recent, r, now=FRIDAY + timedelta(days=6))
    assert not holds(recent, r, now=FRIDAY + timedelta(days=8))


def test_within_is_exact_across_a_dst_change() -> None:
    # Clocks go back on 2026-10-25 in Stockholm: 01:30 to 02:30 local is 2 real hours.
    before = datetime(2026, 10, 25, 1, 30, tzinfo=STOCKHOLM)
    after = datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM).replace(fold=1)
    r = make_response(touchpoint=make_touchpoint(occurred_at=before), answered_at=after)
    spec = {"field": "response.answered_at", "since": "touchpoint.occurred_at"}
    assert not holds({**spec, "within": "1h30m"}, r)
    assert holds({**spec, "within": "2h"}, r)


def test_times_compare_as_instants() -> None:
    r = make_response(answered_at=FRIDAY)
    assert holds({"field": "response.answered_at", "ge": "2026-11-20T14:30:00Z"}, r)
    assert not holds({"field": "response.answered_at", "gt": "2026-11-20T14:30:00Z"}, r)
    assert holds(
        {"field": "response.answered_at", "between": ["2026-11-20T00:00:00+01:00", FRIDAY]}, r
    )


def test_a_missing_value_fails_every_test_but_its_negations() -> None:
    no_segment = make_customer()
    assert not holds({"field": "customer.segment", "equals": "gold"}, customer=no_segment)
    assert holds({"field": "customer.segment", "not_equals": "gold"}, customer=no_segment)
    assert holds({"field": "customer.segment", "not_in": ["gold"]}, customer=no_segment)
    assert holds({"field": "customer.segment", "exists": False}, customer=no_segment)
    assert not holds({"field": "customer.value", "lt": 100}, customer=no_segment)


def test_no_touchpoint_means_every_touchpoint_field_is_missing() -> None:
    r = make_response()
    bare = make_response(touchpoint=None)
    object.__setattr__(bare, "touchpoint", None)  # a relationship survey has none
    spec = {"field": "touchpoint.kind", "equals": "support_contact"}
    assert holds(spec, r) and not holds(spec, bare)
    assert holds({"field": "touchpoint.kind", "exists": False}, bare)
    trace = Condition.parse(spec).explain(bare, make_customer())
    assert trace.saw == "no touchpoint"


def test_customer_fields_and_free_attributes() -> None:
    c = make_customer(
        segment="gold",
        value=1250,
        attributes={"tier": 3, "vip": True, "tags": ["b2b", "Nordic"], "manager": "emp-1"},
    )
    assert holds({"field": "customer.value", "gt": 1000.5}, customer=c)
    assert holds({"field": "customer.attributes.tier", "ge": 3}, customer=c)
    assert holds({"field": "customer.attributes.vip", "equals": True}, customer=c)
    # true is not 1, and 3 is not "3": attribute comparisons are typed.
    assert not holds({"field": "customer.attributes.vip", "equals": 1}, customer=c)
    assert not holds({"field": "customer.attributes.tier", "equals": "3"}, customer=c)
    assert not holds({"field": "customer.attributes.manager", "lt": 5}, customer=c)
    assert holds({"field": "customer.attributes.tags", "contains": "nordic"}, customer=c)
    assert holds({"field": "customer.attributes.manager", "in": ["emp-1", "emp-2"]}, customer=c)
    assert holds({"field": "customer.attributes.missing", "exists": False}, customer=c)
    assert holds({"field": "customer.contact.channels", "contains": "phone"}, customer=c)
    assert not holds({"field": "customer.contact.channels", "contains": "sms"}, customer=c)


def test_all_any_not_combine() -> None:
    r = make_response(score=3)
    gold = make_customer(segment="gold")
    low = {"field": "response.score", "le": 6}
    is_gold = {"field": "customer.segment", "equals": "gold"}
    assert holds({"all": [low, is_gold]}, r, gold)
    assert not holds({"all": [low, {"not": is_gold}]}, r, gold)
    assert holds({"any": [{"not": low}, is_gold]}, r, gold)
    assert holds({"not": {"any": [{"not": low}, {"not": is_gold}]}}, r, gold)


def test_every_operator_is_documented_in_the_reference() -> None:
    reference = (
        __import__("pathlib").Path(__file__).parents[1] / "docs" / "reference-policy-file.md"
    ).read_text(encoding="utf-8")
    for op in OPERATORS:
        assert f"`{op}`" in reference, op


# -- explanations -----------------------------------------------------------------


def test_the_explanation_names_the_first_failing_condition_and_what_it_saw() -> None:
    cond = Condition.parse(
        {
            "all": [
                {"field": "response.category", "equals": "detractor"},
                {"field": "touchpoint.kind", "equals": "support_contact"},
            ]
        },
        "policies[0].when",
    )
    trace = cond.explain(make_response(score=2, kind="purchase"), make_customer())
    assert not trace.matched
    assert trace.at == "when.all[1]"
    assert trace.failed == "touchpoint.kind equals 'support_contact'"
    assert trace.saw == "touchpoint.kind = 'purchase'"


def test_personal_fields_are_redacted_in_explanations() -> None:
    secret = "Call me on 0701234567, Anna"
    cond = Condition.parse({"field": "response.comment", "contains": "refund"})
    trace = cond.explain(make_response(comment=secret), make_customer())
    assert trace.failed == "response.comment contains 'refund'"
    assert trace.saw == f"response.comment = a redacted str of {len(secret)} characters"
    named = Condition.parse({"not": {"field": "customer.name", "matches": "^A"}})
    trace = named.explain(make_response(), make_customer(name="Anna"))
    assert "Anna" not in str(trace)


def test_not_and_any_explain_themselves() -> None:
    cond = Condition.parse(
        {
            "any": [
                {"field": "customer.segment", "equals": "gold"},
                {"field": "response.score", "le": 2},
            ]
        }
    )
    trace = cond.explain(make_response(score=5), make_customer(segment="silver"))
    assert trace.at == "when" and trace.failed is not None and trace.failed.startswith("any(")
    assert trace.saw == "customer.segment = 'silver'; response.score = 5"
    negated = Condition.parse({"not": {"field": "response.score", "le": 6}})
    trace = negated.explain(make_response(score=3), make_customer())
    assert trace.failed == "not(response.score le 6)" and trace.saw == "response.score = 3"


# -- errors -----------------------------------------------------------------------


def test_a_literal_of_the_wrong_type_names_its_exact_path() -> None:
    err = error(
        {
            "all": [
                {"field": "response.category", "equals": "detractor"},
                {"field": "response.score", "le": "six"},
            ]
        }
    )
    assert str(err) == "policies[2].when.all[1].le: expected a number, got 'six'"
    assert err.path == "policies[2].when.all[1].le"


@pytest.mark.parametrize(
    ("spec", "path", "needle"),
    [
        (
            {"field": "response.scor", "le": 6},
            "policies[2].when.field",
            "did you mean 'response.score'?",
        ),
        ({"field": "response.score", "lee": 6}, "policies[2].when.lee", "did you mean 'le'?"),
        (
            {"al": [{"field": "response.score", "le": 6}]},
            "policies[2].when.al",
            "did you mean 'all'?",
        ),
        (
            {"field": "response.category", "equals": "detractr"},
            "policies[2].when.equals",
            "did you mean 'detractor'?",
        ),
        ({"field": "response.score"}, "policies[2].when", "exactly one operator"),
        ({"field": "response.score", "le": 6, "ge": 1}, "policies[2].when", "several: le, ge"),
        (
            {"field": "response.comment", "lt": 3},
            "policies[2].when.lt",
            "applies to response.comment (text)",
        ),
        (
            {"field": "response.score", "between": [6, 1]},
            "policies[2].when.between",
            "lowest <= highest",
        ),
        ({"field": "response.score", "between": [1]}, "policies[2].when.between", "two values"),
        ({"field": "response.score", "in": []}, "policies[2].when.in", "non-empty list"),
        ({"field": "response.score", "in": [1, "two"]}, "policies[2].when.in[1]", "a number"),
        ({"field": "response.score", "exists": "yes"}, "policies[2].when.exists", "true or false"),
        (
            {"field": "response.comment", "matches": "(unclosed"},
            "policies[2].when.matches",
            "valid regular expression",
        ),
        (
            {"field": "response.answered_at", "within": "2 hours"},
            "policies[2].when.within",
            "duration",
        ),
        ({"field": "response.answered_at", "within": "0m"}, "policies[2].when.within", "positive"),
        (
            {"field": "response.answered_at", "within": "2h", "since": "touchpoint.ocurred_at"},
            "policies[2].when.since",
            "did you mean 'touchpoint.occurred_at'?",
        ),
        (
            {"field": "response.score", "le": 6, "since": "touchpoint.occurred_at"},
            "policies[2].when.since",
            "only together with 'within'",
        ),
        (
            {"field": "response.answered_at", "lt": "2026-11-20T10:00"},
            "policies[2].when.lt",
            "offset",
        ),
        ({"all": []}, "policies[2].when.all", "non-empty list"),
        ({"all": {"field": "response.score", "le": 6}}, "policies[2].when.all", "non-empty list"),
        ({}, "policies[2].when", "exactly one of 'all', 'any', 'not'"),
        ("score <= 6", "policies[2].when", "a condition table"),
        (
            {
                "all": [{"field": "response.score", "le": 6}],
                "any": [{"field": "response.score", "le": 6}],
            },
            "policies[2].when",
            "exactly one of",
        ),
        ({"field": "customer.value", "gt": float("nan")}, "policies[2].when.gt", "a number"),
        (
            {"field": "customer.attributes.tier", "equals": [1]},
            "policies[2].when.equals",
            "a string, number or true/false",
        ),
    ],
)
def test_each_error_kind_names_its_path(spec: object, path: str, needle: str) -> None:
    err = error(spec)
    assert err.path == path, str(err)
    assert needle in str(err)


def test_every_error_in_a_condition_is_reported_together() -> None:
    err = error(
        {
            "all": [
                {"field": "response.scor", "le": 6},
                {"field": "response.score", "le": "six"},
                {"any": [{"field": "touchpoint.kind", "equal": "purchase"}]},
            ]
        }
    )
    assert [p.path for p in err.problems] == [
        "policies[2].when.all[0].field",
        "policies[2].when.all[1].le",
        "policies[2].when.all[2].any[0].equal",
    ]


# -- safety -----------------------------------------------------------------------

INJECTIONS = [
    "response.score) or __import__('os').system('touch /tmp/loopkit-pwned') or (",
    "response.score.__class__",
    "__import__('os')",
    "r.__init__.__globals__",
    "response.score; import os",
]


@pytest.mark.parametrize("field", INJECTIONS)
def test_a_field_cannot_inject_code(field: str) -> None:
    err = error({"field": field, "le": 6})
    assert err.path == "policies[2].when.field"


@pytest.mark.parametrize(
    "literal",
    [
        "') or __import__('os').system('touch /tmp/loopkit-pwned') or ('",
        "__import__('os').system('touch /tmp/loopkit-pwned')",
        '"""; import os; os.system("touch /tmp/loopkit-pwned"); """',
    ],
)
def test_literals_and_attribute_keys_are_data_never_code(literal: str, tmp_path: Any) -> None:
    # A literal is bound as a constant; an attribute key too. Both only ever compare.
    by_value = Condition.parse({"field": "customer.segment", "equals": literal})
    by_key = Condition.parse({"field": f"customer.attributes.{literal}", "equals": "x"})
    by_regex = Condition.parse(
        {"field": "customer.region", "matches": __import__("re").escape(literal)}
    )
    plain = make_customer(segment="gold", region="north")
    assert not by_value.matches(make_response(), plain)
    assert not by_key.matches(make_response(), plain)
    assert not by_regex.matches(make_response(), plain)
    tricky = make_customer(
        segment=literal[:100] if len(literal) <= 100 else "x",
        region=literal[:100],
        attributes={literal: "x"},
    )
    assert by_key.matches(make_response(), tricky)
    assert by_regex.matches(make_response(), tricky)
    assert not __import__("os").path.exists("/tmp/loopkit-pwned")


def test_generated_code_has_no_builtins() -> None:
    cond = Condition.parse({"field": "response.score", "le": 6})
    namespace = cond._fn.__globals__  # type: ignore[attr-defined]
    assert namespace["__builtins__"] == {}


# -- properties -------------------------------------------------------------------

LEAVES = st.sampled_from(
    [
        {"field": "response.score", "le": 6},
        {"field": "response.score", "between": [3, 8]},
        {"field": "response.category", "in": ["passive", "promoter"]},
        {"field": "response.category", "equals": "detractor"},
        {"field": "response.comment", "exists": True},
        {"field": "response.comment", "contains": "a"},
        {"field": "response.comment", "matches": "^[A-M]"},
        {"field": "touchpoint.kind", "in": ["purchase", "delivery"]},
        {"field": "touchpoint.employee_id", "exists": False},
        {"field": "customer.segment", "not_equals": "gold"},
        {"field": "customer.value", "ge": 100},
        {"field": "customer.attributes.tier", "gt": 1},
        {"field": "customer.contact.channels", "contains": "email"},
        {"field": "response.answered_at", "within": "2h", "since": "touchpoint.occurred_at"},
        {"field": "touchpoint.occurred_at", "within": "30d"},
    ]
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(spec=TREES, response=lks.responses(), customer=lks.customers(), hours=st.integers(0, 2000))
def test_compiled_matching_agrees_with_the_explanation(
    spec: dict[str, Any], response: Any, customer: Any, hours: int
) -> None:
    cond = Condition.parse(spec)
    now = response.answered_at + timedelta(hours=hours)
    matched = cond.matches(response, customer, now=now)
    trace = cond.explain(response, customer, now=now)
    assert trace.matched is matched
    assert (trace.failed is None) is matched
    # The whole-set function agrees with each condition on its own.
    first = compile_first_match([cond, Condition.parse({"not": spec})])
    assert first(response, response.touchpoint, customer, now) == (0 if matched else 1)
    # A comment made of plain English letters may be a word of the trace itself
    # ("fail" in "failed="): only a distinctive one can show a leak.
    comment = response.comment
    if comment and not matched and len(comment) > 3 and not re.fullmatch(r"[A-Za-z -]*", comment):
        assert comment not in str(trace)


# -- one package -----------------------------------------------------------------


def test_policies_and_the_top_level_re_export_the_one_condition_language() -> None:
    import loopkit
    import loopkit.conditions
    import loopkit.policies

    assert loopkit.policies.Condition is loopkit.conditions.Condition is loopkit.Condition
    assert loopkit.policies.ConditionTrace is loopkit.conditions.ConditionTrace
    assert loopkit.policies.OPERATORS is loopkit.conditions.OPERATORS
    assert {"Condition", "ConditionTrace", "OPERATORS"} <= set(loopkit.policies.__all__)
    # A compensation rule's condition is the same value a follow-up policy's is.
    when = {"field": "response.score", "le": 6}
    rule = loopkit.CompensationRule.from_dict(
        {"name": "sorry", "when": when, "offer": {"kind": "apology"}}, "compensation[0]"
    )
    assert isinstance(rule.when, loopkit.conditions.Condition)
    assert rule.when == loopkit.policies.Condition.parse(when)
    assert rule.when.matches(make_response(score=3), make_customer())
