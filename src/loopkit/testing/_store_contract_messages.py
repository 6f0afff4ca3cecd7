"""The store contract on the outbox: messages come due when pending, and a
worker's claim keeps the others out until it runs out."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from loopkit.model import MessageStatus
from loopkit.stores import Store

from ._store_samples import T0, _Boom, _message


class MessageContract:
    """Outbox messages come due in order, dead letters are kept, claims never overlap."""

    # outbox --------------------------------------------------------------------

    def test_due_messages_are_pending_and_due(self, store: Store) -> None:
        first = _message("m-1", T0)
        later = _message("m-2", T0 + timedelta(hours=3))
        with store.transaction() as tx:
            tx.save_message(later)
            tx.save_message(first)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0, 10)) == [first]
            assert [m.id for m in tx.due_messages(T0 + timedelta(hours=3), 10)] == ["m-1", "m-2"]
            tx.save_message(attrs.evolve(first, status=MessageStatus.SENT, attempts=1, sent_at=T0))
            retry = attrs.evolve(later, attempts=1, next_attempt_at=T0 + timedelta(hours=4))
            tx.save_message(retry)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0 + timedelta(hours=3), 10)) == []
            assert list(tx.due_messages(T0 + timedelta(hours=4), 10)) == [retry]
            assert [m.id for m in tx.messages(status=MessageStatus.SENT)] == ["m-1"]
            assert [m.id for m in tx.messages(case_id="case-1")] == ["m-1", "m-2"]
            assert tx.get_message("m-2") == retry
            assert tx.get_message("m-2").address == "someone@example.com"  # type: ignore[union-attr]

    def test_a_dead_letter_is_kept_but_never_due(self, store: Store) -> None:
        dead = attrs.evolve(_message("m-1", T0), status=MessageStatus.DEAD, attempts=5)
        with store.transaction() as tx:
            tx.save_message(dead)
        with store.transaction() as tx:
            assert list(tx.due_messages(T0 + timedelta(days=9), 10)) == []
            assert list(tx.messages(status=MessageStatus.DEAD)) == [dead]

    def test_messages_of_one_case_by_status_and_a_cancelled_one_is_never_due(
        self, store: Store
    ) -> None:
        mine = _message("m-1", T0)
        theirs = _message("m-2", T0, case_id="case-2")
        cancelled = attrs.evolve(_message("m-3", T0), status=MessageStatus.CANCELLED)
        with store.transaction() as tx:
            for message in (mine, theirs, cancelled):
                tx.save_message(message)
        with store.transaction() as tx:
            assert [m.id for m in tx.messages(case_id="case-1")] == ["m-1", "m-3"]
            assert list(tx.messages("case-1", MessageStatus.PENDING)) == [mine]
            assert list(tx.messages("case-2", MessageStatus.CANCELLED)) == []
            assert list(tx.messages(status=MessageStatus.CANCELLED)) == [cancelled]
            assert [m.id for m in tx.due_messages(T0, 10)] == ["m-1", "m-2"]

    # claims --------------------------------------------------------------------

    def test_claiming_takes_due_pending_messages_earliest_first(self, store: Store) -> None:
        later = _message("m-1", T0 + timedelta(minutes=2))
        first = _message("m-2", T0)
        middle = _message("m-3", T0 + timedelta(minutes=1))
        future = _message("m-4", T0 + timedelta(hours=1))
        sent = attrs.evolve(_message("m-5", T0), status=MessageStatus.SENT, sent_at=T0)
        dead = attrs.evolve(_message("m-6", T0), status=MessageStatus.DEAD, attempts=5)
        cancelled = attrs.evolve(_message("m-7", T0), status=MessageStatus.CANCELLED)
        with store.transaction() as tx:
            for message in (later, first, middle, future, sent, dead, cancelled):
                tx.save_message(message)
        now, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
        with store.transaction() as tx:
            assert list(tx.claim_messages(now, 2, "w-1", until)) == [first, middle]
            assert list(tx.claim_messages(now, 10, "w-1", until)) == [later]
            assert list(tx.claim_messages(now, 10, "w-2", until)) == []
        with store.transaction() as tx:
            assert [tx.claimed_by(m) for m in ("m-1", "m-2", "m-3")] == ["w-1"] * 3
            assert [tx.claimed_by(m) for m in ("m-4", "m-5", "m-6", "m-7")] == [None] * 4
            assert tx.claimed_by("no-such-message") is None
            # claiming only marks: the messages are unchanged, and still due
            assert tx.get_message("m-2") == first
            assert [m.id for m in tx.due_messages(now, 10)] == ["m-2", "m-3", "m-1"]

    def test_a_claim_keeps_other_workers_out_until_it_expires(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
        until = T0 + timedelta(minutes=5)
        with store.transaction() as tx:
            assert list(tx.claim_messages(T0, 10, "w-1", until)) == [message]
        with store.transaction() as tx:
            assert list(tx.claim_messages(until - timedelta(microseconds=1), 10, "w-2", T0)) == []
            assert list(tx.claim_messages(until - timedelta(seconds=1), 10, "w-1", T0)) == []
        with store.transaction() as tx:  # a claim that ran out is anyone's
            later = until + timedelta(minutes=5)
            assert list(tx.claim_messages(until, 10, "w-2", later)) == [message]
            assert tx.claimed_by("m-1") == "w-2"
        with store.transaction() as tx:
            assert list(tx.claim_messages(until, 10, "w-3", later)) == []

    def test_saving_a_message_releases_its_claim(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
            tx.save_message(_message("m-2", T0))
        until = T0 + timedelta(hours=1)
        with store.transaction() as tx:
            assert len(tx.claim_messages(T0, 10, "w-1", until)) == 2
        with store.transaction() as tx:
            tx.save_message(message)  # handed back as it was
            sent = attrs.evolve(
                _message("m-2", T0), status=MessageStatus.SENT, attempts=1, sent_at=T0
            )
            tx.save_message(sent)
        with store.transaction() as tx:
            assert tx.claimed_by("m-1") is None and tx.claimed_by("m-2") is None
            assert list(tx.claim_messages(T0, 10, "w-2", until)) == [message]
            assert tx.claimed_by("m-1") == "w-2"

    def test_one_transaction_records_hands_back_and_claims_the_next_batch(
        self, store: Store
    ) -> None:
        # The engine records what a batch's sends did, hands back what it did
        # not send and claims its next batch in one transaction: the claim
        # sees the transaction's own saves.
        first, second = _message("m-1", T0), _message("m-2", T0 + timedelta(seconds=1))
        third = _message("m-3", T0 + timedelta(seconds=2))
        now, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)
        with store.transaction() as tx:
            for message in (first, second, third):
                tx.save_message(message)
        with store.transaction() as tx:
            assert list(tx.claim_messages(now, 2, "w-1", until)) == [first, second]
        sent = attrs.evolve(first, status=MessageStatus.SENT, attempts=1, sent_at=T0)
        with store.transaction() as tx:
            assert tx.claimed_by("m-1") == tx.claimed_by("m-2") == "w-1"
            tx.save_message(sent)  # recorded
            tx.save_message(second)  # handed back
            assert tx.claimed_by("m-1") is None and tx.claimed_by("m-2") is None
            later = until + timedelta(minutes=5)
            assert list(tx.claim_messages(now, 10, "w-1", later)) == [second, third]
        with store.transaction() as tx:
            assert [tx.claimed_by(m) for m in ("m-1", "m-2", "m-3")] == [None, "w-1", "w-1"]
            assert tx.get_message("m-1") == sent
            assert list(tx.claim_messages(until, 10, "w-2", later)) == []

    def test_the_claims_of_many_messages_agree_with_claimed_by(self, store: Store) -> None:
        with store.transaction() as tx:
            if getattr(tx, "claims", None) is None:
                pytest.skip("claims() is optional: this store's claims are read one at a time")
            for n in range(1, 5):
                tx.save_message(_message(f"m-{n}", T0 + timedelta(seconds=n)))
        now, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)
        with store.transaction() as tx:
            assert len(tx.claim_messages(now, 2, "w-1", until)) == 2
            assert len(tx.claim_messages(now, 1, "w-2", until)) == 1
        ids = ["no-such-message", "m-4", "m-3", "m-2", "m-1"]
        with store.transaction() as tx:
            claims = tx.claims(ids)  # type: ignore[attr-defined]
            assert dict(claims) == {"m-1": "w-1", "m-2": "w-1", "m-3": "w-2"}
            assert dict(claims) == {i: tx.claimed_by(i) for i in ids if tx.claimed_by(i)}
            tx.save_message(_message("m-1", T0))  # saved: its claim released
            assert dict(tx.claims(["m-1", "m-2"])) == {"m-2": "w-1"}  # type: ignore[attr-defined]
            assert dict(tx.claims([])) == {}  # type: ignore[attr-defined]

    def test_a_failed_transaction_undoes_its_claims(self, store: Store) -> None:
        message = _message("m-1", T0)
        with store.transaction() as tx:
            tx.save_message(message)
        until = T0 + timedelta(hours=1)
        with pytest.raises(_Boom), store.transaction() as tx:
            assert list(tx.claim_messages(T0, 10, "w-1", until)) == [message]
            raise _Boom
        with store.transaction() as tx:
            assert tx.claimed_by("m-1") is None
            assert list(tx.claim_messages(T0, 10, "w-2", until)) == [message]
        with pytest.raises(_Boom), store.transaction() as tx:
            tx.save_message(attrs.evolve(message, status=MessageStatus.SENT, sent_at=T0))
            raise _Boom
        with store.transaction() as tx:  # the release was undone with the save
            assert tx.claimed_by("m-1") == "w-2"
            assert tx.get_message("m-1") == message

    def test_claims_of_many_workers_never_overlap(self, store: Store) -> None:
        with store.transaction() as tx:
            for n in range(30):
                tx.save_message(_message(f"m-{n:02d}", T0 + timedelta(seconds=n)))
        now, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)
        taken: dict[str, list[str]] = {}
        for turn in range(8):
            worker = f"w-{turn % 3}"
            with store.transaction() as tx:
                claimed = tx.claim_messages(now, 4, worker, until)
            taken.setdefault(worker, []).extend(m.id for m in claimed)
        every = [i for ids in taken.values() for i in ids]
        assert len(every) == len(set(every)) == 30
        with store.transaction() as tx:
            assert all(tx.claimed_by(i) == w for w, ids in taken.items() for i in ids)
