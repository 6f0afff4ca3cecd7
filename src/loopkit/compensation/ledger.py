"""The compensation ledger: immutable entries, and the accounting folded from
them (pure). Corrections are new entries, never edits.

Every grant is a chain of entries sharing its idempotency ``key``: a grant
within authority is a ``grant`` and a ``posting``; one above authority starts
with a ``reservation`` and ends with a ``grant`` and a ``posting`` (approved),
a ``release`` (rejected) or an ``expiry``. A ``reversal`` (its own key) takes
back a grant.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs

from loopkit._input.checks import check_id, optional, validator
from loopkit._input.choices import check_choice
from loopkit._input.instants import check_aware, instant_key
from loopkit.errors import ConflictError

from .accounts import budget_effect
from .periods import Period
from .values import Budget, Money, Offer

__all__ = [
    "ApprovalRequest",
    "EntryKind",
    "GrantStatus",
    "Ledger",
    "LedgerEntry",
    "OfferSource",
    "SourceKind",
]


class EntryKind(enum.StrEnum):
    """What a ledger entry records."""

    GRANT = "grant"
    RESERVATION = "reservation"
    POSTING = "posting"
    RELEASE = "release"
    EXPIRY = "expiry"
    REVERSAL = "reversal"


class SourceKind(enum.StrEnum):
    """Who proposed an offer: a playbook rule, a plugin, or the employee's own goodwill."""

    RULE = "rule"
    PLUGIN = "plugin"
    GOODWILL = "goodwill"


@attrs.frozen
class OfferSource:
    """Where a granted offer came from.

    >>> str(OfferSource.rule("campaign-gift")), str(OfferSource.goodwill())
    ('rule:campaign-gift', 'goodwill')
    """

    kind: SourceKind
    name: str | None = attrs.field(default=None, validator=optional(check_id))

    @classmethod
    def rule(cls, name: str) -> OfferSource:
        return cls(SourceKind.RULE, name)

    @classmethod
    def plugin(cls, name: str) -> OfferSource:
        return cls(SourceKind.PLUGIN, name)

    @classmethod
    def goodwill(cls) -> OfferSource:
        """The employee's own goodwill: no rule's offer, recorded as such."""
        return cls(SourceKind.GOODWILL)

    @classmethod
    def parse(cls, text: str) -> OfferSource:
        kind, _, name = text.partition(":")
        return cls(check_choice(SourceKind, kind, "source"), name or None)

    def __str__(self) -> str:
        return self.kind.value if self.name is None else f"{self.kind.value}:{self.name}"


class GrantStatus(enum.StrEnum):
    """Where a grant (a chain of entries under one key) stands."""

    GRANTED = "granted"
    PENDING = "pending"  # waiting for an approval; its amount is reserved
    REJECTED = "rejected"
    EXPIRED = "expired"
    REVERSED = "reversed"


_at = attrs.field(validator=validator(check_aware), eq=instant_key)
_maybe_at: Any = attrs.field(default=None, validator=optional(check_aware), eq=instant_key)


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One immutable fact in the ledger.

    ``key`` is the idempotency key of the grant it belongs to (a reversal has
    its own, and names the grant in ``reverses``); ``employee`` is who gave the
    offer (the requester), ``by`` who made this entry (the approver for an
    approved grant, ``None`` for an expiry); ``source`` is the rule or plugin
    that proposed the offer, or the employee's goodwill; ``approval`` the
    approval request's id. ``budget``, ``team`` and the period
    (``period_start``, ``period_end``) say where a priced entry is counted;
    ``expires_at`` is when a reservation lapses.
    """

    kind: EntryKind
    key: str = attrs.field(validator=validator(check_id))
    at: datetime = _at
    case_id: str = attrs.field(validator=validator(check_id))
    customer_id: str = attrs.field(validator=validator(check_id))
    employee: str = attrs.field(validator=validator(check_id))
    by: str | None = attrs.field(default=None, validator=optional(check_id))
    offer: Offer
    source: OfferSource
    amount: Money | None = None
    budget: str | None = None
    team: str | None = None
    period_start: datetime | None = _maybe_at
    period_end: datetime | None = _maybe_at
    approval: str | None = None
    expires_at: datetime | None = _maybe_at
    reverses: str | None = None

    @property
    def id(self) -> str:
        """``key:kind``: unique in a ledger."""
        return f"{self.key}:{self.kind.value}"

    @property
    def period(self) -> Period | None:
        if self.period_start is None or self.period_end is None:
            return None
        return Period(self.period_start, self.period_end)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back into an equal entry."""
        out: dict[str, Any] = {}
        for field in attrs.fields(LedgerEntry):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Money | OfferSource):
                value = str(value)
            elif isinstance(value, Offer):
                value = value.to_dict()
            elif isinstance(value, enum.Enum):
                value = value.value
            out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        """Read an entry written by :meth:`to_dict` (from loopkit's own store)."""
        kwargs = dict(data)
        kwargs["kind"] = check_choice(EntryKind, kwargs["kind"], "kind")
        kwargs["offer"] = Offer.from_dict(kwargs["offer"])
        kwargs["source"] = OfferSource.parse(kwargs["source"])
        if kwargs.get("amount") is not None:
            kwargs["amount"] = Money.parse(kwargs["amount"])
        for name in ("at", "period_start", "period_end", "expires_at"):
            if kwargs.get(name) is not None:
                kwargs[name] = datetime.fromisoformat(kwargs[name])
        return cls(**kwargs)


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """A grant above the employee's authority, waiting for (or settled by) an
    approval. Its ``amount`` is reserved in ``budget`` while it is pending.
    ``id`` is the grant's key."""

    id: str
    case_id: str
    customer_id: str
    requester: str
    offer: Offer
    source: OfferSource
    amount: Money | None
    budget: str | None
    requested_at: datetime = attrs.field(eq=instant_key)
    expires_at: datetime = attrs.field(eq=instant_key)
    status: GrantStatus = GrantStatus.PENDING
    settled_by: str | None = None
    settled_at: datetime | None = attrs.field(default=None, eq=instant_key)

    def is_open(self, at: datetime) -> bool:
        """Pending and not yet past ``expires_at`` at the instant ``at``."""
        return self.status is GrantStatus.PENDING and _utc(at) < _utc(self.expires_at)


_SETTLING = {
    EntryKind.POSTING: GrantStatus.GRANTED,
    EntryKind.RELEASE: GrantStatus.REJECTED,
    EntryKind.EXPIRY: GrantStatus.EXPIRED,
}


@attrs.frozen
class Ledger:
    """Every entry so far, and the accounting folded from them.

    Per budget and period: ``used`` is what was posted less what was reversed;
    ``reserved`` what pending approval requests hold; ``left`` the budget's
    amount less both. Entries are appended with :meth:`append`, which is
    idempotent: an entry already in the ledger (same id, same content) is
    skipped, one with the same id and other content is a
    :class:`~loopkit.ConflictError`.

    >>> from loopkit.compensation import period_of
    >>> stores = Budget(name="stores", amount=Money.parse("5000 SEK"), per="month")
    >>> at = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    >>> str(Ledger().left(stores, period_of(stores, at)))
    '5000 SEK'
    """

    entries: tuple[LedgerEntry, ...] = ()
    _ids: dict[str, LedgerEntry] = attrs.field(init=False, repr=False, eq=False)
    _keys: dict[str, list[LedgerEntry]] = attrs.field(init=False, repr=False, eq=False)
    _totals: dict[tuple[str, datetime], list[Decimal]] = attrs.field(
        init=False, repr=False, eq=False
    )
    _reversed_by: dict[str, LedgerEntry] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        for name in ("_ids", "_keys", "_totals", "_reversed_by"):
            object.__setattr__(self, name, {})
        for entry in self.entries:
            self._index(entry)

    def _index(self, entry: LedgerEntry) -> None:
        if entry.id in self._ids:
            raise ConflictError(
                f"ledger entry {entry.id!r} appears twice; expected each entry id once",
                key=entry.id,
                kind="ledger entry",
            )
        self._ids[entry.id] = entry
        self._keys.setdefault(entry.key, []).append(entry)
        if entry.kind is EntryKind.REVERSAL and entry.reverses is not None:
            self._reversed_by[entry.reverses] = entry
        effect = budget_effect(entry)
        if effect is not None:
            assert entry.budget is not None and entry.period_start is not None
            totals = self._totals.setdefault((entry.budget, _utc(entry.period_start)), [_0, _0])
            totals[0] += effect[0]
            totals[1] += effect[1]

    def append(self, entries: Iterable[LedgerEntry]) -> Ledger:
        """A ledger with ``entries`` added (those already in it are skipped)."""
        new: list[LedgerEntry] = []
        seen: dict[str, LedgerEntry] = {}
        for entry in entries:
            earlier = self._ids.get(entry.id) or seen.get(entry.id)
            if earlier is not None:
                if earlier != entry:
                    raise ConflictError(
                        f"ledger entry {entry.id!r} is already in the ledger with other "
                        "content; expected the same content for the same id",
                        key=entry.id,
                        kind="ledger entry",
                    )
                continue
            seen[entry.id] = entry
            new.append(entry)
        if not new:
            return self
        # Copy the indexes (C-speed shallow copies) and index only what is new;
        # lists and totals that change are copied first, so this ledger stays as it was.
        out = object.__new__(Ledger)
        object.__setattr__(out, "entries", (*self.entries, *new))
        object.__setattr__(out, "_ids", dict(self._ids))
        object.__setattr__(out, "_keys", dict(self._keys))
        object.__setattr__(out, "_totals", dict(self._totals))
        object.__setattr__(out, "_reversed_by", dict(self._reversed_by))
        touched_keys: set[str] = set()
        touched_totals: set[tuple[str, datetime]] = set()
        for entry in new:
            if entry.key not in touched_keys and entry.key in out._keys:
                out._keys[entry.key] = list(out._keys[entry.key])
            touched_keys.add(entry.key)
            if entry.budget is not None and entry.period_start is not None:
                slot = (entry.budget, _utc(entry.period_start))
                if slot not in touched_totals and slot in out._totals:
                    out._totals[slot] = list(out._totals[slot])
                touched_totals.add(slot)
            out._index(entry)
        return out

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    # -- accounting --------------------------------------------------------

    def used(self, budget: Budget, period: Period) -> Money:
        """What was posted in ``budget`` for ``period``, less reversals."""
        return Money(self._total(budget, period)[0], budget.amount.currency)

    def reserved(self, budget: Budget, period: Period) -> Money:
        """What pending approval requests hold in ``budget`` for ``period``."""
        return Money(self._total(budget, period)[1], budget.amount.currency)

    def left(self, budget: Budget, period: Period) -> Money:
        """The budget's amount less what is used and reserved in ``period``."""
        used, reserved = self._total(budget, period)
        return Money(budget.amount.amount - used - reserved, budget.amount.currency)

    def _total(self, budget: Budget, period: Period) -> list[Decimal]:
        return self._totals.get((budget.name, _utc(period.start)), [_0, _0])

    # -- grants and requests ----------------------------------------------

    def chain(self, key: str) -> tuple[LedgerEntry, ...]:
        """Every entry under ``key``, in the order they were made."""
        return tuple(self._keys.get(key, ()))

    def status(self, key: str) -> GrantStatus | None:
        """Where the grant under ``key`` stands, or ``None`` if there is none."""
        kinds = {entry.kind for entry in self._keys.get(key, ())}
        if not kinds or kinds == {EntryKind.REVERSAL}:
            return None
        if key in self._reversed_by:
            return GrantStatus.REVERSED
        if EntryKind.GRANT in kinds:
            return GrantStatus.GRANTED
        if EntryKind.RELEASE in kinds:
            return GrantStatus.REJECTED
        if EntryKind.EXPIRY in kinds:
            return GrantStatus.EXPIRED
        return GrantStatus.PENDING

    def reversal_of(self, key: str) -> LedgerEntry | None:
        """The entry that reversed the grant under ``key``, if any."""
        return self._reversed_by.get(key)

    def request(self, request_id: str) -> ApprovalRequest | None:
        """The approval request with this id (the grant's key), if any."""
        chain = self._keys.get(request_id, ())
        first = chain[0] if chain else None
        if first is None or first.kind is not EntryKind.RESERVATION:
            return None
        assert first.expires_at is not None
        request = ApprovalRequest(
            id=request_id,
            case_id=first.case_id,
            customer_id=first.customer_id,
            requester=first.employee,
            offer=first.offer,
            source=first.source,
            amount=first.amount,
            budget=first.budget,
            requested_at=first.at,
            expires_at=first.expires_at,
        )
        for entry in chain[1:]:
            if entry.kind in _SETTLING:
                return attrs.evolve(
                    request, status=_SETTLING[entry.kind], settled_by=entry.by, settled_at=entry.at
                )
        return request

    def pending(self) -> tuple[ApprovalRequest, ...]:
        """Every request still pending (some may be past ``expires_at``:
        :func:`~loopkit.compensation.expire` settles those)."""
        out = []
        for key, chain in self._keys.items():
            if chain[0].kind is EntryKind.RESERVATION and self.status(key) is GrantStatus.PENDING:
                found = self.request(key)
                assert found is not None
                out.append(found)
        return tuple(out)

    def grants_to(
        self, customer_id: str, source: OfferSource, *, since: datetime | None = None
    ) -> int:
        """How many offers from ``source`` the customer was granted (not
        reversed) or has pending, at or after ``since``: what
        ``max_per_customer`` counts."""
        count = 0
        for key, chain in self._keys.items():
            first = chain[0]
            if first.customer_id != customer_id or first.source != source:
                continue
            if first.kind is EntryKind.REVERSAL:
                continue
            if since is not None and _utc(first.at) < _utc(since):
                continue
            if self.status(key) in (GrantStatus.GRANTED, GrantStatus.PENDING):
                count += 1
        return count


_0 = Decimal(0)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
