"""FollowUpPolicy and PolicySet.decide: first match, all-match, owners, caps,
contact windows, and the purity of the decision."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopkit import CSAT, ContactPreferences, ValidationError, load_playbook
from loopkit.policies import PRESENT_CHANNELS, ContactHistory, FollowUpPolicy, PolicySet
from loopkit.testing import STOCKHOLM, make_customer, make_response, make_touchpoint
from loopkit.testing import strategies as lks

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)
SUPPORT = {
    "timezone": "Europe/Stockholm",
    "hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-17:00"),
}


def policy(name: str = "low", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "when": {"field": "response.score", "le": 6},
        "channels": ["phone", "email"],
        "owner": "touchpoint.employee_id",
        **fields,
    }


def playbook(*policies: dict[str, Any], **top: Any) -> Any:
    return load_playbook(
        {"version": 1, "calendars": {"support": SUPPORT}, "policies": list(policies), **top}
    )


def test_the_first_matching_policy_decides_and_decide_all_gives_every_topic() -> None:
    pb = playbook(
        policy("low", owner="team:cx"),
        policy("very-low", when={"field": "response.score", "le": 2}, owner="team:leads"),
        policy("same-topic", topic="low", owner="team:other"),
    )
    r = make_response(score=1)
    d = pb.policies.decide(r, make_customer(), FRIDAY)
    assert d.policy.name == "low" and d.owner == "team:cx"
    trace = d.explanation.trace("very-low")
    assert trace.matched and not trace.decided
    assert "an earlier policy decided" in str(trace)
    all_ = pb.policies.decide_all(r, make_customer(), FRIDAY)
    assert [x.policy.name for x in all_] == ["low", "very-low"]


def test_owner_from_a_customer_attribute_and_fallback_when_empty() -> None:
    pb = playbook(
        policy("am", owner="customer.attributes.account_manager"),
        policy(
            "no-ladder",
            when={"field": "response.score", "ge": 7},
            owner="touchpoint.employee_id",
        ),
    )
    managed = make_customer(attributes={"account_manager": "emp-42"})
    assert pb.policies.decide(make_response(score=2), managed, FRIDAY).owner == "emp-42"
    d = pb.policies.decide(make_response(score=2), make_customer(), FRIDAY)
    assert d.owner == "unassigned"
    assert d.warnings and "customer.attributes.account_manager" in d.warnings[0]
    nobody = make_response(score=9, touchpoint=make_touchpoint(employee_id=None))
    assert pb.policies.decide(nobody, make_customer(), FRIDAY).owner == "unassigned"
    # CRM data that is not an id (too long, or a number) falls back the same way.
    for junk in ("x" * 300, 42):
        odd = make_customer(attributes={"account_manager": junk})
        d = pb.policies.decide(make_response(score=2), odd, FRIDAY)
        assert d.owner == "unassigned" and "not an id" in d.warnings[0]


def test_an_escalation_ladder_counts_each_step_after_the_previous_one() -> None:
    pb = playbook(
        policy(
            deadline={"within": "4h", "calendar": "support"},
            escalate=[{"after": "2h", "to": "team:leads"}, {"after": "8h", "to": "team:heads"}],
        )
    )
    d = pb.policies.decide(make_response(score=2, answered_at=FRIDAY), make_customer(), FRIDAY)
    # Friday closes at 17:00 here: 1h30 on Friday, 2h30 on Monday.
    assert d.due_at == datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM)
    assert [(e.level, e.to, e.at) for e in d.escalations] == [
        (1, "team:leads", datetime(2026, 11, 23, 12, 30, tzinfo=STOCKHOLM)),
        # 8 business hours after step 1: 4h30 on Monday, 3h30 on Tuesday.
        (2, "team:heads", datetime(2026, 11, 24, 11, 30, tzinfo=STOCKHOLM)),
    ]


def test_warn_at_and_require_are_read() -> None:
    pb = playbook(
        policy(deadline={"within": "4h", "calendar": "support"}, warn_at=0.5, require=["apology"])
    )
    d = pb.policies.decide(make_response(score=2, answered_at=FRIDAY), make_customer(), FRIDAY)
    assert d.warn_at == datetime(2026, 11, 23, 8, 30, tzinfo=STOCKHOLM)
    assert d.required_steps == frozenset({"apology"})


def test_attribute_aware_frequency_caps() -> None:
    pb = playbook(
        policy(),
        contact={
            "follow_up_caps": [
                {
                    "when": {"field": "customer.segment", "equals": "gold"},
                    "max": 1,
                    "per": "60d",
                },
                {"max": 1, "per": "30d"},
            ]
        },
    )
    gold, silver = make_customer(segment="gold"), make_customer(segment="silver")
    r = make_response(score=2)
    forty_days_ago = ContactHistory(follow_ups=(FRIDAY - timedelta(days=40),))
    d = pb.policies.decide(r, gold, FRIDAY, history=forty_days_ago)
    assert not d.follow_up and d.policy is not None
    assert d.suppressed == "frequency cap: at most 1 follow-up(s) per 60d, and 1 already"
    assert pb.policies.decide(r, silver, FRIDAY, history=forty_days_ago).follow_up
    assert pb.policies.decide(r, gold, FRIDAY, history=ContactHistory()).follow_up


def test_a_customer_whose_window_never_meets_opening_hours_gets_a_warning() -> None:
    pb = playbook(policy(deadline={"within": "4h", "calendar": "support"}))
    prefs = make_customer().contact
    night_owl = make_customer(
        contact=ContactPreferences(channels=prefs.channels, preferred_window="22:00-23:00")
    )
    d = pb.policies.decide(make_response(score=2, answered_at=FRIDAY), night_owl, FRIDAY)
    assert d.follow_up
    assert any("never be contacted while the business is open" in w for w in d.warnings)
    assert d.first_contact_at is not None and d.first_contact_at.hour == 22


def test_a_policy_needs_its_calendar_and_escalation_needs_a_deadline() -> None:
    with pytest.raises(ValidationError) as info:
        playbook(policy(escalate=[{"after": "2h", "to": "team:leads"}]))
    assert info.value.path == "policies[0].escalate"
    with pytest.raises(ValidationError) as info:
        PolicySet(
            policies=[FollowUpPolicy.from_dict(policy(deadline={"within": "4h", "calendar": "x"}))]
        )
    assert info.value.path == "policies[0].deadline.calendar"


@pytest.mark.parametrize(
    ("fields", "path", "needle"),
    [
        (
            {"owner": "touchpoint.employe_id"},
            "policies[0].owner",
            "did you mean 'touchpoint.employee_id'?",
        ),
        ({"owner": "customer.name"}, "policies[0].owner", "a field naming a person"),
        ({"owner": "team:Support Leads"}, "policies[0].owner", "team name"),
        ({"channels": "phone"}, "policies[0].channels", "non-empty list"),
        ({"channels": ["phone", "phone"]}, "policies[0].channels", "without repeats"),
        ({"warn_at": 1.5}, "policies[0].warn_at", "between 0 and 1"),
        (
            {"deadline": {"within": "-4h", "calendar": "support"}},
            "policies[0].deadline.within",
            "positive",
        ),
        (
            {"deadline": {"within": "4h", "calender": "support"}},
            "policies[0].deadline.calender",
            "did you mean 'calendar'?",
        ),
        ({"stop_survey": "yes"}, "policies[0].stop_survey", "true or false"),
    ],
)
def test_policy_errors_name_their_path(fields: dict[str, Any], path: str, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        playbook(policy(**fields))
    paths = [p.path for p in info.value.problems]
    assert path in paths, str(info.value)
    assert needle in str(info.value)


# -- purity -------------------------------------------------------------------------

PLAYBOOK = load_playbook(EXAMPLE)


@settings(max_examples=200, deadline=None)
@given(
    response=lks.responses(),
    customer=lks.customers(),
    delay=st.integers(0, 72 * 60),
    history=st.lists(st.integers(0, 200), max_size=4),
)
def test_decide_is_deterministic_never_raises_and_agrees_with_explain(
    response: Any, customer: Any, delay: int, history: list[int]
) -> None:
    now = response.answered_at + timedelta(minutes=delay)
    past = ContactHistory(follow_ups=tuple(now - timedelta(days=d) for d in history))
    first = PLAYBOOK.policies.decide(response, customer, now, history=past)
    again = PLAYBOOK.policies.decide(response, customer, now, history=past)
    assert first == again
    explanation = PLAYBOOK.policies.explain(response, customer, now)
    assert explanation.decided_by == (None if first.policy is None else first.policy.name)
    if first.follow_up:
        assert first.owner and first.channel in first.policy.channels
        if first.channel in PRESENT_CHANNELS:  # the employee is with the customer
            # compared as instants: Python never finds a time in a DST gap equal to
            # one in another zone (PEP 495), though they are the same instant
            assert first.first_contact_at is not None
            start = max(now.timestamp(), response.answered_at.timestamp())
            assert first.first_contact_at.timestamp() == start
        else:
            assert customer.contact.address_for(first.channel) is not None
        assert first.first_contact_at is not None and first.first_contact_at >= now
        if first.due_at is not None:
            assert first.warn_at <= first.due_at
            assert all(e.at >= first.due_at for e in first.escalations)
    else:
        assert first.owner is None and first.due_at is None
    # A comment made of plain English letters may be a word of the reason
    # itself ("none" in "none of the 5 policies matched"): that is no leak.
    comment = response.comment
    if comment and len(comment) > 3 and not re.fullmatch(r"[A-Za-z -]*", comment):
        assert response.comment not in first.reason
        assert response.comment not in str(explanation)


def test_decide_does_not_read_the_clock() -> None:
    # The same inputs years apart give the same decision: only `now` is time.
    r = make_response(score=1, scale=CSAT, answered_at=FRIDAY)
    a = PLAYBOOK.policies.decide(r, make_customer(), FRIDAY)
    b = PLAYBOOK.policies.decide(r, make_customer(), FRIDAY)
    assert a == b and a.due_at == datetime(2026, 11, 23, 11, 30, tzinfo=STOCKHOLM)


def test_a_preferred_window_inside_the_default_quiet_hours_is_ignored_with_a_warning() -> None:
    pb = playbook(policy(), contact={"quiet_hours": "20:00-08:00"})
    prefs = make_customer().contact
    odd = make_customer(
        contact=ContactPreferences(channels=prefs.channels, preferred_window="00:00-00:01")
    )
    d = pb.policies.decide(make_response(score=2, answered_at=FRIDAY), odd, FRIDAY)
    assert d.follow_up and d.first_contact_at == FRIDAY
    assert any("preferred window" in w for w in d.warnings)


def test_a_response_decided_after_its_deadline_says_so() -> None:
    pb = playbook(policy(deadline={"within": "4h", "calendar": "support"}))
    r = make_response(score=2, answered_at=FRIDAY)
    d = pb.policies.decide(r, make_customer(), FRIDAY + timedelta(days=5))
    assert d.due_at == datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM)  # from the answer
    assert any("deadline had passed" in w for w in d.warnings)


@pytest.mark.parametrize("package", ["conditions", "policies", "compensation"])
def test_the_domain_is_pure_no_engine_no_io_no_wall_clock(package: str) -> None:
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "loopkit" / package
    forbidden_modules = ("loopkit.engine", "loopkit.stores", "loopkit.channels", "loopkit.hooks")
    for source in root.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                names = []
            for name in names:
                assert not name.startswith(forbidden_modules), f"{source.name} imports {name}"
                assert name.split(".")[0] not in ("pluggy", "sqlite3", "socket"), name
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today"):
                raise AssertionError(f"{source.name} reads the wall clock")
            if isinstance(node, ast.Name) and node.id == "open":
                raise AssertionError(f"{source.name} opens a file")
