"""A worker process for the compensation concurrency test: grants against one
budget on SQLite files, one file per schedule, or in PostgreSQL schemas.

Run as ``python grant_worker.py PLAYBOOK_JSON WORKER SEED``. It prints
``ready``, then for each line ``go DB CASE_ID SCHEDULE`` on stdin grants a few
random amounts on case CASE_ID in the SQLite file DB (with random pauses
between them) and prints ``done`` with the keys it granted anew (not replays,
not refusals) as JSON; an empty line or end of input ends it. A DB of the form
``postgres:SCHEMA`` is that schema of the PostgreSQL server whose DSN is in the
environment variable ``LOOPKIT_GRANT_DSN``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime

NOON = datetime.fromisoformat("2026-11-20T12:05:00+01:00")
GRANTS = 6


def grant_some(
    loop: object, case_id: str, worker: str, schedule: int, rng: random.Random
) -> list[str]:
    """The grants of one worker in one schedule: the keys granted anew."""
    from loopkit import BudgetExceeded, Money, Offer, OfferKind

    fresh = []
    for j in range(GRANTS):
        amount = rng.choice([50, 75, 120, 150, 200, 300, 400])
        by = rng.choice(["lead-1", "clerk-1"])  # the clerk's grants above 150 SEK are reserved
        offer = Offer(kind=OfferKind.REFUND, value=Money.parse(f"{amount} SEK"))
        shared = rng.random() < 0.25  # a key every worker may grant: one grant
        key = f"shared-{case_id}-{schedule}-{j}" if shared else f"{worker}-{schedule}-{j}"
        if shared:
            offer = Offer(kind=OfferKind.REFUND, value=Money.parse(f"{50 + 25 * j} SEK"))
            by = "lead-1"
        try:
            outcome = loop.compensation.grant(case_id, offer, by=by, key=key, at=NOON)  # type: ignore[attr-defined]
        except BudgetExceeded:
            continue
        if not outcome.replayed:
            fresh.append(key)
        time.sleep(rng.random() * 0.002)
    return fresh


def main(argv: list[str]) -> None:
    import os

    from loopkit import Loop, SQLiteStore, Store, load_playbook

    playbook_file, worker, seed = argv
    with open(playbook_file, encoding="utf-8") as f:
        playbook = load_playbook(json.load(f))
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            return
        _, db, case_id, schedule = line.split()
        rng = random.Random(f"{seed}-{worker}-{schedule}")
        store: Store
        if db.startswith("postgres:"):
            from loopkit.stores.postgres import PostgresStore

            store = PostgresStore(os.environ["LOOPKIT_GRANT_DSN"], schema=db[len("postgres:") :])
        else:
            store = SQLiteStore(db, synchronous="normal")
        try:
            loop = Loop(playbook, store=store, check_channels=False)
            fresh = grant_some(loop, case_id, worker, int(schedule), rng)
        finally:
            store.close()
        print("done " + json.dumps(fresh), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
