"""The store protocol every backend implements (in-memory, SQLite, PostgreSQL, yours).

All access goes through a transaction: ``with store.transaction() as tx: ...``.
Everything written inside one transaction becomes visible together when the
block ends normally, and none of it when it raises. Backends must pass the
shared conformance suite, :class:`loopkit.testing.StoreContract`.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from loopkit.compensation import LedgerEntry
from loopkit.model import Customer, Erasure, FollowUpCase, Message, MessageStatus, Promise
from loopkit.outcomes import SystemicIssue

from .records import IngestRecord, Timer

__all__ = ["Store", "StoreTransaction"]


@runtime_checkable
class StoreTransaction(Protocol):
    """The operations available inside one store transaction.

    Values go in and come out as loopkit's immutable model types; a backend
    may serialise them with ``to_dict``/``from_dict``. "Save" means insert or
    replace by id. Lists are returned in a stable order (by time, then id).
    """

    def next_number(self, sequence: str) -> int:
        """The next number of a named sequence, starting at 1, never reused (a
        failed transaction may leave a gap, as database sequences do)."""
        ...

    def savepoint(self) -> AbstractContextManager[object]:
        """A block inside this transaction whose writes are undone when it
        raises (the error goes on, the transaction's other writes stay):
        ``with tx.savepoint(): ...``. Savepoints nest. A sequence number
        taken inside a block that failed may be skipped. The engine wraps each
        response of :meth:`~loopkit.Loop.ingest_many` in one, so a failing item
        undoes its own writes only."""
        ...

    # responses and touchpoint signals
    def get_ingest(self, response_id: str) -> IngestRecord | None:
        """The record stored under a key (:attr:`IngestRecord.key`): a response
        id, or ``touchpoint:<id>`` for a touchpoint signal
        (:func:`~loopkit.stores.signal_key`)."""
        ...

    def stored_ingests(self, keys: Sequence[str]) -> Set[str]:
        """Which of these keys have a record stored: one look-up for a whole
        batch (:meth:`~loopkit.Loop.ingest_many` reads the records of these
        only, to replay them)."""
        ...

    def add_ingest(self, record: IngestRecord) -> None:
        """Store a new record under ``record.key``; a second record with the
        same key raises :class:`~loopkit.ConflictError`."""
        ...

    def ingests(self, customer_id: str | None = None) -> Sequence[IngestRecord]:
        """Records ordered by ``ingested_at`` then key, optionally of one
        customer (``record.customer_id``); signals included."""
        ...

    # cases
    def get_case(self, case_id: str) -> FollowUpCase | None: ...
    def save_case(self, case: FollowUpCase) -> None: ...
    def find_unclosed_case(self, customer_id: str, topic: str) -> FollowUpCase | None:
        """The customer's case on ``topic`` that is not closed, if any."""
        ...

    def cases(self, customer_id: str | None = None) -> Sequence[FollowUpCase]:
        """Cases ordered by ``opened_at`` then id, optionally of one customer."""
        ...

    # timers
    def add_timer(self, timer: Timer) -> None: ...
    def due_timers(self, now: datetime, limit: int) -> Sequence[Timer]:
        """Timers with ``due_at <= now``, earliest first."""
        ...

    def delete_timer(self, timer_id: str) -> None: ...
    def delete_timers(self, case_id: str) -> None: ...
    def timers(self, case_id: str) -> Sequence[Timer]: ...

    # outbox
    def save_message(self, message: Message) -> None:
        """Save a message; a claim on it (see :meth:`claim_messages`) is released."""
        ...

    def get_message(self, message_id: str) -> Message | None: ...
    def due_messages(self, now: datetime, limit: int) -> Sequence[Message]:
        """Pending messages whose next attempt (or ``not_before``) is due, earliest
        first, claimed or not (this only reads; :meth:`claim_messages` takes)."""
        ...

    def messages(
        self, case_id: str | None = None, status: MessageStatus | None = None
    ) -> Sequence[Message]: ...

    def claim_messages(
        self, now: datetime, limit: int, worker: str, until: datetime
    ) -> Sequence[Message]:
        """Claim up to ``limit`` due messages for ``worker``, earliest first.

        A message may be claimed when it is pending, due by ``now`` (as in
        :meth:`due_messages`) and either not claimed or claimed only until
        ``now`` or earlier (the claim expired: its worker died or gave up).
        Each message returned is marked claimed by ``worker`` until
        ``until``, in this transaction. Claims are what keep two workers from
        sending the same message: the claim must be atomic with respect to
        other transactions (SQLite's ``BEGIN IMMEDIATE`` does it; a server
        database takes row locks, e.g. ``FOR UPDATE SKIP LOCKED``).
        """
        ...

    def claimed_by(self, message_id: str) -> str | None:
        """The worker holding the claim on a message, expired or not; ``None``
        when it is not claimed. :meth:`save_message` releases any claim, so a
        worker that still holds its claim knows nobody wrote the message since."""
        ...

    # promises
    def save_promise(self, promise: Promise) -> None: ...
    def get_promise(self, promise_id: str) -> Promise | None: ...
    def due_promises(self, now: datetime, limit: int) -> Sequence[Promise]:
        """Pending promises with ``due_at <= now``, earliest first."""
        ...

    def promises(self, case_id: str | None = None) -> Sequence[Promise]: ...

    # customers the engine must reach later (recovery after a broken promise)
    def save_customer(self, customer: Customer) -> None:
        """Keep the latest copy of a customer a case was opened for (personal
        data: contact details, quiet hours), replacing an earlier copy."""
        ...

    def get_customer(self, customer_id: str) -> Customer | None: ...

    # the survey-flow guard
    def set_survey_stop(self, customer_id: str, case_id: str) -> None:
        """Record what stopped automated surveys to this customer (replacing
        what did before): an opaque key the engine reads back, such as a case
        id."""
        ...

    def survey_stop(self, customer_id: str) -> str | None:
        """The key :meth:`set_survey_stop` recorded for this customer, if any."""
        ...

    def clear_survey_stop(self, customer_id: str) -> None: ...

    def add_survey_invitation(self, customer_id: str, at: datetime) -> None: ...
    def survey_invitations(self, customer_id: str) -> Sequence[datetime]:
        """When this customer was invited to surveys, oldest first."""
        ...

    # erasure of personal data (GDPR art. 17) and its record
    def erase_ingest(self, record: IngestRecord) -> None:
        """Replace the stored ingest record with the same key by ``record``, its
        erased copy (see :func:`loopkit.model.erased_response`), leaving no
        trace of the old content in the store; raises
        :class:`~loopkit.ConflictError` when no record has that key."""
        ...

    def add_erasure(self, erasure: Erasure) -> None:
        """Record that personal data was erased. A backend that keeps old
        content around (a write-ahead log, free pages) must make sure the
        erased content is gone once the transaction commits."""
        ...

    def erasures(self, customer_id: str | None = None) -> Sequence[Erasure]:
        """The erasures recorded (of one customer), oldest first."""
        ...

    # -- compensation: the ledger --------------------------------------------------
    # Entries are immutable facts (loopkit.compensation.LedgerEntry); the store
    # also keeps, in the same transaction, each budget period's running totals
    # and the reservations still waiting for an approval, so that a grant is
    # checked and written without reading the whole ledger.

    def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Append ``entries`` (in order) and update, with
        :func:`~loopkit.compensation.budget_effect`, the totals of the budget
        periods they count in. A reservation is open from when it is added
        until an entry of another kind under its key (a grant, a release, an
        expiry) settles it. An entry whose id (``key:kind``) is stored already
        raises :class:`~loopkit.ConflictError`: the ledger is never edited."""
        ...

    def ledger_entries(
        self,
        *,
        key: str | None = None,
        case_id: str | None = None,
        customer_id: str | None = None,
    ) -> Sequence[LedgerEntry]:
        """The entries in the order they were added: all, or those with the
        given ``key``, ``case_id`` and ``customer_id`` (each filter optional)."""
        ...

    def budget_use(self, budget: str, period_start: datetime) -> tuple[Decimal, Decimal]:
        """``(used, reserved)`` of a budget in the period starting at the
        instant ``period_start`` (any offset: compared as an instant); zeros
        for a period with no entries."""
        ...

    def open_reservations(
        self, due_by: datetime | None = None, limit: int | None = None
    ) -> Sequence[LedgerEntry]:
        """Reservations not yet settled, earliest ``expires_at`` first (then by
        key): all of them, or those expiring at or before ``due_by``, at most
        ``limit``."""
        ...

    # -- outcomes: systemic issues and the re-survey's bookkeeping ---------------
    # (the re-survey's own times are timers of kinds ``resurvey`` and
    # ``answer_window``, keyed ``resurvey:<case id>``)
    def get_issue(self, cause: str) -> SystemicIssue | None:
        """The issue counted for a root cause, if any."""
        ...

    def save_issue(self, issue: SystemicIssue) -> None:
        """Save an issue, replacing the one with the same ``cause``."""
        ...

    def issues(self) -> Sequence[SystemicIssue]:
        """Every issue, ordered by ``first_seen`` then ``cause``."""
        ...

    def set_recovery_watch(self, customer_id: str, case_id: str) -> None:
        """Record the customer's closed case that waits for their next answer
        (to learn whether they were won back), replacing any earlier one."""
        ...

    def recovery_watch(self, customer_id: str) -> str | None:
        """The case :meth:`set_recovery_watch` recorded for this customer, if any."""
        ...

    def clear_recovery_watch(self, customer_id: str) -> None: ...


# -- optional transaction methods (sqlite-batch) ----------------------------------
# Not part of the protocol: the engine calls them only when a store's
# transaction has them (``getattr``), so a third-party store need not.
#
# ``begin_batch(keys, customer_ids) -> None``: the engine is about to ingest
#     ``keys`` about ``customer_ids`` in this transaction; a store may read
#     what those ingests look up in one query per table (the PostgreSQL store
#     also locks the customers, the SQLite store caches their open cases,
#     survey stops and recovery watches). Every later read must still answer
#     as if it went to the database.
# ``open_case_policies() -> Mapping[tuple[str, str | None], int]``: how many
#     unclosed cases each ``(policy, topic)`` has (cases without a policy left
#     out). Read once when a Loop is built, to refuse a playbook that would
#     strand them (:class:`~loopkit.IncompatiblePlaybook`); keep it one query.
# ``claims(message_ids) -> Mapping[str, str]``: the workers holding claims
#     (expired or not) on those of ``message_ids`` that have one, as
#     ``claimed_by`` answers for each, in one query; a server store locks the
#     rows as ``claimed_by`` does, in id order. The engine reads a batch's
#     claims with it before it records what the sends did.


@runtime_checkable
class Store(Protocol):
    """A place the loop keeps its state. One store per worker process is fine;
    backends that allow several workers must make transactions serialisable."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def close(self) -> None: ...
