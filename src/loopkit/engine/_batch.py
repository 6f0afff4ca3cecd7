"""Ingesting many responses at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from loopkit.errors import ConflictError, LoopkitError, ValidationError, describe
from loopkit.model import Customer, FollowUpCase, Response
from loopkit.stores import IngestOutcome

from ._context import Context, begin_batch, retrying
from ._ingest import Ingest
from .results import BatchItem, IngestResult

if TYPE_CHECKING:
    pass


def _malformed_item(item: object, index: int) -> BatchItem | None:
    """A :meth:`Loop.ingest_many` item's error when it is not a ``(Response,
    Customer | None)`` pair (its values are named by their type only: a dict
    not read with ``from_dict`` may hold personal data)."""
    if isinstance(item, tuple | list) and len(item) == 2:
        response, customer = item
        if isinstance(response, Response):
            if customer is None or isinstance(customer, Customer):
                return None
            error = ValidationError(
                f"items[{index}][1]",
                "a Customer or None (read one with Customer.from_dict)",
                f"a {type(customer).__name__}",
            )
            return BatchItem(response_id=response.id, error=error)
        error = ValidationError(
            f"items[{index}][0]",
            "a Response (read one with Response.from_dict)",
            f"a {type(response).__name__}",
        )
    else:
        error = ValidationError(
            f"items[{index}]", "a (response, customer) pair", f"a {type(item).__name__}"
        )
    return BatchItem(response_id="", error=error)


class BatchIngest:
    """Ingest many responses, a batch per store transaction, a savepoint per item."""

    def __init__(self, ctx: Context, ingest: Ingest) -> None:
        self.ctx = ctx
        self.ingest = ingest

    def ingest_many(
        self, items: Iterable[tuple[Response, Customer | None]], *, batch_size: int = 500
    ) -> list[BatchItem]:
        """See :meth:`loopkit.Loop.ingest_many`."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValidationError("batch_size", "an integer of at least 1", describe(batch_size))
        done: list[BatchItem | None] = []
        batch: list[tuple[Response, Customer | None]] = []
        slots: list[int] = []  # where each item of the batch goes in ``done``

        def run_batch() -> None:
            for slot, answer in zip(slots, self._ingest_batch(batch), strict=True):
                done[slot] = answer
            batch.clear()
            slots.clear()

        for index, item in enumerate(items):
            malformed = _malformed_item(item, index)
            if malformed is not None:  # answered in its place, never written
                done.append(malformed)
                continue
            slots.append(len(done))
            done.append(None)
            batch.append(item)
            if len(batch) == batch_size:
                run_batch()
        if batch:
            run_batch()
        return done  # type: ignore[return-value]  # every slot is filled now

    def _ingest_batch(self, batch: Sequence[tuple[Response, Customer | None]]) -> list[BatchItem]:
        """One batch of :meth:`ingest_many`: hooks first, then one transaction."""
        answers: list[BatchItem | None] = [None] * len(batch)
        # 1. Outside the transaction: replays of the responses that need
        # plugins (so a replay calls none), then the plugins, per item.
        hooked = [i for i, (r, c) in enumerate(batch) if c is None or not r.scale.is_builtin]
        if hooked:
            with self.ctx.store.transaction() as tx:
                begin_batch(tx, [batch[i][0].id for i in hooked], ())
                for i in hooked:
                    response = batch[i][0]
                    earlier = tx.get_ingest(response.id)
                    if earlier is None:
                        continue
                    try:
                        answers[i] = BatchItem(
                            response_id=response.id,
                            result=self.ingest.replay(tx, earlier, response),
                        )
                    except ConflictError as err:
                        answers[i] = BatchItem(response_id=response.id, error=err)
        todo: list[tuple[int, Response, Customer | None]] = []  # None: wait for the batch
        pending: set[str] = set()  # ids an earlier item of the batch may write
        for i, (response, given) in enumerate(batch):
            if answers[i] is not None:
                continue
            try:
                if given is None or not response.scale.is_builtin:
                    if response.id in pending:  # after the earlier one: a replay or a conflict
                        todo.append((i, response, None))
                        continue
                    response, customer = self.ingest.resolve(response, given)
                else:
                    customer = self.ctx.customer(response.customer_id, given)
            except LoopkitError as err:  # one item's failure never stops the others
                # (a plugin's own exception reaches here as the PluginError the
                # plugin wrapper made of it, naming the hook)
                answers[i] = BatchItem(response_id=response.id, error=err)
                continue
            pending.add(response.id)
            todo.append((i, response, customer))
        # 2. One transaction for the batch, one savepoint per item in it: an
        # item that fails undoes its own writes only, and costs about what a
        # good one does.
        done, opened, waiting = retrying(lambda: self._write_batch(todo, answers))
        for i, outcome in done:
            answers[i] = (
                BatchItem(response_id=batch[i][0].id, result=outcome)
                if isinstance(outcome, IngestResult)
                else BatchItem(response_id=batch[i][0].id, error=outcome)
            )
        for case in opened:
            self.ctx.hooks.case_opened(case)
        for i in waiting:  # rare: after the commit, as the next call to ingest would
            [answers[i]] = self._ingest_batch([batch[i]])
        return answers  # type: ignore[return-value]  # every slot is filled now

    def _write_batch(
        self,
        todo: Sequence[tuple[int, Response, Customer | None]],
        answers: Sequence[BatchItem | None],
    ) -> tuple[list[tuple[int, IngestResult | LoopkitError]], list[FollowUpCase], list[int]]:
        """The transaction of one batch: each item not answered yet is a replay,
        a conflict or new (then :meth:`_apply`, in a savepoint of its own).
        Returns what each item did, the cases opened, and the items to ingest
        after the commit."""
        done: list[tuple[int, IngestResult | LoopkitError]] = []
        opened: list[FollowUpCase] = []
        waiting: list[int] = []
        with self.ctx.store.transaction() as tx:
            new = [response for i, response, _ in todo if answers[i] is None]
            begin_batch(tx, [r.id for r in new], [r.customer_id for r in new])
            # One look-up for the batch; an id an earlier item of the batch
            # wrote (or tried to) is looked up again.
            stored = set(tx.stored_ingests([r.id for r in new]))
            for i, response, customer in todo:
                if answers[i] is not None:
                    continue
                earlier = tx.get_ingest(response.id) if response.id in stored else None
                stored.add(response.id)
                if earlier is not None:
                    try:
                        done.append((i, self.ingest.replay(tx, earlier, response)))
                    except ConflictError as err:  # raised before any write
                        done.append((i, err))
                    continue
                if customer is None:  # the earlier item with its id failed
                    waiting.append(i)
                    continue
                try:
                    now = self.ctx.now()
                    with tx.savepoint():
                        result = self.ingest.apply(tx, response, customer, now)
                except LoopkitError as err:  # its writes are undone, the batch goes on
                    # without the traceback, whose frames would keep the whole
                    # batch's values alive as long as the caller keeps the answer
                    done.append((i, err.with_traceback(None)))
                    continue
                done.append((i, result))
                if result.case is not None and result.outcome is IngestOutcome.OPENED:
                    opened.append(result.case)
        return done, opened, waiting
