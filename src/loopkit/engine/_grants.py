"""The compensation desk's work inside store transactions: the ledger excerpt
a decision reads, the entries and the case event it writes (together, in the
caller's transaction), and the expiry of unanswered approval requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loopkit._input.instants import instant_key
from loopkit.compensation import (
    Empowerment,
    GrantOutcome,
    Ledger,
    LedgerEntry,
    OfferSource,
    Proposal,
    Proposals,
    SourceKind,
    expire,
    ledger_excerpt,
    period_of,
)
from loopkit.errors import ValidationError
from loopkit.model import FollowUpCase, Response, Touchpoint
from loopkit.policies.casework import SYSTEM
from loopkit.stores import StoreTransaction, signal_key

OFFERS_EVENT = "offers_proposed"
"""The case event that shows the person working the case the offers fit for it."""

_EVENTS = {
    "granted": "compensation_granted",
    "pending": "compensation_requested",
    "rejected": "compensation_rejected",
    "expired": "compensation_expired",
    "reversed": "compensation_reversed",
}


def last_answer(
    tx: StoreTransaction, case: FollowUpCase
) -> tuple[Response | None, Touchpoint | None]:
    """The case's most recent response and its touchpoint; for a case opened
    on a touchpoint signal, no response and the signal's touchpoint."""
    for response_id in reversed(case.response_ids):
        record = tx.get_ingest(response_id)
        if record is not None and record.response is not None:
            return record.response, record.response.touchpoint
    for event in reversed(case.events):
        touchpoint_id = event.details.get("touchpoint_id")
        if isinstance(touchpoint_id, str):
            record = tx.get_ingest(signal_key(touchpoint_id))
            if record is not None:
                return None, record.touchpoint
    return None, None


def with_offers(case: FollowUpCase, proposals: Proposals, at: datetime) -> FollowUpCase | None:
    """The case with an ``offers_proposed`` event listing ``proposals``, or
    ``None`` when its last such event lists the same (nothing new to show)."""
    shown = tuple(_shown(p) for p in proposals)
    for event in reversed(case.events):
        if event.kind == OFFERS_EVENT:
            if tuple(event.details.get("offers", ())) == shown:
                return None
            break
    return case.record(OFFERS_EVENT, at=_not_before(case, at), by=SYSTEM, details={"offers": shown})


def _shown(proposal: Proposal) -> str:
    offer = proposal.offer
    parts = [str(proposal.source), offer.kind.value]
    if offer.value is not None:
        parts.append(str(offer.value))
    if offer.what is not None:
        parts.append(f"({offer.what})")
    return " ".join(parts)


def check_rule_proposal(empowerment: Empowerment, proposal: Proposal) -> None:
    """A rule's proposal must be that rule's offer as the playbook has it."""
    if proposal.source.kind is not SourceKind.RULE:
        return
    rule = next((r for r in empowerment.rules if r.name == proposal.source.name), None)
    if rule is None or rule.offer != proposal.offer:
        raise ValidationError(
            "offer.source",
            f"a rule of the playbook {[r.name for r in empowerment.rules]} with its own offer",
            str(proposal.source),
        )


def grant_excerpt(
    tx: StoreTransaction,
    empowerment: Empowerment,
    *,
    key: str,
    case: FollowUpCase,
    member: object,
    proposal: Proposal | None,
    budget: str | None,
    at: datetime,
) -> Ledger:
    """What a grant is decided on: its key's chain and its case's entries (a
    replay), the customer's earlier grants when a ``max_per_customer`` may
    count them, and the store's totals for the one budget period it would
    draw on."""
    entries: list[LedgerEntry] = list(tx.ledger_entries(key=key))
    if entries:  # a replay: where that grant stands now, a reversal included
        entries += tx.ledger_entries(case_id=entries[0].case_id)
    if proposal is not None and _capped(empowerment, proposal.source, proposal):
        entries += tx.ledger_entries(customer_id=case.customer_id)
    found = empowerment.budget_for(empowerment.member(member), budget)  # type: ignore[arg-type]
    totals = {}
    if found is not None:
        start = period_of(found, at).start
        totals[(found.name, start)] = tx.budget_use(found.name, start)
    return ledger_excerpt(entries, totals)


def _capped(empowerment: Empowerment, source: OfferSource, proposal: Proposal) -> bool:
    if proposal.max_per_customer is not None:
        return True
    return any(r.max_per_customer is not None and r.name == source.name for r in empowerment.rules)


def record(
    tx: StoreTransaction,
    outcome: GrantOutcome,
    *,
    by: str,
    at: datetime,
    case: FollowUpCase | None = None,
    event: str | None = None,
) -> None:
    """Write a decision: its ledger entries and the event on its case, in the
    caller's transaction (nothing for a replay)."""
    if outcome.replayed or not outcome.entries:
        return
    tx.add_ledger_entries(outcome.entries)
    first = outcome.entries[0]
    case = case if case is not None else tx.get_case(first.case_id)
    if case is None:  # pragma: no cover - entries are made for stored cases
        return
    details: dict[str, Any] = {"key": outcome.key, "source": str(first.source)}
    details["offer"] = first.offer.kind.value
    if first.amount is not None:
        details["amount"] = str(first.amount)
    if first.budget is not None:
        details["budget"] = first.budget
    if first.reverses is not None:
        details["reverses"] = first.reverses
    kind = event or _EVENTS[outcome.status.value]
    tx.save_case(case.record(kind, at=_not_before(case, at), by=by, details=details))


def expire_one(tx: StoreTransaction, now: datetime) -> bool:
    """Expire the approval request that lapsed first by ``now``, if any: its
    reservation is released, with an event on its case."""
    due: Sequence[LedgerEntry] = tx.open_reservations(now, 1)
    if not due:
        return False
    ledger = ledger_excerpt(tx.ledger_entries(key=due[0].key))
    entries = expire(ledger, at=now)
    if not entries:  # pragma: no cover - the store said it was open and due
        return False
    outcome = GrantOutcome(key=due[0].key, status=ledger.status(due[0].key), entries=entries)  # type: ignore[arg-type]
    record(tx, outcome, by=SYSTEM, at=now, event=_EVENTS["expired"])
    return True


def _not_before(case: FollowUpCase, at: datetime) -> datetime:
    """``at``, or the case's last event's time when that is later (a case's
    log never goes back in time)."""
    if case.events and instant_key(case.events[-1].at) > instant_key(at):  # type: ignore[operator]
        return case.events[-1].at
    return at
