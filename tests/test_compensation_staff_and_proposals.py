"""Who is who ([staff], [approvals]) and how offers are proposed: ranked, the
ineligible dropped, plugins' offers merged; values that travel with a case."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopkit import Cap, FollowUpCase, PluginError, ValidationError, load_playbook
from loopkit.compensation import (
    ApprovalRules,
    CompensationRule,
    CompensationRules,
    Empowerment,
    Ledger,
    LedgerEntry,
    Money,
    Offer,
    OfferKind,
    OfferSource,
    Proposal,
    Staff,
    StaffMember,
    grant,
    propose_offers,
    reject,
)
from loopkit.testing import make_customer, make_response

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
BASE = {
    "version": 1,
    "policies": [
        {
            "name": "p",
            "when": {"field": "response.score", "le": 6},
            "channels": ["email"],
            "owner": "team:cx",
        }
    ],
}


def test_the_staff_table_knows_roles_and_teams_and_nobody_else() -> None:
    staff = Staff.from_dict(
        {"emp-3": {"role": "agent", "team": "support"}, "lead-1": {"role": "team-lead"}}
    )
    assert staff.role_of("emp-3") == "agent" and staff.team_of("emp-3") == "support"
    assert staff.team_of("lead-1") is None
    assert staff.role_of("stranger") is None and staff.member("stranger") is None
    assert [m.id for m in staff] == ["emp-3", "lead-1"] and len(staff) == 2


def test_staff_and_approvals_errors_name_their_paths() -> None:
    bad = {
        **BASE,
        "staff": {"emp-3": {"role": "agent", "tem": "support"}, "emp-4": "agent"},
        "approvals": {"expire_after": "three days"},
    }
    with pytest.raises(ValidationError) as info:
        load_playbook(bad)
    paths = {p.path for p in info.value.problems}
    assert {"staff.emp-3.tem", "staff.emp-4", "approvals.expire_after"} <= paths, str(info.value)
    with pytest.raises(ValidationError) as info:
        ApprovalRules(expire_after=timedelta(0))
    assert info.value.path == "ApprovalRules.expire_after"


def test_the_playbook_reads_staff_approvals_and_budgets_with_team_and_zone() -> None:
    playbook = load_playbook(
        {
            **BASE,
            "staff": {"clerk-17": {"role": "store-clerk", "team": "stores"}},
            "authority": {"store-clerk": "150 SEK"},
            "approvals": {"expire_after": "3d"},
            "budgets": {
                "stores": {
                    "amount": "5000 SEK",
                    "per": "month",
                    "team": "stores",
                    "timezone": "Europe/Stockholm",
                }
            },
        }
    )
    assert playbook.staff.role_of("clerk-17") == "store-clerk"
    assert playbook.approvals.expire_after == timedelta(days=3)
    empowerment = playbook.empowerment
    clerk = empowerment.member("clerk-17")
    assert empowerment.limit_of(clerk) == Money.parse("150 SEK")
    budget = empowerment.budget_for(clerk)
    assert budget is not None and budget.name == "stores" and budget.timezone == "Europe/Stockholm"
    assert empowerment.budget_for(None) is None
    with pytest.raises(ValidationError) as info:
        empowerment.budget_for(clerk, "stroes")
    assert info.value.path == "budget"
    # a file without the new sections still loads, with the defaults
    plain = load_playbook(BASE)
    assert len(plain.staff) == 0 and plain.approvals.expire_after == timedelta(days=7)


def test_the_example_file_still_loads() -> None:
    playbook = load_playbook("examples/policies.toml")
    assert [r.name for r in playbook.compensation] == ["gold-detractor-goodwill", "small-goodwill"]


def _rule(
    name: str, value: str | None, *, rank: int = 0, cap: dict | None = None
) -> CompensationRule:  # type: ignore[type-arg]
    data: dict = {  # type: ignore[type-arg]
        "name": name,
        "when": {"field": "response.category", "equals": "detractor"},
        "offer": {"kind": "discount_code", "value": value} if value else {"kind": "apology"},
        "rank": rank,
    }
    if cap:
        data["max_per_customer"] = cap
    return CompensationRule.from_dict(data, "compensation[0]")


def test_proposals_are_ranked_by_rank_then_value_then_unpriced_then_order() -> None:
    rules = CompensationRules(
        (
            _rule("sorry", None),
            _rule("small", "100 SEK"),
            _rule("big", "300 SEK"),
            _rule("first-choice", "50 SEK", rank=-1),
        )
    )
    plugin = Proposal(
        source=OfferSource.plugin("basket"),
        offer=Offer(kind=OfferKind.REFUND, value=Money.parse("200 SEK")),
        why="a fifth of the basket",
    )
    found = propose_offers(rules, make_response(2), make_customer(), plugin_proposals=[plugin])
    assert found.sources == (
        "rule:first-choice",
        "rule:big",
        "plugin:basket",
        "rule:small",
        "rule:sorry",
    )
    assert found[0].why.startswith("rule 'first-choice': ")
    assert [p.source.name for p in rules.proposals(make_response(9), make_customer())] == []
    # the old API still answers with the matching rules, in file order
    assert [r.name for r in rules.propose(make_response(2), make_customer())] == [
        "sorry",
        "small",
        "big",
        "first-choice",
    ]


def test_a_plugin_that_returns_something_else_than_a_plugin_proposal_is_refused() -> None:
    with pytest.raises(PluginError):
        propose_offers(
            CompensationRules(), make_response(2), make_customer(), plugin_proposals=["x"]
        )  # type: ignore[list-item]
    ruled = Proposal(source=OfferSource.rule("fake"), offer=Offer(kind=OfferKind.APOLOGY))
    with pytest.raises(PluginError) as info:
        propose_offers(
            CompensationRules(), make_response(2), make_customer(), plugin_proposals=[ruled]
        )
    assert info.value.hook == "loopkit_propose_offers"


def test_a_cap_counts_grants_and_pending_requests_but_not_reversed_or_rejected() -> None:
    rules = CompensationRules((_rule("goodwill", "300 SEK", cap={"count": 1, "per": "90d"}),))
    empowerment = Empowerment.from_dict(
        {
            "staff": {"emp-3": {"role": "agent"}, "lead-1": {"role": "lead"}},
            "authority": {"agent": "200 SEK", "lead": "1000 SEK"},
        }
    )
    empowerment = Empowerment(staff=empowerment.staff, authority=empowerment.authority, rules=rules)
    answer, anna = make_response(2, answered_at=NOON), make_customer("c-1")
    case = FollowUpCase(id="case-1", customer_id="c-1", opened_at=NOON)
    proposal = rules.proposals(answer, anna)[0]
    asked = grant(Ledger(), empowerment, key="g", case=case, by="emp-3", at=NOON, proposal=proposal)
    ledger = Ledger().append(asked.entries)
    assert rules.proposals(answer, anna, ledger=ledger).sources == ()  # pending counts
    ledger = ledger.append(
        reject(ledger, empowerment, request_id="g", by="lead-1", at=NOON).entries
    )
    assert rules.proposals(answer, anna, ledger=ledger).sources == ("rule:goodwill",)


_offers = st.builds(
    Offer,
    kind=st.sampled_from(list(OfferKind)),
    value=st.one_of(
        st.none(), st.integers(1, 10**6).map(lambda n: Money.parse(f"{n / 100:.2f} SEK"))
    ),
    what=st.one_of(st.none(), st.sampled_from(["body lotion", "modem return", "dessert"])),
)


@given(offer=_offers, rank=st.integers(-5, 5), capped=st.booleans())
def test_a_proposal_travels_with_the_case_as_json_and_comes_back_equal(
    offer: Offer, rank: int, capped: bool
) -> None:
    cap = Cap(count=2, per=timedelta(days=30)) if capped else None
    proposal = Proposal(
        source=OfferSource.plugin("crm"), offer=offer, why="fits", rank=rank, max_per_customer=cap
    )
    assert Proposal.from_dict(proposal.to_dict()) == proposal


@given(offer=_offers, n=st.integers(0, 3))
def test_ledger_entries_round_trip_through_json(offer: Offer, n: int) -> None:
    empowerment = Empowerment.from_dict(
        {
            "staff": {"emp-3": {"role": "agent", "team": "support"}},
            "authority": {"agent": "200 SEK"},
            "budgets": {
                "support": {
                    "amount": "20000000 SEK",
                    "per": "month",
                    "team": "support",
                    "timezone": "Europe/Stockholm",
                }
            },
        }
    )
    case = FollowUpCase(id="case-1", customer_id="c-1", opened_at=NOON)
    out = grant(
        Ledger(),
        empowerment,
        key=f"k-{n}",
        case=case,
        by=StaffMember(id="emp-3", role="agent", team="support"),
        at=NOON,
        offer=offer,
    )
    for entry in out.entries:
        assert LedgerEntry.from_dict(entry.to_dict()) == entry
