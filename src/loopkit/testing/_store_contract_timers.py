"""The store contract on timers: they come due in order, move when saved again,
and keep the timers that follow them."""

from __future__ import annotations

from datetime import timedelta

import attrs

from loopkit.stores import LaterTimer, Store, Timer, TimerKind

from ._store_samples import T0


class TimerContract:
    """Timers come due in order, can be deleted and moved, and keep what follows them."""

    # timers --------------------------------------------------------------------

    def test_timers_come_due_in_order_and_can_be_deleted(self, store: Store) -> None:
        timers = [
            Timer(id="a", case_id="case-1", kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2)),
            Timer(id="b", case_id="case-1", kind=TimerKind.WARNING, due_at=T0 + timedelta(hours=1)),
            Timer(
                id="c", case_id="case-2", kind=TimerKind.ESCALATION, due_at=T0, level=1, to="team:x"
            ),
        ]
        with store.transaction() as tx:
            for timer in timers:
                tx.add_timer(timer)
        with store.transaction() as tx:
            assert [t.id for t in tx.due_timers(T0 + timedelta(hours=1), 10)] == ["c", "b"]
            assert [t.id for t in tx.due_timers(T0 + timedelta(hours=5), 1)] == ["c"]
            assert tx.due_timers(T0, 10)[0] == timers[2]
            tx.delete_timers("case-1")
            tx.delete_timer("c")
        with store.transaction() as tx:
            assert tx.due_timers(T0 + timedelta(days=1), 10) == []

    def test_a_timer_saved_again_comes_due_at_its_new_time_only(self, store: Store) -> None:
        first = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0)
        moved = attrs.evolve(first, kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=2))
        with store.transaction() as tx:
            tx.add_timer(first)
        with store.transaction() as tx:
            tx.delete_timer("case-1")
            tx.add_timer(moved)
        with store.transaction() as tx:
            assert list(tx.due_timers(T0 + timedelta(hours=1), 10)) == []
            assert list(tx.due_timers(T0 + timedelta(hours=2), 10)) == [moved]
            assert list(tx.due_timers(T0 + timedelta(hours=2), 10)) == [moved]  # still there
            assert list(tx.timers("case-1")) == [moved]

    def test_a_timer_keeps_the_timers_after_it(self, store: Store) -> None:
        later = (
            LaterTimer(kind=TimerKind.BREACH, due_at=T0 + timedelta(hours=4)),
            LaterTimer(
                kind=TimerKind.ESCALATION, due_at=T0 + timedelta(hours=8), level=1, to="team:leads"
            ),
        )
        timer = Timer(id="case-1", case_id="case-1", kind=TimerKind.WARNING, due_at=T0, later=later)
        with store.transaction() as tx:
            tx.add_timer(timer)
        with store.transaction() as tx:
            assert list(tx.timers("case-1")) == [timer]
            (stored,) = tx.due_timers(T0, 10)
            assert stored.later == later
            assert all(type(step) is LaterTimer for step in stored.later)
            following = stored.following()
            assert following is not None
            assert (following.kind, following.due_at, following.later) == (
                TimerKind.BREACH,
                T0 + timedelta(hours=4),
                later[1:],
            )
