"""What the engine's parts share: the store, the hooks, the clock, the playbook,
the retry policy and the channels, with the few look-ups every part needs."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from loopkit._input.checks import shown_id
from loopkit._input.instants import check_aware
from loopkit._input.trusted import builder
from loopkit.channels import Channel
from loopkit.errors import (
    ConcurrentWriteError,
    UnknownCase,
    UnknownCustomer,
    ValidationError,
    describe,
    suggest,
)
from loopkit.model import CaseEvent, Customer, FollowUpCase, Message
from loopkit.stores import IngestRecord, LaterTimer, Store, StoreTransaction, Timer

from ._plugins import PluginHooks
from .clock import Clock
from .delivery import RetryPolicy
from .results import IngestResult

if TYPE_CHECKING:
    from loopkit.playbook import Playbook
    from loopkit.policies import FollowUpPolicy

log = logging.getLogger("loopkit")
T = TypeVar("T")

ATTEMPTS: Final = 8
"""How often a transaction that collided with another worker's is run in all."""


def begin_batch(tx: object, keys: Sequence[str], customer_ids: Sequence[str]) -> None:
    """Let a store prepare for the ingests of ``keys`` about ``customer_ids``
    in this transaction, if it can (``begin_batch``, optional: the PostgreSQL
    store locks the customers in one order and reads the keys' records in one
    query)."""
    prepare = getattr(tx, "begin_batch", None)
    if prepare is not None and keys:
        prepare(keys, customer_ids)


def retrying(action: Callable[[], T]) -> T:
    """Run ``action`` (one store transaction that calls no hook), again after a
    short jittered pause while the store answers :class:`ConcurrentWriteError`
    (a server store, when another worker wrote the same rows at once: the
    transaction was rolled back whole, so running it again is safe)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return action()
        except ConcurrentWriteError:
            if attempt == ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


# The engine's own builders for values made of already-checked parts: they skip
# the validators. Measured (bench_ingest.py --n 20000, side by side): with the
# validating constructors instead, Loop.ingest took 42 µs a response against 25 µs
# on the feed where half the answers open a case (4.5x the hand-written loop
# against 3.0x), and 25 µs against 20 µs on the realistic mix. They earn their keep.
build_event: Final = builder(CaseEvent)
build_case: Final = builder(FollowUpCase)
build_message: Final = builder(Message)
build_timer: Final = builder(Timer)
build_later: Final = builder(LaterTimer)
build_result: Final = builder(IngestResult)
build_record: Final = builder(IngestRecord)

END: Final = datetime.max.replace(tzinfo=UTC)
"""The last instant there is."""


def plus(at: datetime, delta: timedelta) -> datetime:
    """``at + delta``, or the last instant there is (never an ``OverflowError``
    at the end of time)."""
    try:
        return at + delta
    except OverflowError:
        return END


def in_utc(at: datetime) -> datetime:
    """``at`` in UTC, or the last instant there is when that lies past it."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return END


@attrs.define(eq=False)
class Context:
    """The engine's shared state: one per :class:`~loopkit.Loop`."""

    store: Store
    hooks: PluginHooks
    clock: Clock
    playbook: Playbook
    retry: RetryPolicy
    rng: random.Random
    channels: Mapping[str, Channel]

    def now(self, at: datetime | None = None) -> datetime:
        """``at`` when given, else the clock's now; checked aware either way."""
        if at is None:
            return check_aware(self.clock.now(), "clock.now()")
        return check_aware(at, "at")

    def load(self, tx: StoreTransaction, case_id: str) -> FollowUpCase:
        """The stored case, or :class:`UnknownCase`."""
        case = tx.get_case(case_id)
        if case is None:
            raise UnknownCase(
                f"case {shown_id(case_id)}: expected the id of a stored case", case_id=case_id
            )
        return case

    def customer(self, customer_id: str, given: Customer | None) -> Customer:
        """The customer given (checked against the id), or the one a
        ``loopkit_load_customer`` plugin knows; :class:`UnknownCustomer` otherwise."""
        if given is not None:
            if given.id != customer_id:
                raise ValidationError(
                    "customer.id", f"the response's customer id {customer_id!r}", describe(given.id)
                )
            return given
        found = self.hooks.load_customer(customer_id)
        if found is None:
            raise UnknownCustomer(
                f"customer {customer_id!r}: expected a customer passed to the call or found by "
                "a loopkit_load_customer plugin, found none",
                customer_id=customer_id,
            )
        return found

    def policy(self, name: object) -> FollowUpPolicy:
        """The playbook's policy called ``name``; a :class:`ValidationError`
        naming the known ones otherwise."""
        policies = self.playbook.policies
        try:
            return policies[name]  # type: ignore[index]
        except (KeyError, TypeError):
            near = suggest(name, [p.name for p in policies]) if isinstance(name, str) else None
            raise ValidationError(
                "policy",
                f"the name of a policy in the playbook {[p.name for p in policies]}",
                describe(name),
                hint=f"did you mean {near!r}?" if near else None,
            ) from None
