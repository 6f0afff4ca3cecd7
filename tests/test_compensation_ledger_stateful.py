"""The ledger under any sequence of grants, approvals, rejections, ticks,
reversals and replays (hypothesis state machine over the pure decisions)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from loopkit import ConflictError, FollowUpCase, load_playbook
from loopkit.compensation import (
    BudgetExceeded,
    EntryKind,
    GrantStatus,
    Ledger,
    Money,
    NotEnoughAuthority,
    Offer,
    OfferKind,
    RequestSettled,
    SelfApproval,
    approve,
    expire,
    grant,
    period_of,
    reject,
    reverse,
)

# the same two teams as the loop's state machine
EMPOWERMENT = load_playbook(Path(__file__).resolve().parent / "data" / "two_teams.toml").empowerment
EMPLOYEES = [*sorted(EMPOWERMENT.staff.members), "temp-9"]  # temp-9: unknown, no authority
START = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # DST changes in both zones nearby
AMOUNTS = st.sampled_from([None, "25 SEK", "75 SEK", "150 SEK", "300 SEK", "900 SEK"])
CASES = [FollowUpCase(id=f"case-{i}", customer_id=f"c-{i % 2}", opened_at=START) for i in range(3)]


def _refused_for_budget(err: BudgetExceeded, new_key: bool) -> None:
    assert new_key
    assert 0 <= err.left.amount < err.requested.amount


def _refused_for_authority(err: NotEnoughAuthority) -> None:
    assert err.limit is None or err.limit.amount < err.amount.amount


def _refused_as_expired(err: RequestSettled, *, lapsed: bool) -> None:
    assert err.status == "expired" and lapsed


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.now = START
        self.asked: dict[str, tuple[int, str, str | None]] = {}  # key -> what was asked
        self.model_used: Counter[tuple[str, datetime]] = Counter()
        self.model_reserved: Counter[tuple[str, datetime]] = Counter()

    def _offer(self, amount: str | None) -> Offer:
        if amount is None:
            return Offer(kind=OfferKind.APOLOGY)
        return Offer(kind=OfferKind.REFUND, value=Money.parse(amount))

    def _slot(self, key: str) -> tuple[str, datetime] | None:
        first = self.ledger.chain(key)[0]
        if first.budget is None or first.period_start is None:
            return None
        return (first.budget, first.period_start.astimezone(UTC))

    @rule(
        key=st.sampled_from([f"g-{i}" for i in range(12)]),
        case=st.integers(0, 2),
        employee=st.sampled_from(EMPLOYEES),
        amount=AMOUNTS,
    )
    def give(self, key: str, case: int, employee: str, amount: str | None) -> None:
        content = (case, employee, amount)
        before = len(self.ledger)
        try:
            out = grant(
                self.ledger,
                EMPOWERMENT,
                key=key,
                case=CASES[case],
                by=employee,
                at=self.now,
                offer=self._offer(amount),
            )
        except ConflictError:
            assert key in self.asked and self.asked[key] != content
            return
        except BudgetExceeded as err:
            _refused_for_budget(err, key not in self.asked)
            return
        if key in self.asked:  # a replay: one grant, nothing new
            assert out.replayed and self.asked[key] == content
            assert len(self.ledger.append(out.entries)) == before
            return
        assert not out.replayed
        self.asked[key] = content
        self.ledger = self.ledger.append(out.entries)
        slot = self._slot(key)
        if slot is not None and amount is not None:
            target = self.model_used if out.status is GrantStatus.GRANTED else self.model_reserved
            target[slot] += Decimal(amount.split()[0])

    def _decide(self, decide, index: int, approver: str) -> None:  # type: ignore[no-untyped-def]
        pending = self.ledger.pending()
        if not pending:
            return
        request = pending[index % len(pending)]
        try:
            out = decide(self.ledger, EMPOWERMENT, request_id=request.id, by=approver, at=self.now)
        except SelfApproval:
            assert approver == request.requester
            return
        except NotEnoughAuthority as err:
            _refused_for_authority(err)
            return
        except RequestSettled as err:
            _refused_as_expired(err, lapsed=self.now >= request.expires_at)
            return
        assert approver != request.requester
        self.ledger = self.ledger.append(out.entries)
        slot = self._slot(request.id)
        if slot is not None and request.amount is not None:
            self.model_reserved[slot] -= request.amount.amount
            if out.status is GrantStatus.GRANTED:
                self.model_used[slot] += request.amount.amount

    @rule(index=st.integers(0, 20), approver=st.sampled_from(EMPLOYEES))
    def approve_one(self, index: int, approver: str) -> None:
        self._decide(approve, index, approver)

    @rule(index=st.integers(0, 20), approver=st.sampled_from(EMPLOYEES))
    def reject_one(self, index: int, approver: str) -> None:
        self._decide(reject, index, approver)

    @rule(hours=st.integers(1, 80))
    def tick(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        lapsed = expire(self.ledger, at=self.now)
        for entry in lapsed:
            slot = self._slot(entry.key)
            if slot is not None and entry.amount is not None:
                self.model_reserved[slot] -= entry.amount.amount
        self.ledger = self.ledger.append(lapsed)
        assert expire(self.ledger, at=self.now) == ()

    @precondition(lambda self: bool(self.asked))
    @rule(index=st.integers(0, 20), n=st.integers(0, 3))
    def take_back(self, index: int, n: int) -> None:
        granted = [k for k in sorted(self.asked) if self.ledger.status(k) is GrantStatus.GRANTED]
        if not granted:
            return
        key = granted[index % len(granted)]
        out = reverse(self.ledger, grant_key=key, key=f"rev-{key}", by="lead-1", at=self.now)
        self.ledger = self.ledger.append(out.entries)
        slot = self._slot(key)
        amount = self.ledger.chain(key)[0].amount
        if slot is not None and amount is not None:
            self.model_used[slot] -= amount.amount
        for _ in range(n):  # replays of the reversal change nothing
            again = reverse(self.ledger, grant_key=key, key=f"rev-{key}", by="lead-1", at=self.now)
            assert again.replayed and self.ledger.append(again.entries) is self.ledger

    # -- invariants ------------------------------------------------------------

    def _slots(self) -> set[tuple[str, datetime]]:
        return {
            (e.budget, e.period_start.astimezone(UTC))
            for e in self.ledger
            if e.budget is not None and e.period_start is not None
        }

    @invariant()
    def the_ledger_sums_to_each_budgets_use_and_none_goes_below_zero(self) -> None:
        for name, start in self._slots():
            budget = EMPOWERMENT.budgets[name]
            period = period_of(budget, start)
            assert self.ledger.used(budget, period).amount == self.model_used[(name, start)]
            assert self.ledger.reserved(budget, period).amount == self.model_reserved[(name, start)]
            posted = sum(
                (
                    e.amount.amount
                    for e in self.ledger
                    if e.kind is EntryKind.POSTING
                    and e.budget == name
                    and e.amount is not None
                    and e.period_start is not None
                    and e.period_start.astimezone(UTC) == start
                ),
                Decimal(0),
            )
            reversed_ = sum(
                (
                    e.amount.amount
                    for e in self.ledger
                    if e.kind is EntryKind.REVERSAL
                    and e.budget == name
                    and e.amount is not None
                    and e.period_start is not None
                    and e.period_start.astimezone(UTC) == start
                ),
                Decimal(0),
            )
            assert self.ledger.used(budget, period).amount == posted - reversed_
            assert self.ledger.left(budget, period).amount >= 0
            assert self.ledger.reserved(budget, period).amount >= 0

    @invariant()
    def no_one_approves_their_own_request(self) -> None:
        for entry in self.ledger:
            if entry.kind in (EntryKind.GRANT, EntryKind.RELEASE) and entry.approval is not None:
                assert entry.by != entry.employee

    @invariant()
    def a_replayed_grant_is_one_grant(self) -> None:
        kinds = Counter((e.key, e.kind) for e in self.ledger)
        assert all(count == 1 for count in kinds.values())
        assert {k for k, kind in kinds if kind is EntryKind.GRANT} <= set(self.asked)

    @invariant()
    def every_reservation_is_settled_at_most_once(self) -> None:
        for key in self.asked:
            chain = self.ledger.chain(key)
            settled = [
                e
                for e in chain
                if e.kind in (EntryKind.RELEASE, EntryKind.EXPIRY)
                or (e.kind is EntryKind.POSTING and e.approval is not None)
            ]
            if chain[0].kind is EntryKind.RESERVATION:
                assert len(settled) <= 1
            else:
                assert not settled

    def teardown(self) -> None:
        # Every reservation ends posted, released or expired: after the last
        # request's expiry, a tick leaves nothing pending and nothing reserved.
        later = self.now + timedelta(days=4)
        ledger = self.ledger.append(expire(self.ledger, at=later))
        assert ledger.pending() == ()
        for key in self.asked:
            chain = ledger.chain(key)
            if chain[0].kind is EntryKind.RESERVATION:
                ends = {e.kind for e in chain[1:]} & {
                    EntryKind.POSTING,
                    EntryKind.RELEASE,
                    EntryKind.EXPIRY,
                }
                assert len(ends) == 1
        for name, start in self._slots():
            budget = EMPOWERMENT.budgets[name]
            assert ledger.reserved(budget, period_of(budget, start)).amount == 0


LedgerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase


def test_appending_leaves_the_earlier_ledger_as_it_was() -> None:
    case = CASES[0]
    offer = Offer(kind=OfferKind.REFUND, value=Money.parse("100 SEK"))
    first = grant(Ledger(), EMPOWERMENT, key="a", case=case, by="clerk-1", at=START, offer=offer)
    before = Ledger().append(first.entries)
    second = grant(before, EMPOWERMENT, key="b", case=case, by="clerk-1", at=START, offer=offer)
    after = before.append(second.entries)
    request = grant(
        after,
        EMPOWERMENT,
        key="a-2",
        case=case,
        by="clerk-1",
        at=START,
        offer=Offer(kind=OfferKind.REFUND, value=Money.parse("300 SEK")),
    )
    pending = after.append(request.entries)
    stores = EMPOWERMENT.budgets["stores"]
    period = period_of(stores, START)
    assert [before.used(stores, period).amount, after.used(stores, period).amount] == [100, 200]
    assert len(before) == 2 and len(after) == 4 and len(pending) == 5
    assert before.chain("b") == () and after.pending() == () and len(pending.pending()) == 1
    assert after.reserved(stores, period).amount == 0
    assert pending.reserved(stores, period).amount == 300
    assert Ledger(pending.entries).left(stores, period) == pending.left(stores, period)
