"""Seeds 000 and 004, the inner and the outer loop: root causes given at close
become one systemic issue, the host's tracker hears once, and when the issue is
fixed every affected customer hears it once (except whoever opted out)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.testing import STOCKHOLM, FakeClock, RecordingChannel, make_customer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
CAUSE = "campaign_targeting"
PLAYBOOK = loopkit.load_playbook(EXAMPLE)


class Tracker:
    """The host's issue tracker, and its CRM's knowledge of who got the campaign."""

    def __init__(self, campaign: set[str]) -> None:
        self.campaign = campaign
        self.heard: list[tuple[str, str, int, list[str]]] = []

    @loopkit.hookimpl
    def loopkit_issue_opened(self, issue: loopkit.SystemicIssue) -> None:
        self.heard.append(("opened", issue.cause, issue.count, sorted(issue.customers)))

    @loopkit.hookimpl
    def loopkit_issue_grew(self, issue: loopkit.SystemicIssue) -> None:
        self.heard.append(("grew", issue.cause, issue.count, sorted(issue.customers)))

    @loopkit.hookimpl
    def loopkit_tag_root_causes(
        self, response: loopkit.Response | None, case: loopkit.FollowUpCase
    ) -> list[str]:
        return [CAUSE] if case.customer_id in self.campaign else []


class Pharmacy:
    def __init__(
        self, store: loopkit.Store | None = None, playbook: loopkit.Playbook | Path = EXAMPLE
    ) -> None:
        self.clock = FakeClock(MONDAY)
        self.phone, self.email = RecordingChannel(), RecordingChannel()
        self.tracker = Tracker(campaign={"c-2", "c-3"})
        self.loop = loopkit.Loop(
            playbook if isinstance(playbook, loopkit.Playbook) else loopkit.load_playbook(playbook),
            plugins=[
                loopkit.ChannelPlugin({"phone": self.phone, "email": self.email}),
                self.tracker,
            ],
            clock=self.clock,
            store=store,
        )
        self.customers = {
            "c-1": make_customer("c-1", channels={"email": "one@example.com"}),
            "c-2": make_customer("c-2", name="Lena"),  # phone first, then e-mail
            "c-3": make_customer("c-3", language="sv", channels={"email": "tre@example.com"}),
            # She withdrew her consent to every channel: she is not written to.
            "c-4": make_customer("c-4", contact=loopkit.ContactPreferences(channels=())),
            "c-5": make_customer("c-5", channels={"email": "five@example.com"}),
        }

    def complaint(self, customer_id: str, *, at: datetime, tags: tuple[str, ...] = ()) -> str:
        """A complaint at the counter (seed 000), put right and closed with its causes."""
        case = self.loop.open_case(
            customer_id,
            by="clerk-17",
            policy="complaint-in-person",
            customer=self.customers[customer_id],
            at=at,
        )
        self.loop.record_contact(case.id, "reached", by="clerk-17", at=at)
        self.loop.complete_step(case.id, "apology", by="clerk-17", at=at)
        self.loop.close(case.id, resolved=True, by="clerk-17", root_causes=tags, at=at)
        return case.id

    def five_complaints(self) -> list[str]:
        # Three tagged by the clerk, two by the CRM's plugin: all the same cause.
        return [
            self.complaint("c-1", at=MONDAY, tags=(CAUSE,)),
            self.complaint("c-2", at=MONDAY + timedelta(days=1)),
            self.complaint("c-3", at=MONDAY + timedelta(days=2)),
            self.complaint("c-2", at=MONDAY + timedelta(days=4), tags=(CAUSE, "slow_queue")),
            self.complaint("c-4", at=MONDAY + timedelta(days=6), tags=(CAUSE,)),
        ]

    def fixed_messages(self) -> list[loopkit.Message]:
        return [m for m in self.loop.messages() if m.purpose == "issue_fixed"]


@pytest.fixture
def shop(story_store: loopkit.Store | None) -> Pharmacy:
    return Pharmacy(story_store)


def test_five_cases_with_one_cause_in_a_week_open_one_issue_and_tell_the_host_once(
    shop: Pharmacy,
) -> None:
    cases = shop.five_complaints()
    assert shop.tracker.heard == [("opened", CAUSE, 5, ["c-1", "c-2", "c-3", "c-4"])]
    issue = shop.loop.issues.get(CAUSE)
    assert issue.state is loopkit.IssueState.OPEN
    assert issue.cases == frozenset(cases)
    assert issue.first_seen == MONDAY and issue.last_seen == MONDAY + timedelta(days=6)
    # The one-off cause stays watched: below the threshold, nobody is told.
    assert shop.loop.issues.get("slow_queue").state is loopkit.IssueState.WATCHED
    assert [i.cause for i in shop.loop.issues.list("open")] == [CAUSE]
    assert [i.cause for i in shop.loop.issues.list()] == [CAUSE, "slow_queue"]


def test_marking_it_fixed_tells_each_affected_customer_once_except_who_opted_out(
    shop: Pharmacy,
) -> None:
    cases = shop.five_complaints()
    seen = shop.loop.issues.acknowledge(CAUSE, by="lead-1")
    assert (seen.state, seen.acknowledged_by) == (loopkit.IssueState.ACKNOWLEDGED, "lead-1")
    evening = MONDAY + timedelta(days=8, hours=12)  # 22:00: the contact rules' quiet hours
    with pytest.raises(loopkit.ValidationError) as bad:
        shop.loop.issues.mark_fixed(CAUSE, at=evening, by="")
    assert bad.value.path == "by"
    fixed = shop.loop.issues.mark_fixed(CAUSE, at=evening, by="dev-7")
    assert fixed.state is loopkit.IssueState.FIXED and fixed.fixed_at == evening
    assert (fixed.acknowledged_by, fixed.fixed_by) == ("lead-1", "dev-7")
    assert shop.loop.issues.get(CAUSE).fixed_by == "dev-7"  # kept in the store
    assert fixed.notified == frozenset({"c-1", "c-2", "c-3"})
    messages = shop.fixed_messages()
    assert sorted(m.customer_id for m in messages) == ["c-1", "c-2", "c-3"]  # once each
    by_customer = {m.customer_id: m for m in messages}
    assert by_customer["c-2"].case_id == cases[3]  # her latest case with the cause
    assert by_customer["c-2"].channel == "phone"  # the first she consented to
    assert by_customer["c-1"].channel == by_customer["c-3"].channel == "email"
    next_morning = datetime(2026, 12, 2, 8, 0, tzinfo=STOCKHOLM)
    assert {m.not_before for m in messages} == {next_morning}
    assert all(dict(m.data)["cause"] == CAUSE for m in messages)
    # Written for people: the playbook's template in each customer's language.
    assert by_customer["c-3"].subject == "Vi har åtgärdat det"
    assert by_customer["c-1"].subject == "We fixed it"
    assert by_customer["c-2"].body is not None and "Lena" in by_customer["c-2"].body
    assert "campaign_targeting" in (by_customer["c-1"].body or "")
    # Delivered outside the quiet hours, through the outbox, exactly once.
    assert shop.loop.tick(evening + timedelta(hours=1)).sent == 0
    assert shop.loop.tick(next_morning).sent == 3
    assert shop.loop.tick(next_morning + timedelta(days=1)).sent == 0
    assert len(shop.email.sent) == 2 and len(shop.phone.sent) == 1


def test_fixing_twice_or_an_unknown_issue_is_a_typed_error(shop: Pharmacy) -> None:
    shop.five_complaints()
    shop.loop.issues.mark_fixed(CAUSE, by="lead-1")
    with pytest.raises(loopkit.ConflictError) as conflict:
        shop.loop.issues.mark_fixed(CAUSE, by="lead-1")
    assert conflict.value.key == CAUSE and "fixed" in str(conflict.value)
    assert len(shop.fixed_messages()) == 3  # nothing queued twice
    with pytest.raises(loopkit.ValidationError) as unknown:
        shop.loop.issues.mark_fixed("campaign_targetting", by="lead-1")
    assert unknown.value.path == "cause"
    assert "did you mean 'campaign_targeting'?" in str(unknown.value)
    with pytest.raises(loopkit.ValidationError) as info:
        shop.loop.issues.get("nothing")
    assert info.value.path == "cause"
    with pytest.raises(loopkit.ConflictError):
        shop.loop.issues.acknowledge("slow_queue", by="lead-1")  # watched: not an issue yet
    with pytest.raises(loopkit.ConflictError):
        shop.loop.issues.mark_fixed("slow_queue", by="lead-1")
    with pytest.raises(loopkit.ValidationError) as state:
        shop.loop.issues.list("closed")
    assert state.value.path == "state"


def test_a_growing_issue_is_reported_again_only_when_it_doubles(shop: Pharmacy) -> None:
    shop.five_complaints()
    start = MONDAY + timedelta(days=7)
    for i in range(5):
        shop.complaint("c-1", at=start + timedelta(hours=i), tags=(CAUSE,))
    assert [(kind, count) for kind, _, count, _ in shop.tracker.heard] == [
        ("opened", 5),
        ("grew", 10),
    ]
    assert shop.loop.issues.get(CAUSE).count == 10


def test_a_cause_that_recurs_after_its_fix_reopens_and_tells_only_new_customers(
    shop: Pharmacy,
) -> None:
    shop.five_complaints()
    shop.loop.issues.mark_fixed(CAUSE, at=MONDAY + timedelta(days=7), by="lead-1")
    later = MONDAY + timedelta(days=20)
    for i, who in enumerate(["c-1", "c-5", "c-1", "c-5", "c-1"]):
        shop.complaint(who, at=later + timedelta(hours=i), tags=(CAUSE,))
    assert [kind for kind, *_ in shop.tracker.heard] == ["opened", "opened"]
    assert shop.loop.issues.get(CAUSE).state is loopkit.IssueState.OPEN
    shop.loop.issues.mark_fixed(CAUSE, at=later + timedelta(days=1), by="lead-1")
    told = sorted(m.customer_id for m in shop.fixed_messages())
    assert told == ["c-1", "c-2", "c-3", "c-5"]  # c-1 was told the first time


def test_causes_spread_over_more_than_the_window_open_no_issue(shop: Pharmacy) -> None:
    for i in range(5):
        shop.complaint("c-1", at=MONDAY + timedelta(days=2 * i), tags=("slow_queue",))
    assert shop.tracker.heard == []
    issue = shop.loop.issues.get("slow_queue")
    assert issue.count == 5 and issue.state is loopkit.IssueState.WATCHED


def test_a_playbook_that_tells_nobody_queues_nothing(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "tell_customers_when_fixed = true", "tell_customers_when_fixed = false"
    )
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    shop = Pharmacy(playbook=path)
    shop.five_complaints()
    assert shop.loop.issues.mark_fixed(CAUSE, by="lead-1").notified == frozenset()
    assert shop.fixed_messages() == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    closes=st.lists(
        st.tuples(
            st.integers(0, 3),  # which customer
            st.integers(0, 72),  # hours after the previous close
            st.sampled_from(["campaign_targeting", "slow_queue"]),
        ),
        max_size=14,
    )
)
def test_the_host_hears_of_an_issue_once_when_it_opens_and_then_only_at_doubling(
    closes: list[tuple[int, int, str]],
) -> None:
    shop = Pharmacy(playbook=PLAYBOOK)
    shop.tracker.campaign = set()  # only the clerks' tags here
    at = MONDAY
    seen: dict[str, list[datetime]] = {}
    for who, gap, cause in closes:
        at += timedelta(hours=gap)
        shop.complaint(f"c-{who + 1}", at=at, tags=(cause,))
        seen.setdefault(cause, []).append(at)
    for cause, times in seen.items():
        issue = shop.loop.issues.get(cause)
        assert issue.count == len(times)
        crossed = any(times[i] - times[i - 4] < timedelta(days=7) for i in range(4, len(times)))
        heard = [(kind, count) for kind, c, count, _ in shop.tracker.heard if c == cause]
        assert [kind for kind, _ in heard][:1] == (["opened"] if crossed else [])
        assert [kind for kind, _ in heard].count("opened") <= 1
        counts = [count for _, count in heard]
        assert all(later >= 2 * earlier for earlier, later in itertools.pairwise(counts))
        assert (issue.state is loopkit.IssueState.OPEN) == crossed


def test_two_workers_on_one_file_tell_each_customer_once(tmp_path: Path) -> None:
    first = Pharmacy(loopkit.SQLiteStore(tmp_path / "loop.db"), playbook=PLAYBOOK)
    first.five_complaints()
    second = loopkit.Loop(
        PLAYBOOK, store=loopkit.SQLiteStore(tmp_path / "loop.db"), check_channels=False
    )
    assert second.issues.get(CAUSE).state is loopkit.IssueState.OPEN
    second.issues.mark_fixed(CAUSE, at=MONDAY + timedelta(days=8), by="lead-1")
    with pytest.raises(loopkit.ConflictError):
        first.loop.issues.mark_fixed(CAUSE, at=MONDAY + timedelta(days=8), by="lead-1")
    assert sorted(m.customer_id for m in first.fixed_messages()) == ["c-1", "c-2", "c-3"]
