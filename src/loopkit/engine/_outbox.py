"""The outbox: timers and messages owed, and their delivery."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from loopkit.model import Customer, FollowUpCase, Message, MessageStatus
from loopkit.stores import LaterTimer, StoreTransaction, TimerKind

from ._context import (
    END,
    Context,
    build_later,
    build_message,
    build_timer,
    in_utc,
    log,
    plus,
    retrying,
)
from .delivery import Sender, worker_token

if TYPE_CHECKING:
    from loopkit.policies import Decision


_CLAIMS: Final = 25
"""Messages a tick claims at a time: small, so that workers share the work finely.
Their sends are recorded together, in one transaction (on SQLite a commit is a
sync to disk)."""

_RECORD_WITHIN: Final = 0.25
"""Seconds a send waits at most (about) for its record while the rest of its
batch is sent: a slow channel's sends are recorded as they go, and a crash
sends again only what went out in that time."""


class Outbox:
    """The outbox: timers and messages a case is owed, and delivering what is due
    (claimed first, sent outside any transaction, recorded while the claim holds)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def schedule(self, tx: StoreTransaction, case: FollowUpCase, decision: Decision) -> None:
        """One timer row per case: the first thing due, the rest in ``later``."""
        rows: list[LaterTimer] = []
        if decision.warn_at is not None:
            rows.append(build_later(kind=TimerKind.WARNING, due_at=decision.warn_at))
        if decision.due_at is not None:
            rows.append(build_later(kind=TimerKind.BREACH, due_at=decision.due_at))
        if decision.escalations:
            rows.extend(
                build_later(kind=TimerKind.ESCALATION, due_at=e.at, level=e.level, to=e.to)
                for e in decision.escalations
            )
        if rows:
            first = rows[0]
            tx.add_timer(
                build_timer(
                    id=case.id,
                    case_id=case.id,
                    kind=first.kind,
                    due_at=first.due_at,
                    level=first.level,
                    to=first.to,
                    later=tuple(rows[1:]),
                )
            )

    def enqueue(
        self,
        tx: StoreTransaction,
        case: FollowUpCase,
        customer: Customer | None,
        *,
        purpose: str,
        channel: str,
        now: datetime,
        not_before: datetime,
        data: dict[str, Any] | None = None,
    ) -> Message:
        address = None if customer is None else customer.contact.address_for(channel)
        info: dict[str, Any] = {"owner": case.owner}
        if case.due_at is not None:
            info["due_at"] = case.due_at.isoformat()
        if data:
            info.update(data)
        subject = body = None
        if purpose in self.ctx.playbook.templates.purposes:  # else the host renders it
            subject, body = self._render(case, customer, purpose, channel, info)
        message = build_message(
            id=f"msg-{tx.next_number('message')}",
            case_id=case.id,
            customer_id=case.customer_id,
            channel=channel,
            purpose=purpose,
            created_at=now,
            not_before=not_before,
            address=address,
            subject=subject,
            body=body,
            data=MappingProxyType(info),  # ids and ISO times loopkit made itself
        )
        tx.save_message(message)
        return message

    def _render(
        self,
        case: FollowUpCase,
        customer: Customer | None,
        purpose: str,
        channel: str,
        info: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        """The playbook's template for the purpose, in the customer's language."""
        values = {**info, "case_id": case.id, "channel": channel}
        values["name"] = None if customer is None else customer.name
        language = None if customer is None else customer.language
        rendered = self.ctx.playbook.templates.render(purpose, language=language, values=values)
        return (None, None) if rendered is None else rendered

    @cached_property
    def _sender(self) -> Sender:
        return Sender(self.ctx.retry.send_timeout)

    def _claim_time(self, now: datetime) -> datetime:
        """When a claim is made or checked: the clock's now, or the tick's if later
        (compared in UTC: in one zone, Python compares wall clocks)."""
        return max(in_utc(now), in_utc(self.ctx.clock.now()))

    def deliver_due(self, now: datetime, counts: dict[str, int]) -> None:
        """Claim due messages a few at a time, send each, record what happened:
        what a batch's sends did is recorded in the transaction that claims
        the next batch (one commit a batch)."""
        worker = worker_token()
        lease = self.ctx.retry.claim_lease
        done: list[Message] = []  # the last batch's sends, not yet recorded
        unsent: Sequence[Message] = ()  # and the messages its claim was too short for
        try:
            while True:
                until = plus(self._claim_time(now), lease)
                batch = self._settle(done, unsent, worker, claim=(now, until))
                if not batch:
                    return
                done, unsent, go_on = self._send_batch(batch, now, counts, worker, until)
                if not go_on:
                    self._settle(done, unsent, worker)
                    return
        finally:
            self._sender.stop()

    def _send_batch(
        self,
        batch: Sequence[Message],
        now: datetime,
        counts: dict[str, int],
        worker: str,
        until: datetime,
    ) -> tuple[list[Message], Sequence[Message], bool]:
        """Send a claimed batch, one message after the other: the messages as
        the sends left them (not recorded yet), those the claim was too short
        to send, and ``False`` when it was too short for the first (the tick
        then stops delivering). A slow channel's sends are recorded as they
        go: before a send, what was sent is recorded if the oldest send not
        yet recorded would otherwise wait more than :data:`_RECORD_WITHIN`
        for its record (the next send counted as long as the last)."""
        endless = until == END  # at the end of time a claim cannot run out
        margin = self.ctx.retry.send_timeout or timedelta(0)
        done: list[Message] = []
        oldest = last = 0.0
        for n, message in enumerate(batch):
            if not endless and plus(self._claim_time(now), margin) >= until:
                if n == 0:  # claiming alone took the whole lease: try next tick
                    log.warning("claims run out before a send can start: raise claim_lease")
                return done, batch[n:], n > 0
            started = time.monotonic()
            if done and started - oldest + last >= _RECORD_WITHIN:
                try:
                    self._settle(done, (), worker)
                except BaseException:  # the rest is handed back if it can be
                    self._settle((), batch[n:], worker, quietly=True)
                    raise
                done = []
                started = time.monotonic()
            try:
                done.append(self._attempt(message, now, counts))
            except BaseException:  # an interrupt: what was sent stays sent
                # The message in hand may have gone out: it keeps its claim,
                # and goes again (at least once) when the claim runs out.
                self._settle(done, batch[n + 1 :], worker, quietly=True)
                raise
            ended = time.monotonic()
            last = ended - started
            if len(done) == 1:
                oldest = ended
        return done, (), True

    def _settle(
        self,
        done: Sequence[Message],
        unsent: Sequence[Message],
        worker: str,
        *,
        claim: tuple[datetime, datetime] | None = None,
        quietly: bool = False,
    ) -> Sequence[Message]:
        """In one transaction, while our claims hold: record what the sends
        did (``done``, the messages as their sends left them), hand back the
        claimed messages not sent (``unsent``) for any worker to take, and
        with ``claim`` (now, until) claim the next batch, which it returns.
        A message saved since it was claimed (say, cancelled) or claimed by
        another worker once our claim ran out keeps what is stored, and its
        send is not recorded. With ``quietly`` (on the way out of an
        interrupt), a store error is logged, not raised: the claims then wait
        to run out, and what was sent goes again."""
        if not done and not unsent and claim is None:
            return ()
        sent = {message.id for message in done}

        def write() -> tuple[list[Message], Sequence[Message]]:
            lost = []
            with self.ctx.store.transaction() as tx:
                # in id order: two transactions lock the rows they share in one order
                mine = sorted([*done, *unsent], key=lambda m: m.id)
                holders = _claims(tx, [message.id for message in mine])
                for message in mine:
                    if holders.get(message.id) == worker:
                        tx.save_message(message)  # saving releases the claim
                    elif message.id in sent:
                        lost.append(message)
                if claim is None:
                    return lost, ()
                return lost, tx.claim_messages(claim[0], _CLAIMS, worker, claim[1])

        try:
            lost, batch = retrying(write)
        except Exception as err:
            if not quietly:
                raise
            log.warning(
                "could not record %d sends nor hand back %d claimed messages (they wait for"
                " their claims to expire): %s",
                len(done),
                len(unsent),
                type(err).__name__,
            )
            return ()
        for message in lost:
            log.warning(
                "message %s changed or was claimed by another worker during its send;"
                " this attempt (%s) is not recorded",
                message.id,
                message.last_error if message.status is not MessageStatus.SENT else "sent",
            )
        return batch

    def _attempt(self, message: Message, now: datetime, counts: dict[str, int]) -> Message:
        """Send the message once: the message as the attempt leaves it (sent,
        to be retried, or dead), not saved yet."""
        channel = self.ctx.channels.get(message.channel)
        error: BaseException | None = None
        if channel is None:
            error = LookupError(f"no channel registered as {message.channel!r}")
        else:
            try:
                self._sender.send(channel, message)
            except Exception as err:  # a failing channel never stops the others
                error = err
        if error is None:
            counts["sent"] += 1
            return attrs.evolve(
                message,
                status=MessageStatus.SENT,
                attempts=message.attempts + 1,
                sent_at=now,
                next_attempt_at=None,
            )
        updated = self.ctx.retry.after_failure(message, error, now, self.ctx.rng)
        dead = updated.status is MessageStatus.DEAD
        counts["dead_lettered" if dead else "retried"] += 1
        log.warning(
            "channel %s failed to send message %s (attempt %d): %s%s",
            message.channel,
            message.id,
            updated.attempts,
            type(error).__name__,
            "; dead-lettered" if dead else "",
        )
        return updated


def _claims(tx: StoreTransaction, message_ids: list[str]) -> Mapping[str, str | None]:
    """Who holds the claims on these messages: in one query where the store's
    transaction can (``claims``, optional: the PostgreSQL store's saves a
    round trip a message), else by ``claimed_by``, one message at a time."""
    read = getattr(tx, "claims", None)
    if read is not None:
        found: Mapping[str, str | None] = read(message_ids)
        return found
    return {message_id: tx.claimed_by(message_id) for message_id in message_ids}
