"""The store contract on outcomes: systemic issues by root cause, and each
customer's closed case waiting for their next answer (the re-survey)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from loopkit.outcomes import IssueState, SystemicIssue
from loopkit.stores import Store, Timer, TimerKind

from ._store_samples import T0


def _issue(cause: str, days: int) -> SystemicIssue:
    at = T0 + timedelta(days=days)
    return SystemicIssue(
        cause=cause,
        count=1,
        customers=frozenset({"c-1"}),
        cases=frozenset({"case-1"}),
        first_seen=at,
        last_seen=at,
        recent=(at,),
    )


class OutcomeContract:
    """Issues are kept by cause, listed by when first seen; watches per customer."""

    def test_issues_are_saved_replaced_and_listed_by_first_seen(self, store: Store) -> None:
        late, early = _issue("late_delivery", 2), _issue("campaign_targeting", 1)
        with store.transaction() as tx:
            assert tx.get_issue("late_delivery") is None
            tx.save_issue(late)
            tx.save_issue(early)
        fixed = attrs.evolve(
            late,
            state=IssueState.FIXED,
            recent=(),
            fixed_at=T0 + timedelta(days=3),
            notified=frozenset({"c-1"}),
        )
        with store.transaction() as tx:
            assert tx.get_issue("late_delivery") == late
            tx.save_issue(fixed)
        with store.transaction() as tx:
            assert tx.get_issue("late_delivery") == fixed
            assert [i.cause for i in tx.issues()] == ["campaign_targeting", "late_delivery"]
            tx.save_issue(SystemicIssue(cause="b_unseen"))  # never seen: listed first
            tx.save_issue(SystemicIssue(cause="a_unseen"))
        with store.transaction() as tx:
            assert [i.cause for i in tx.issues()][:2] == ["a_unseen", "b_unseen"]

    def test_an_issue_written_in_a_failed_transaction_is_not_kept(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.save_issue(_issue("late_delivery", 1))
            tx.set_recovery_watch("c-1", "case-1")
            raise RuntimeError("boom")
        with store.transaction() as tx:
            assert tx.get_issue("late_delivery") is None
            assert tx.recovery_watch("c-1") is None
            assert list(tx.issues()) == []

    def test_recovery_watches_are_kept_per_customer(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.set_recovery_watch("c-1", "case-1")
            tx.set_recovery_watch("c-1", "case-2")
            tx.set_recovery_watch("c-2", "case-3")
        with store.transaction() as tx:
            assert tx.recovery_watch("c-1") == "case-2"
            assert tx.recovery_watch("c-3") is None
            tx.clear_recovery_watch("c-1")
            tx.clear_recovery_watch("c-3")  # nothing to clear: no error
        with store.transaction() as tx:
            assert tx.recovery_watch("c-1") is None
            assert tx.recovery_watch("c-2") == "case-3"

    def test_resurvey_timers_chain_to_their_answer_window(self, store: Store) -> None:
        from loopkit.stores import LaterTimer

        window = LaterTimer(kind=TimerKind.ANSWER_WINDOW, due_at=T0 + timedelta(days=28))
        timer = Timer(
            id="resurvey:case-1",
            case_id="case-1",
            kind=TimerKind.RESURVEY,
            due_at=T0 + timedelta(days=14),
            later=(window,),
        )
        with store.transaction() as tx:
            tx.add_timer(timer)
        with store.transaction() as tx:
            assert list(tx.due_timers(T0 + timedelta(days=13), 5)) == []
            assert list(tx.due_timers(T0 + timedelta(days=14), 5)) == [timer]
            following = timer.following()
            assert following is not None and following.kind is TimerKind.ANSWER_WINDOW
