"""The compensation desk under any sequence of grants, approvals, rejections,
reversals, replays, closed cases and ticks, through the public ``Loop`` on the
memory and the SQLite store (hypothesis state machine): the ledger sums to
each budget's use, no budget goes below zero, every reservation ends posted,
released or expired, no one approves their own request, a replayed grant is
one grant."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loopkit import (
    ApprovalError,
    BudgetExceeded,
    ConflictError,
    GrantStatus,
    IllegalTransition,
    Loop,
    MemoryStore,
    Money,
    Offer,
    OfferKind,
    RequestSettled,
    SQLiteStore,
    Store,
    ValidationError,
    load_playbook,
)
from loopkit.compensation import EntryKind, period_of
from loopkit.testing import FakeClock, make_customer

PLAYBOOK = load_playbook(Path(__file__).resolve().parent / "data" / "two_teams.toml")
EMPLOYEES = ["agent-1", "clerk-1", "clerk-2", "lead-1", "lead-2", "temp-9"]  # temp-9: unknown
START = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # DST changes in both zones nearby
AMOUNTS = st.sampled_from([None, "25 SEK", "75 SEK", "150 SEK", "300 SEK", "900 SEK"])
KEYS = st.sampled_from([f"g-{i}" for i in range(8)])


class CompensationDeskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.loop = Loop(PLAYBOOK, store=self.make_store(), clock=self.clock, check_channels=False)
        self.cases = [
            self.loop.open_case(
                f"c-{i % 2}", by="lead-1", topic=f"t-{i}", customer=make_customer(f"c-{i % 2}")
            ).id
            for i in range(3)
        ]
        self.first: dict[str, tuple[str, Offer | None, str]] = {}  # key: (case, offer, by)
        self.instants: set[datetime] = {START}
        self.settled: Counter[str] = Counter()

    def make_store(self) -> Store:
        return MemoryStore()

    @rule(case=st.integers(0, 2), by=st.sampled_from(EMPLOYEES), amount=AMOUNTS, key=KEYS)
    def grant(self, case: int, by: str, amount: str | None, key: str) -> None:
        kind = OfferKind.APOLOGY if amount is None else OfferKind.REFUND
        offer = Offer(kind=kind, value=None if amount is None else Money.parse(amount))
        case_id = self.cases[case]
        earlier = self.first.get(key)
        desk = self.loop.compensation
        try:
            outcome = desk.grant(case_id, offer, by=by, key=key)
        except ConflictError:
            assert earlier is not None and earlier != (case_id, offer, by)
            return
        except (BudgetExceeded, IllegalTransition):
            assert earlier is None
            return
        if earlier is None:
            assert not outcome.replayed
            self.first[key] = (case_id, offer, by)
            self.instants.add(self.clock.now())
        else:
            assert outcome.replayed and earlier == (case_id, offer, by)
            assert outcome.status is desk.ledger().status(key)

    @precondition(lambda self: bool(self.first))
    @rule(data=st.data(), by=st.sampled_from(EMPLOYEES), approve=st.booleans())
    def settle(self, data: st.DataObject, by: str, approve: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.first)))
        desk = self.loop.compensation
        before = desk.ledger().request(key)
        act = desk.approve if approve else desk.reject
        try:
            outcome = act(key, by=by)
        except ApprovalError as err:
            assert before is not None
            if isinstance(err, RequestSettled):
                assert not before.is_open(self.clock.now())
            else:
                assert before.is_open(self.clock.now())
            return
        except ValidationError:
            assert before is None  # not a request: granted at once
            return
        assert before is not None and before.requester != by
        assert outcome.status in (GrantStatus.GRANTED, GrantStatus.REJECTED)
        self.settled[key] += 1

    @precondition(lambda self: bool(self.first))
    @rule(data=st.data(), by=st.sampled_from(EMPLOYEES))
    def reverse(self, data: st.DataObject, by: str) -> None:
        key = data.draw(st.sampled_from(sorted(self.first)))
        desk = self.loop.compensation
        status = desk.ledger().status(key)
        try:
            outcome = desk.reverse(key, key=f"undo-{key}", by=by)
        except (ValidationError, ConflictError):
            assert status is not GrantStatus.GRANTED or desk.ledger().chain(f"undo-{key}")
            return
        assert outcome.status is GrantStatus.REVERSED

    @rule(case=st.integers(0, 2))
    def close(self, case: int) -> None:
        if not self.loop.case(self.cases[case]).is_closed:
            self.loop.close(self.cases[case], resolved=False, by="lead-1")

    @rule(hours=st.sampled_from([1, 20, 50, 80, 24 * 8]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.loop.tick()

    @invariant()
    def the_ledger_sums_to_each_budgets_use_and_none_is_overspent(self) -> None:
        desk = self.loop.compensation
        ledger = desk.ledger()
        for budget in PLAYBOOK.budgets.values():
            for at in self.instants:
                use = desk.budget(budget.name, at=at)
                period = period_of(budget, at)
                assert use.used == ledger.used(budget, period)
                assert use.reserved == ledger.reserved(budget, period)
                assert use.left.amount >= 0 and use.reserved.amount >= 0
                assert use.used.amount >= 0

    @invariant()
    def no_self_approval_and_one_grant_per_key(self) -> None:
        ledger = self.loop.compensation.ledger()
        kinds = Counter((e.key, e.kind) for e in ledger)
        assert all(n == 1 for n in kinds.values())
        for entry in ledger:
            if entry.kind is EntryKind.GRANT and entry.approval is not None:
                assert entry.by != entry.employee

    def teardown(self) -> None:
        try:  # in the end, every reservation was posted, released or expired
            self.clock.advance(timedelta(days=4))
            self.loop.tick()
            ledger = self.loop.compensation.ledger()
            assert self.loop.compensation.requests() == ()
            for entry in ledger:
                if entry.kind is EntryKind.RESERVATION:
                    assert ledger.status(entry.key) in (
                        GrantStatus.GRANTED,
                        GrantStatus.REJECTED,
                        GrantStatus.EXPIRED,
                        GrantStatus.REVERSED,
                    )
        finally:
            self.loop.store.close()


class SQLiteDeskMachine(CompensationDeskMachine):
    def make_store(self) -> Store:
        return SQLiteStore(":memory:")


TestCompensationDeskOnTheMemoryStore = CompensationDeskMachine.TestCase
TestCompensationDeskOnTheMemoryStore.settings = settings(
    max_examples=80, stateful_step_count=25, deadline=None
)
TestCompensationDeskOnSQLite = SQLiteDeskMachine.TestCase
TestCompensationDeskOnSQLite.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None
)


class PostgresDeskMachine(CompensationDeskMachine):
    dsn = ""  # set by the test below (a fixture's)
    schemas: list[str] = []  # noqa: RUF012 - made per run, dropped afterwards

    def make_store(self) -> Store:
        import uuid

        from loopkit.stores.postgres import PostgresStore

        self.schemas.append(f"desk_{uuid.uuid4().hex[:12]}")
        return PostgresStore(self.dsn, schema=self.schemas[-1])


def test_compensation_desk_on_postgresql(postgres_dsn: str) -> None:
    import psycopg
    from psycopg import sql

    PostgresDeskMachine.dsn, PostgresDeskMachine.schemas = postgres_dsn, []
    try:
        run_state_machine_as_test(
            PostgresDeskMachine,
            settings=settings(max_examples=15, stateful_step_count=25, deadline=None),
        )
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            for name in PostgresDeskMachine.schemas:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )
