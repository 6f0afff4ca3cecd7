"""A quarter of made-up loop data for the report tests: answers with a drifting
mix, cases reached early, late or never, a ledger, recovery outcomes, issues.

Deterministic (a seeded ``random.Random``); every value is built through the
public API. Imported by the report tests (pytest runs with importlib mode, so
this module is loaded by path from the tests).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import loopkit
from loopkit.compensation import EntryKind, LedgerEntry, Money, Offer, OfferKind, OfferSource
from loopkit.outcomes import IssueState, RecoveryOutcome, SystemicIssue

START = datetime(2026, 9, 7, 8, tzinfo=UTC)  # a Monday
NOW = START + timedelta(weeks=12)
KINDS = ("purchase", "delivery", "support_contact", "store_visit", "cancellation")
CHANNELS = ("email", "sms", "phone")
CAUSES = ("late_delivery", "wrong_item", "rude_staff", "long_queue", "billing_error")


def responses(weeks: int = 12, per_week: int = 45) -> list[loopkit.Response]:
    rng = random.Random(14)
    out = []
    for week in range(weeks):
        lift = week / weeks  # the mix improves over the quarter
        for i in range(per_week):
            at = START + timedelta(weeks=week, hours=rng.randrange(0, 24 * 6))
            roll = rng.random()
            score = (
                rng.choice((9, 10))
                if roll < 0.35 + 0.25 * lift
                else rng.choice((7, 8))
                if roll < 0.65 + 0.1 * lift
                else rng.randrange(0, 7)
            )
            tp = loopkit.Touchpoint(
                id=f"t-{week}-{i}",
                kind=KINDS[rng.randrange(len(KINDS))],
                channel=CHANNELS[i % 3],
                occurred_at=at - timedelta(hours=2),
            )
            out.append(
                loopkit.Response(
                    id=f"r-{week}-{i}",
                    customer_id=f"c-{week}-{i}",
                    score=score,
                    answered_at=at,
                    scale=loopkit.NPS,
                    touchpoint=tp,
                )
            )
            if i % 5 == 0:
                out.append(
                    loopkit.Response(
                        id=f"s-{week}-{i}",
                        customer_id=f"c-{week}-{i}",
                        score=rng.randint(1, 5),
                        answered_at=at,
                        scale=loopkit.CSAT,
                        touchpoint=tp,
                    )
                )
    return out


def cases(n: int = 120) -> list[loopkit.FollowUpCase]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        opened = START + timedelta(hours=rng.randrange(0, 24 * 7 * 12))
        case = loopkit.FollowUpCase.open(
            id=f"k-{i}",
            customer_id=f"c-k{i}",
            at=opened,
            by="loopkit",
            owner="team:care",
            due_at=opened + timedelta(hours=24),
        )
        roll = rng.random()
        if roll < 0.9:
            wait = timedelta(hours=rng.choice((1, 2, 3, 5, 8, 11, 14, 20, 23, 30, 40)))
            case = case.contact(at=opened + wait, by="emp-7")
            if i % 7 == 0:
                case = case.escalate(at=opened + wait, by="loopkit")
            if opened + wait + timedelta(days=2) < NOW and i % 4:
                done = opened + wait + timedelta(days=1)
                case = case.resolve(at=done, by="emp-7").close(
                    at=done, by="emp-7", root_causes={CAUSES[min(4, int(rng.expovariate(0.9)))]}
                )
        out.append(case)
    return out


def ledger(n: int = 40) -> list[LedgerEntry]:
    out = []
    for i in range(n):
        at = START + timedelta(days=2 * i + 1)
        value = Money(Decimal(100 + 25 * (i % 5)), "SEK")
        approved = i % 4 == 0
        common = {
            "at": at,
            "case_id": f"k-{i}",
            "customer_id": f"c-k{i}",
            "employee": "emp-7",
            "offer": Offer(kind=OfferKind.DISCOUNT_CODE, value=value),
            "source": OfferSource.goodwill(),
            "amount": value,
        }
        approval = f"g-{i}" if approved else None
        out.append(LedgerEntry(kind=EntryKind.GRANT, key=f"g-{i}", approval=approval, **common))
        out.append(LedgerEntry(kind=EntryKind.POSTING, key=f"g-{i}", approval=approval, **common))
        if i % 10 == 9:
            later = {**common, "at": at + timedelta(days=1)}
            out.append(
                LedgerEntry(kind=EntryKind.REVERSAL, key=f"rev-{i}", reverses=f"g-{i}", **later)
            )
    return out


def recoveries() -> list[RecoveryOutcome | None]:
    r = RecoveryOutcome
    return [r.RECOVERED] * 14 + [r.NOT_RECOVERED] * 6 + [r.NO_ANSWER] * 9 + [None] * 4


def issues() -> list[SystemicIssue]:
    return [
        SystemicIssue(cause="late_delivery", state=IssueState.OPEN, count=12),
        SystemicIssue(cause="wrong_item", state=IssueState.ACKNOWLEDGED, count=6),
        SystemicIssue(
            cause="billing_error", state=IssueState.FIXED, count=5, fixed_at=NOW - timedelta(days=9)
        ),
        SystemicIssue(cause="long_queue", state=IssueState.WATCHED, count=2),
    ]


def full_report(**options: object) -> loopkit.reports.Report:  # type: ignore[name-defined]
    from loopkit.reports import build_report

    return build_report(
        responses=responses(),
        cases=cases(),
        ledger=ledger(),
        recoveries=recoveries(),
        issues=issues(),
        now=NOW,
        timezone="Europe/Stockholm",
        **options,  # type: ignore[arg-type]
    )
