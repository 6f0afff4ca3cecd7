"""The example policy file (examples/policies.toml) loads, and every comment in it holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loopkit import CSAT, NPS, Category, ContactPreferences, ValidationError, load_playbook
from loopkit.compensation import Money, OfferKind
from loopkit.policies import ContactHistory, Decision
from loopkit.testing import STOCKHOLM, make_customer, make_response, make_touchpoint

BUNDLED = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)


@pytest.fixture(scope="module")
def playbook():  # type: ignore[no-untyped-def]
    return load_playbook(BUNDLED)


def decide(playbook, response, customer=None, now=None, history=None) -> Decision:  # type: ignore[no-untyped-def]
    customer = customer or make_customer()
    return playbook.policies.decide(
        response, customer, now or response.answered_at, history=history
    )


def test_load_policies_is_the_old_name_of_load_playbook(playbook) -> None:  # type: ignore[no-untyped-def]
    import loopkit

    assert loopkit.load_policies is loopkit.load_playbook
    assert "load_policies" in loopkit.__all__
    assert loopkit.load_policies(BUNDLED) == playbook


def test_the_file_loads_as_it_stands(playbook) -> None:  # type: ignore[no-untyped-def]
    assert playbook.version == 1
    assert sorted(playbook.calendars) == ["stores", "support"]
    assert [p.name for p in playbook.policies] == [
        "complaint-in-person",
        "support-detractor-callback",
        "offboarding-last-impression",
        "purchase-detractor-email",
        "passive-ask-what-would-make-it-ten",
    ]
    assert [r.name for r in playbook.compensation] == ["gold-detractor-goodwill", "small-goodwill"]


# -- "An unhappy customer right after a support contact gets a phone call from the
#     employee who handled them, within 4 business hours."


def test_csat_1_after_support_gets_a_call_from_that_employee_due_monday(playbook) -> None:  # type: ignore[no-untyped-def]
    response = make_response(score=1, scale=CSAT, answered_at=FRIDAY)
    d = decide(playbook, response)
    assert d.follow_up and d.suppressed is None
    assert d.policy is not None and d.policy.name == "support-detractor-callback"
    assert d.channel == "phone"
    assert d.owner == "emp-7"
    # 4 business hours: 30 minutes on Friday (closes 16:00), 3h30 on Monday from 08:00.
    assert d.due_at == datetime(2026, 11, 23, 11, 30, tzinfo=STOCKHOLM)
    # 75 % of 4 h = 3 h: 30 minutes on Friday, 2h30 on Monday.
    assert d.warn_at == datetime(2026, 11, 23, 10, 30, tzinfo=STOCKHOLM)
    assert playbook.calendars["support"].between(FRIDAY, d.warn_at) == timedelta(hours=3)
    assert d.first_contact_at == FRIDAY
    assert d.warnings == ()
    assert "support-detractor-callback" in d.reason and "emp-7" in d.reason


def test_escalation_goes_to_support_leads_4_business_hours_after_the_deadline(playbook) -> None:  # type: ignore[no-untyped-def]
    d = decide(playbook, make_response(score=1, scale=CSAT, answered_at=FRIDAY))
    assert len(d.escalations) == 1
    step = d.escalations[0]
    assert (step.level, step.to) == (1, "team:support-leads")
    # Monday 11:30 + 4 business hours = Monday 15:30.
    assert step.at == datetime(2026, 11, 23, 15, 30, tzinfo=STOCKHOLM)


def test_stop_survey_no_further_automated_questions(playbook) -> None:  # type: ignore[no-untyped-def]
    d = decide(playbook, make_response(score=2, answered_at=FRIDAY))
    assert d.stop_survey is True


def test_channels_the_first_one_the_customer_allows(playbook) -> None:  # type: ignore[no-untyped-def]
    email_only = make_customer(channels={"email": "anna@example.com"})
    d = decide(playbook, make_response(score=1, scale=CSAT), email_only)
    assert d.follow_up and d.channel == "email"


def test_a_customer_who_allows_no_listed_channel_gets_no_case_and_a_reason(playbook) -> None:  # type: ignore[no-untyped-def]
    sms_only = make_customer(channels={"sms": "+46700000001"})
    d = decide(playbook, make_response(score=1, scale=CSAT), sms_only)
    assert d.policy is not None and not d.follow_up
    assert d.suppressed is not None and "phone" in d.suppressed


def test_no_employee_on_the_touchpoint_falls_back_to_the_escalation_team(playbook) -> None:  # type: ignore[no-untyped-def]
    response = make_response(score=1, scale=CSAT, touchpoint=make_touchpoint(employee_id=None))
    d = decide(playbook, response)
    assert d.owner == "team:support-leads"
    assert any("touchpoint.employee_id" in w for w in d.warnings)


# -- "A customer who is leaving and unhappy: last impressions last."


@pytest.mark.parametrize(
    ("scale", "score", "expected"),
    [
        (NPS, 0, True),
        (NPS, 6, True),
        (NPS, 8, True),  # a passive leaver is not happy either
        (NPS, 9, False),
        (NPS, 10, False),
        (CSAT, 1, True),
        (CSAT, 3, True),
        (CSAT, 4, False),
        (CSAT, 5, False),  # "any scale: a happy leaver is left alone"
    ],
)
def test_an_unhappy_leaver_on_any_scale_gets_the_retention_call(
    playbook,  # type: ignore[no-untyped-def]
    scale: Any,
    score: int,
    expected: bool,
) -> None:
    response = make_response(score=score, scale=scale, kind="cancellation")
    d = decide(playbook, response)
    matched = d.policy is not None and d.policy.name == "offboarding-last-impression"
    assert matched is expected
    if expected:
        assert (d.channel, d.owner) == ("phone", "team:retention")
        # 8 business hours from Friday 15:30: 30 min Friday, 7h30 Monday.
        assert d.due_at == datetime(2026, 11, 23, 15, 30, tzinfo=STOCKHOLM)
        assert d.escalations == ()
        # The policy does not say stop_survey; a detractor's answer stops the flow anyway.
        assert d.stop_survey is (response.category is Category.DETRACTOR)


@pytest.mark.parametrize("kind", ["purchase", "delivery"])
def test_purchase_and_delivery_detractors_get_an_email_from_ecommerce(playbook, kind: str) -> None:  # type: ignore[no-untyped-def]
    d = decide(playbook, make_response(score=3, kind=kind))
    assert d.policy is not None and d.policy.name == "purchase-detractor-email"
    assert (d.channel, d.owner) == ("email", "team:ecommerce")


# -- passives: "what would make it a ten?"


def test_a_passive_gold_customer_gets_the_what_would_make_it_ten_email(playbook) -> None:  # type: ignore[no-untyped-def]
    d = decide(playbook, make_response(score=8, kind="purchase"), make_customer(segment="gold"))
    assert d.policy is not None and d.policy.name == "passive-ask-what-would-make-it-ten"
    assert (d.channel, d.owner) == ("email", "team:cx")


def test_a_passive_non_gold_customer_with_a_comment_gets_it_too(playbook) -> None:  # type: ignore[no-untyped-def]
    response = make_response(score=7, comment="Fine, but slow.")
    d = decide(playbook, response, make_customer(segment="silver"))
    assert d.policy is not None and d.policy.name == "passive-ask-what-would-make-it-ten"


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_a_passive_non_gold_customer_without_a_comment_gets_nothing(
    playbook,  # type: ignore[no-untyped-def]
    comment: str | None,
) -> None:
    response = make_response(score=7, comment=comment)
    d = decide(playbook, response, make_customer(segment="silver"))
    assert d.policy is None and not d.follow_up
    trace = d.explanation.trace("passive-ask-what-would-make-it-ten")
    assert not trace.matched
    assert trace.at == "when.all[1]"
    assert trace.failed_condition is not None and trace.failed_condition.startswith("any(")
    assert "customer.segment = 'silver'" in (trace.saw or "")


def test_a_promoter_gets_no_case_and_an_explanation_of_why(playbook) -> None:  # type: ignore[no-untyped-def]
    d = decide(playbook, make_response(score=10))
    assert d.policy is None and d.follow_up is False and d.owner is None
    assert "promoter" in d.reason
    explanation = d.explanation
    assert explanation.decided_by is None
    assert [t.matched for t in explanation] == [False, False, False, False, False]
    first = explanation.trace("support-detractor-callback")
    assert first.failed_condition == "response.category equals 'detractor'"
    assert first.saw == "response.category = 'promoter'"
    text = str(explanation)
    assert text.startswith("no policy matched")
    assert (
        text
        == explanation.explain()
        == str(playbook.policies.explain(make_response(score=10), make_customer(), FRIDAY))
    )


def test_the_comment_is_never_echoed_in_an_explanation(playbook) -> None:  # type: ignore[no-untyped-def]
    secret = "My name is Anna Svensson and I live at Storgatan 1"
    response = make_response(score=7, comment=secret, kind="cancellation")
    d = decide(playbook, response, make_customer(segment="silver", name="Anna Svensson"))
    assert d.policy is not None
    text = str(d.explanation) + d.reason + repr(d)
    assert "Anna" not in text and "Storgatan" not in text


# -- [contact]


def test_quiet_hours_20_to_08_are_respected_for_the_first_contact(playbook) -> None:  # type: ignore[no-untyped-def]
    late = datetime(2026, 11, 20, 21, 15, tzinfo=STOCKHOLM)
    d = decide(playbook, make_response(score=1, scale=CSAT, answered_at=late))
    # Not at 21:15 (quiet), not on Saturday 08:00 either: support is closed until Monday.
    assert d.first_contact_at == datetime(2026, 11, 23, 8, 0, tzinfo=STOCKHOLM)
    assert d.due_at == datetime(2026, 11, 23, 12, 0, tzinfo=STOCKHOLM)
    assert d.warnings == ()


def test_email_without_a_deadline_calendar_follows_the_customers_window_only() -> None:
    playbook = load_playbook(
        {
            "version": 1,
            "contact": {"quiet_hours": "20:00-08:00"},
            "policies": [
                {
                    "name": "any-detractor",
                    "when": {"field": "response.category", "equals": "detractor"},
                    "channels": ["email"],
                    "owner": "team:cx",
                }
            ],
        }
    )
    late = datetime(2026, 11, 20, 21, 15, tzinfo=STOCKHOLM)
    d = decide(playbook, make_response(score=1, scale=CSAT, answered_at=late))
    assert d.first_contact_at == datetime(2026, 11, 21, 8, 0, tzinfo=STOCKHOLM)
    assert d.due_at is None and d.warn_at is None and d.escalations == ()


def test_quiet_hours_are_the_customers_own_clock_and_can_make_a_deadline_impossible(
    playbook,  # type: ignore[no-untyped-def]
) -> None:
    new_york = make_customer(timezone="America/New_York")
    sunday = datetime(2026, 11, 22, 20, 0, tzinfo=STOCKHOLM)
    d = decide(playbook, make_response(score=1, scale=CSAT, answered_at=sunday), new_york)
    # Due Monday 12:00 Stockholm = 06:00 in New York, inside 20:00-08:00 there; the
    # first moment support is open and New York is awake is Monday 14:00 Stockholm.
    assert d.due_at == datetime(2026, 11, 23, 12, 0, tzinfo=STOCKHOLM)
    assert d.first_contact_at is not None
    assert d.first_contact_at.astimezone(STOCKHOLM) == datetime(
        2026, 11, 23, 14, 0, tzinfo=STOCKHOLM
    )
    assert any("deadline cannot be met" in w for w in d.warnings)


def test_a_customers_own_quiet_hours_win_over_the_default(playbook) -> None:  # type: ignore[no-untyped-def]
    owl = make_customer(quiet_hours="23:00-10:00")
    thursday = datetime(2026, 11, 19, 9, 0, tzinfo=STOCKHOLM)
    d = decide(playbook, make_response(score=1, scale=CSAT, answered_at=thursday), owl)
    assert d.first_contact_at == datetime(2026, 11, 19, 10, 0, tzinfo=STOCKHOLM)


def test_survey_cooldown_30_days(playbook) -> None:  # type: ignore[no-untyped-def]
    rules = playbook.contact
    assert rules.survey_cooldown == timedelta(days=30)
    customer = make_customer()
    recent = ContactHistory(surveys=(FRIDAY - timedelta(days=29),))
    old = ContactHistory(surveys=(FRIDAY - timedelta(days=30),))
    assert rules.may_survey(customer, recent, FRIDAY) == (False, "cooldown")
    assert rules.may_survey(customer, old, FRIDAY) == (True, "allowed")
    assert rules.may_survey(customer, ContactHistory(), FRIDAY) == (True, "allowed")
    opted_out = make_customer(contact=ContactPreferences(surveys_opt_out=True))
    assert rules.may_survey(opted_out, ContactHistory(), FRIDAY) == (False, "opted_out")


# -- calendars


def test_the_stores_calendar_has_a_lunch_break_on_monday(playbook) -> None:  # type: ignore[no-untyped-def]
    stores = playbook.calendars["stores"]
    monday_1330 = datetime(2026, 11, 23, 13, 30, tzinfo=STOCKHOLM)
    assert stores.add(monday_1330, timedelta(hours=1)) == datetime(
        2026, 11, 23, 15, 30, tzinfo=STOCKHOLM
    )


def test_support_holidays_are_not_business_time(playbook) -> None:  # type: ignore[no-untyped-def]
    d = decide(
        playbook,
        make_response(
            score=1, scale=CSAT, answered_at=datetime(2026, 12, 23, 15, 0, tzinfo=STOCKHOLM)
        ),
    )
    # Wed 23 Dec 15:00-17:00 (2 h), then 24, 25, 26 are holidays; Sun closed; Mon 28 +2 h.
    assert d.due_at == datetime(2026, 12, 28, 10, 0, tzinfo=STOCKHOLM)


# -- compensation


def test_a_gold_detractor_is_proposed_300_sek_which_needs_approval(playbook) -> None:  # type: ignore[no-untyped-def]
    gold = make_customer(segment="gold")
    rules = playbook.compensation.propose(make_response(score=2), gold)
    assert [r.name for r in rules] == ["gold-detractor-goodwill", "small-goodwill"]
    offer = rules[0].offer
    assert offer.kind is OfferKind.DISCOUNT_CODE
    assert offer.value == Money(Decimal("300"), "SEK")
    assert not playbook.authority.allows("agent", offer.value)  # above 200 SEK: approval
    assert playbook.authority.allows("team-lead", offer.value)
    assert not playbook.authority.allows("intern", offer.value)  # unknown role


def test_small_goodwill_is_100_sek_at_most_once_per_customer_per_90_days(playbook) -> None:  # type: ignore[no-untyped-def]
    rules = playbook.compensation.propose(make_response(score=2), make_customer(segment="silver"))
    assert [r.name for r in rules] == ["small-goodwill"]
    rule = rules[0]
    assert rule.offer.value == Money.parse("100 SEK")
    assert rule.max_per_customer is not None
    assert (rule.max_per_customer.count, rule.max_per_customer.per) == (1, timedelta(days=90))
    assert playbook.authority.allows("agent", rule.offer.value)
    assert playbook.authority.allows("store-clerk", rule.offer.value)


def test_a_promoter_is_proposed_nothing(playbook) -> None:  # type: ignore[no-untyped-def]
    assert (
        playbook.compensation.propose(make_response(score=9), make_customer(segment="gold")) == ()
    )


def test_authority_and_budgets_load_as_written(playbook) -> None:  # type: ignore[no-untyped-def]
    assert playbook.authority.limit_for("store-clerk") == Money.parse("150 SEK")
    budget = playbook.budgets["team-support"]
    assert budget.amount == Money.parse("20000 SEK")
    assert budget.per.value == "month"


# -- errors in the file ------------------------------------------------------------


def _broken_copy(tmp_path: Path, edit: Any) -> Path:
    text = edit(BUNDLED.read_text(encoding="utf-8"))
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_error_in_the_file_is_reported_together_with_the_file_name(tmp_path: Path) -> None:
    path = _broken_copy(
        tmp_path,
        lambda t: (
            t.replace(
                '{ field = "response.category", in = ["detractor", "passive"] }',
                '{ field = "response.score", le = "six" }',
            )
            .replace('channels = ["email"]', 'chanels = ["email"]', 1)
            .replace('survey_cooldown = "30d"', 'survey_cooldown = "30 days"')
            .replace('agent = "200 SEK"', 'agent = "200"')
        ),
    )
    with pytest.raises(ValidationError) as info:
        load_playbook(path)
    err = info.value
    assert err.source == str(path)
    assert str(err).startswith(f"{path}: 5 problems:")
    assert [str(p) for p in err.problems if p.path == "policies[2].when.all[1].le"] == [
        "policies[2].when.all[1].le: expected a number, got 'six'"
    ]
    paths = {p.path for p in err.problems}
    assert paths == {
        "policies[2].when.all[1].le",
        "policies[3].chanels",
        "policies[3].channels",
        "contact.survey_cooldown",
        "authority.agent",
    }
    assert "did you mean 'channels'?" in str(err)


def test_a_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, lambda t: t.replace("version = 1", "version = = 1"))
    with pytest.raises(ValidationError) as info:
        load_playbook(path)
    assert info.value.source == str(path) and "TOML" in str(info.value)


def test_the_same_file_as_json_loads_the_same(tmp_path: Path) -> None:
    import json
    import tomllib

    data = tomllib.loads(BUNDLED.read_text(encoding="utf-8"))
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    from_json = load_playbook(path)
    from_toml = load_playbook(BUNDLED)
    assert [p.name for p in from_json.policies] == [p.name for p in from_toml.policies]
    r = make_response(score=1, scale=CSAT, answered_at=FRIDAY)
    assert decide(from_json, r).due_at == decide(from_toml, r).due_at


def test_a_calendar_typo_after_a_broken_policy_keeps_its_own_index(tmp_path: Path) -> None:
    path = _broken_copy(
        tmp_path,
        lambda t: t.replace(
            'owner = "touchpoint.employee_id"', 'owner = "touchpoint.employe_id"'
        ).replace('within = "16h", calendar = "support"', 'within = "16h", calendar = "suport"'),
    )
    with pytest.raises(ValidationError) as info:
        load_playbook(path)
    assert {p.path for p in info.value.problems} == {
        "policies[0].owner",
        "policies[1].owner",
        "policies[4].deadline.calendar",
    }
