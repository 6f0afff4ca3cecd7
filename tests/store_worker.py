"""A worker process for the concurrency and crash tests on PostgreSQL and SQLite.

``python store_worker.py DSN SCHEMA POLICIES SENT_FILE MODE ...``, where
DSN is a PostgreSQL DSN (SCHEMA: the schema) or ``sqlite:DIRECTORY`` (SCHEMA:
the database file ``DIRECTORY/SCHEMA.db``):

- ``work START COUNT SEED``: ingest ``COUNT`` responses of the shared feed
  from ``START`` on (wrapping around), in an order shuffled by ``SEED``, in
  batches, granting compensation after each batch on the cases its answers
  landed in (see :func:`grant_after`), then tick. It prints ``ready``, waits
  for a line on stdin (so all workers start at once), and prints a JSON
  summary: ingest errors, messages sent, the keys it granted anew, how many
  grants the budget refused, and any other error a grant raised.
- ``tick [NOW PACE]``: tick once, three days after the feed (or at NOW, an
  ISO time), on the go-ahead; print the tick's report as JSON. With PACE,
  each send takes that many seconds (so that a test can kill the process in
  the middle of a tick).
- ``crash ACK_FILE``: a fork server. For each line ``go SCHEMA`` on stdin it
  forks a child that ingests the whole feed into SCHEMA in batches, appending the ids of each
  batch to ACK_FILE once ``ingest_many`` returned (acknowledged), and prints
  the child's pid; the test kills the child (SIGKILL) whenever it likes, then
  writes ``reap`` and the server answers ``reaped`` once the child is gone.

The channel appends each message's idempotency key to SENT_FILE, one line per
send (``O_APPEND``, one ``write`` a line: lines of several processes never
interleave).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

FEED = 600
T0 = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
GRANT_AT = T0 + timedelta(hours=1)
AMOUNTS = (20, 30, 250, 40, 60, 210)
"""SEK a grant gives, by response number modulo 6; 250 and 210 are above the
agent's authority (200 SEK)."""
BUDGET = "team-support"


def feed() -> list[tuple[object, object]]:
    """The shared feed: responses of 150 customers, a third of them detractors."""
    from loopkit.testing import make_customer, make_response

    items = []
    for i in range(FEED):
        customer = f"c-{i % 150}"
        score = (2, 8, 10, 5, 9, 1)[i % 6]
        kind = "cancellation" if i % 5 == 0 else "support_contact"
        items.append(
            (
                make_response(
                    score,
                    id=f"r-{i:04d}",
                    customer_id=customer,
                    kind=kind,
                    answered_at=T0 + timedelta(seconds=i),
                ),
                make_customer(customer),
            )
        )
    return items


class AppendingChannel:
    def __init__(self, path: str, pace: float = 0.0) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pace = pace

    def send(self, message: object) -> None:
        if self._pace:
            time.sleep(self._pace)
        os.write(self._fd, f"{message.idempotency_key}\n".encode())  # type: ignore[attr-defined]


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def loop_on(
    dsn: str, schema: str, policies: str, sent: str, clock: FixedClock, pace: float = 0.0
) -> object:
    import loopkit

    channel = AppendingChannel(sent, pace)
    return loopkit.Loop(
        loopkit.load_playbook(policies),
        plugins=[loopkit.ChannelPlugin({"phone": channel, "email": channel})],
        store=open_store(dsn, schema),
        clock=clock,
    )


def open_store(dsn: str, schema: str) -> object:
    """The store a worker works on: PostgreSQL, or one SQLite file."""
    if dsn.startswith("sqlite:"):
        from loopkit import SQLiteStore

        return SQLiteStore(os.path.join(dsn.removeprefix("sqlite:"), f"{schema}.db"), timeout=120)
    from loopkit.stores.postgres import PostgresStore

    return PostgresStore(dsn, schema=schema)


def grant_after(loop: Any, answers: list[Any], worker: str, summary: dict[str, Any]) -> None:
    """Grant on the case each ingested answer landed in, against the support
    team's one budget (20,000 SEK a month in the example playbook): a grant
    under a key of the response, which every worker ingesting it grants too
    (one grant, the others replays), and for every fourth response one of
    this worker's own. Amounts above the agent's authority (200 SEK: here
    210 and 250) are approval requests, whose amounts are reserved. All in
    all the workers ask for about 1.6 times the budget: once it has run
    out, grants are refused (``BudgetExceeded``)."""
    from loopkit import BudgetExceeded, Money, Offer, OfferKind

    for answer in answers:
        if answer.result is None or answer.result.case is None:
            continue
        i = int(answer.response_id.removeprefix("r-"))
        keys = [(f"g-{answer.response_id}", AMOUNTS[i % len(AMOUNTS)])]
        if i % 4 == 0:
            keys.append((f"{worker}-{answer.response_id}", AMOUNTS[(i + 1) % len(AMOUNTS)]))
        for key, amount in keys:
            offer = Offer(kind=OfferKind.REFUND, value=Money.parse(f"{amount} SEK"))
            try:
                outcome = loop.compensation.grant(
                    answer.result.case.id, offer, by="emp-7", key=key, at=GRANT_AT
                )
            except BudgetExceeded:
                summary["refused"] += 1
            except Exception as err:  # none is expected: the test fails on it
                summary["grant_errors"].append(f"{key}: {type(err).__name__}: {err}")
            else:
                if not outcome.replayed:
                    summary["granted"].append(key)


def work(argv: list[str], items: list[tuple[object, object]]) -> None:
    dsn, schema, policies, sent = argv[:4]
    start, count, seed = (int(a) for a in argv[5:8])
    mine = [items[(start + k) % len(items)] for k in range(count)]
    random.Random(seed).shuffle(mine)
    clock = FixedClock(T0 + timedelta(hours=1))
    loop: Any = loop_on(dsn, schema, policies, sent, clock)
    print("ready", flush=True)
    sys.stdin.readline()
    summary: dict[str, Any] = {"errors": 0, "refused": 0, "granted": [], "grant_errors": []}
    for at in range(0, len(mine), 20):
        answers = loop.ingest_many(mine[at : at + 20], batch_size=20)
        summary["errors"] += sum(a.error is not None for a in answers)
        grant_after(loop, answers, f"w{seed}", summary)
    clock.at = T0 + timedelta(days=3)
    summary["sent"] = loop.tick().sent
    print(json.dumps(summary), flush=True)


def tick(argv: list[str], items: list[tuple[object, object]]) -> None:
    at, pace = argv[5:7] if len(argv) > 5 else (None, "0")
    clock = FixedClock(T0 + timedelta(days=3) if at is None else datetime.fromisoformat(at))
    loop = loop_on(*argv[:4], clock, float(pace))
    print("ready", flush=True)
    sys.stdin.readline()
    report = loop.tick()  # type: ignore[attr-defined]
    print(json.dumps({"sent": report.sent, "breaches": report.breaches}), flush=True)


def crash(argv: list[str], items: list[tuple[object, object]]) -> None:
    dsn, _, policies, sent, _, acks = argv[:6]
    print("ready", flush=True)
    child = 0
    for line in sys.stdin:
        if line.strip() == "reap":
            os.waitpid(child, 0)
            print("reaped", flush=True)
            continue
        schema = line.split()[1]
        child = os.fork()
        if child == 0:  # the child: ingest everything, acknowledging each batch
            loop = loop_on(dsn, schema, policies, sent, FixedClock(T0 + timedelta(hours=1)))
            fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            for at in range(0, len(items), 25):
                batch = items[at : at + 25]
                answers = loop.ingest_many(batch, batch_size=25)  # type: ignore[attr-defined]
                assert all(a.error is None for a in answers)
                os.write(fd, "".join(f"{a.response_id}\n" for a in answers).encode())
            os._exit(0)
        print(child, flush=True)


# -- for the tests that drive the workers ---------------------------------------


def spawn(*args: str) -> subprocess.Popen[str]:
    """A worker process running this file with ``args``."""
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def together(workers: list[subprocess.Popen[str]], timeout: float = 300) -> list[dict[str, Any]]:
    """Let workers that said ``ready`` go at once; their JSON reports."""
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        reports = []
        for w in workers:
            out, err = w.communicate(timeout=timeout)
            assert w.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()


def check_no_duplicates(store: Any, feed_ids: set[str]) -> list[Any]:
    """Every response of the feed stored once, in at most one case, each
    record naming the case that holds it, one open case per customer and
    topic; the cases."""
    with store.transaction() as tx:
        ingests = tx.ingests()
        cases = list(tx.cases())
    assert {r.key for r in ingests} == feed_ids and len(ingests) == len(feed_ids)
    attached = Counter(rid for case in cases for rid in case.response_ids)
    assert [rid for rid, n in attached.items() if n > 1] == []  # each response in one case
    unclosed = Counter((c.customer_id, c.topic) for c in cases if not c.is_closed)
    assert [key for key, n in unclosed.items() if n > 1] == []
    by_id = {case.id: case for case in cases}
    for record in ingests:  # each record names the case that holds its response
        if record.case_id is not None:
            assert record.response_id in by_id[record.case_id].response_ids
    return cases


def check_grants(store: Any, policies: str, reports: list[dict[str, Any]]) -> None:
    """The workers' grants against the one budget: it was never overspent
    (what was posted and reserved within its amount, its running totals
    agreeing with the ledger's entries), each key granted once, by one worker
    (the others' grants of it were replays), and its event written once on
    its case; and the budget ran out (some grants were refused), so the test
    tested something."""
    import loopkit

    assert [e for r in reports for e in r["grant_errors"]] == []
    fresh = [key for r in reports for key in r["granted"]]
    loop = loopkit.Loop(loopkit.load_playbook(policies), store=store, check_channels=False)
    use = loop.compensation.budget(BUDGET, at=GRANT_AT)
    ledger = loop.compensation.ledger()
    budget = loop.compensation.empowerment.budgets[BUDGET]
    assert use.used.amount + use.reserved.amount <= budget.amount.amount  # never overspent
    assert use.left.amount >= 0
    assert (use.used, use.reserved) == (
        ledger.used(budget, use.period),
        ledger.reserved(budget, use.period),
    )
    posted = sum(e.amount.amount for e in ledger if e.kind.value == "posting" and e.amount)
    reserved = sum(e.amount.amount for e in ledger if e.kind.value == "reservation" and e.amount)
    assert (posted, reserved) == (use.used.amount, use.reserved.amount)
    assert reserved > 0 and posted > 0  # grants at once, and approval requests
    assert sorted(fresh) == sorted({e.key for e in ledger})  # one grant per key
    with store.transaction() as tx:
        cases = tx.cases()
    written = [
        e.details["key"]
        for case in cases
        for e in case.events
        if e.kind in ("compensation_granted", "compensation_requested")
    ]
    assert sorted(written) == sorted(fresh)  # each once on its case
    assert sum(r["refused"] for r in reports) > 0 and use.left.amount < max(AMOUNTS)


def fill_outbox(store: Any, n: int) -> list[str]:
    """``n`` follow-up messages due at ``T0`` (a minute apart at most), on 97
    cases of 89 customers, by phone and e-mail; their ids in order."""
    from loopkit import Message

    ids = [f"m-{i:05d}" for i in range(n)]
    with store.transaction() as tx:
        for i, message_id in enumerate(ids):
            tx.save_message(
                Message(
                    id=message_id,
                    case_id=f"case-{i % 97}",
                    customer_id=f"c-{i % 89}",
                    channel=("phone", "email")[i % 2],
                    purpose="follow_up",
                    created_at=T0,
                    not_before=T0 - timedelta(seconds=i % 60),
                )
            )
    return ids


def kill_one(server: subprocess.Popen[str], target: str, rng: random.Random) -> bool:
    """Have the ``crash`` fork server start a child ingesting into ``target``,
    SIGKILL it after a random pause of up to half a second, and reap it;
    whether it was killed (``False``: it had finished first)."""
    assert server.stdout is not None and server.stdin is not None
    server.stdin.write(f"go {target}\n")
    server.stdin.flush()
    child = int(server.stdout.readline())
    time.sleep(rng.uniform(0.0, 0.5))
    try:
        os.kill(child, signal.SIGKILL)
        killed = True
    except ProcessLookupError:
        killed = False  # it had finished
    server.stdin.write("reap\n")
    server.stdin.flush()
    assert server.stdout.readline().strip() == "reaped"
    return killed


def kill_ticks(
    dsn: str, schema: str, policies: str, sent: str, store: Any, check: Callable[[], None]
) -> None:
    """Workers ticking an outbox of 600 messages, each killed (SIGKILL) at a
    random moment of its tick: in the middle of a batch's sends, or of the
    commit that records them. After each, ``check()`` passes, what was
    recorded stays recorded, and all of it was sent. A last tick, once the
    dead workers' claims ran out, sends the rest: in the end every message is
    sent and recorded as sent once, nothing stays claimed, and a message went
    out twice only when a worker died after sending it, before recording its
    batch (at most one batch, 25 messages, per death)."""
    from loopkit import MessageStatus

    ids = fill_outbox(store, 600)
    rng = random.Random(15)
    killed, recorded = 0, set[str]()
    for trial in range(13):
        now = T0 + timedelta(minutes=1 + 6 * trial)  # past the claims of the dead before
        worker = spawn(dsn, schema, policies, sent, "tick", now.isoformat(), "0.002")
        if trial == 12:  # the last: to its end
            [report] = together([worker])
            assert report["sent"] == len(ids) - len(recorded)
            break
        assert worker.stdout is not None and worker.stdin is not None
        assert worker.stdout.readline().strip() == "ready"
        worker.stdin.write("go\n")
        worker.stdin.flush()
        time.sleep(rng.uniform(0.05, 0.3))
        worker.kill()
        _, err = worker.communicate(timeout=60)
        assert worker.returncode in (0, -signal.SIGKILL), err
        killed += worker.returncode == -signal.SIGKILL
        check()
        with store.transaction() as tx:
            now_recorded = {m.id for m in tx.messages(status=MessageStatus.SENT)}
        assert recorded <= now_recorded  # what was recorded stays recorded
        assert now_recorded <= set(_lines(sent))  # and was sent
        recorded = now_recorded
    assert killed >= 3, killed
    sends = Counter(_lines(sent))
    assert sorted(sends) == ids  # everything sent
    assert sum(n - 1 for n in sends.values()) <= 25 * killed  # repeats: the dead's batches
    with store.transaction() as tx:
        assert tx.messages(status=MessageStatus.PENDING) == []
        assert {m.attempts for m in tx.messages(status=MessageStatus.SENT)} == {1}
        assert [i for i in ids if tx.claimed_by(i) is not None] == []  # nothing claimed


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().split()


if __name__ == "__main__":
    args = sys.argv[1:]
    everything = feed()
    {"work": work, "tick": tick, "crash": crash}[args[4]](args, everything)
