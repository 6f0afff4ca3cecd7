"""A customer's personal data: erased on request (GDPR art. 17) or when the
playbook's retention period passes, and exported on request (art. 15)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from loopkit._input.checks import check_id
from loopkit.model import (
    Erasure,
    FollowUpCase,
    erased_case,
    erased_customer,
    erased_message,
    erased_response,
    erased_touchpoint,
)
from loopkit.policies.casework import SYSTEM, cancel_messages
from loopkit.stores import IngestRecord, StoreTransaction, TimerKind

from ._context import Context, build_timer

__all__ = ["PersonalData"]

ERASED: str = "personal_data_erased"
"""The reason a message still owed to an erased customer is cancelled with."""


class PersonalData:
    """Erase or export one customer's personal data: ``loop.personal_data``.

    Erasing removes names, addresses, phone numbers, comments, notes,
    message subjects and bodies, free attributes and order references from
    every value the store keeps of the customer, and keeps the anonymous facts
    (scores, categories, timings, channels, amounts, root causes) so every
    metric still adds up. It records that it happened (an :class:`Erasure`,
    with no personal data). What the host keeps in its own systems is the
    host's to erase.

    >>> from loopkit import Loop, load_playbook
    >>> from loopkit.testing import FakeClock, make_customer, make_response
    >>> loop = Loop(load_playbook("examples/policies.toml"), clock=FakeClock(),
    ...             check_channels=False)
    >>> anna = make_customer("c-1", name="Anna")
    >>> _ = loop.ingest(make_response(2, comment="Rude."), customer=anna)
    >>> loop.personal_data.erase("c-1", by="dpo-1").case_ids
    ('case-1',)
    >>> loop.personal_data.export("c-1")["responses"][0]["comment"] is None
    True
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def erase(self, customer_id: str, *, by: str, at: datetime | None = None) -> Erasure:
        """Erase everything personal the store keeps of ``customer_id``, in
        one transaction, and return the record of it. Messages still owed to
        them are cancelled (there is no address left to send to). Erasing
        again, or a customer the store never saw, records another erasure and
        changes nothing else."""
        check_id(customer_id, "customer_id")
        check_id(by, "by")
        now = self.ctx.now(at)
        with self.ctx.store.transaction() as tx:
            customer = tx.get_customer(customer_id)
            if customer is not None:
                tx.save_customer(erased_customer(customer))
            for record in tx.ingests(customer_id):
                _erase_ingest(tx, record)
            cases = tx.cases(customer_id)
            for case in cases:
                _erase_case(tx, case, now)
            erasure = Erasure(
                customer_id=customer_id,
                at=now,
                by=by,
                reason="request",
                case_ids=tuple(case.id for case in cases),
            )
            tx.add_erasure(erasure)
        return erasure

    def export(self, customer_id: str) -> dict[str, Any]:
        """Everything the store keeps of ``customer_id`` as one JSON-safe dict
        (art. 15): the customer's latest copy, their responses and signals,
        cases, messages, promises and erasures. It holds personal data: hand
        it to the customer, never to a log."""
        check_id(customer_id, "customer_id")
        with self.ctx.store.transaction() as tx:
            customer = tx.get_customer(customer_id)
            cases = tx.cases(customer_id)
            return {
                "customer_id": customer_id,
                "customer": None if customer is None else customer.to_dict(),
                "responses": [
                    r.response.to_dict() for r in tx.ingests(customer_id) if r.response is not None
                ],
                "signals": [
                    r.touchpoint.to_dict()
                    for r in tx.ingests(customer_id)
                    if r.touchpoint is not None
                ],
                "cases": [case.to_dict() for case in cases],
                "messages": [m.to_dict() for case in cases for m in tx.messages(case.id)],
                "promises": [p.to_dict() for case in cases for p in tx.promises(case.id)],
                "erasures": [e.to_dict() for e in tx.erasures(customer_id)],
            }

    def erasures(self, customer_id: str | None = None) -> Sequence[Erasure]:
        """The erasures recorded (of one customer), oldest first."""
        with self.ctx.store.transaction() as tx:
            return tx.erasures(customer_id)

    # -- retention (the engine's; not public) --------------------------------------

    def keep_until(self, tx: StoreTransaction, case: FollowUpCase, closed_at: datetime) -> None:
        """Schedule the erasure of a case just closed, when ``[retention]`` sets
        a period: the case's one timer from now on (it had none left)."""
        due = self.ctx.playbook.retention.erase_at(closed_at)
        if due is not None:
            tx.add_timer(
                build_timer(
                    id=case.id, case_id=case.id, kind=TimerKind.RETENTION, due_at=due, later=()
                )
            )

    def retention_due(self, tx: StoreTransaction, case: FollowUpCase, now: datetime) -> bool:
        """Erase what is personal in a closed case whose retention period
        passed: its responses, notes and messages, and the customer's stored
        copy once none of their cases is still open. ``False`` when the case
        was reopened meanwhile (its next close schedules a new erasure)."""
        if not case.is_closed:
            return False
        for response_id in case.response_ids:
            record = tx.get_ingest(response_id)
            if record is not None:
                _erase_ingest(tx, record)
        _erase_case(tx, case, now)
        customer = tx.get_customer(case.customer_id)
        if customer is not None and all(c.is_closed for c in tx.cases(case.customer_id)):
            tx.save_customer(erased_customer(customer))
        tx.add_erasure(
            Erasure(
                customer_id=case.customer_id,
                at=now,
                by=SYSTEM,
                reason="retention",
                case_ids=(case.id,),
            )
        )
        return True


def _erase_ingest(tx: StoreTransaction, record: IngestRecord) -> None:
    if record.response is not None:
        erased = attrs.evolve(record, response=erased_response(record.response))
    elif record.touchpoint is not None:
        erased = attrs.evolve(record, touchpoint=erased_touchpoint(record.touchpoint))
    else:
        return
    if erased != record:
        tx.erase_ingest(erased)


def _erase_case(tx: StoreTransaction, case: FollowUpCase, now: datetime) -> None:
    """Erase the case's notes and its messages' text and addresses; a message
    still owed is cancelled, and the case's log says why."""
    stored = list(tx.messages(case.id))
    erased = [erased_message(m) for m in stored]
    cleaned, cancelled = cancel_messages(erased_case(case), erased, at=now, why=ERASED)
    final = {m.id: m for m in (*erased, *cancelled)}  # a cancelled one replaces its erased copy
    for message in stored:
        if final[message.id] != message:
            tx.save_message(final[message.id])
    if cleaned is not case:
        tx.save_case(cleaned)
