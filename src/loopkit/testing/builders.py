"""Builders: valid model values with sensible defaults, so a test says only what matters.

>>> r = make_response(score=2)
>>> r.category.value, r.customer_id
('detractor', 'c-1')
"""

from __future__ import annotations

import functools
import random
import tomllib
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from loopkit.model import (
    NPS,
    ContactPoint,
    ContactPreferences,
    Customer,
    Response,
    Scale,
    Touchpoint,
)
from loopkit.playbook import Playbook, load_playbook

if TYPE_CHECKING:
    from .clock import FakeClock

__all__ = [
    "STOCKHOLM",
    "TOUCHPOINT_KINDS",
    "Builders",
    "example_playbook",
    "make_customer",
    "make_feed",
    "make_response",
    "make_touchpoint",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_WHEN = datetime(2026, 11, 20, 15, 30, tzinfo=STOCKHOLM)


def make_customer(
    id: str = "c-1",
    *,
    channels: dict[str, str] | None = None,
    quiet_hours: str | None = None,
    **fields: Any,
) -> Customer:
    """A customer in Stockholm who consented to phone and e-mail (override any field).

    ``channels`` maps channel names to addresses, in order of preference.
    """
    if channels is None:
        channels = {"phone": "+46700000000", "email": "customer@example.com"}
    fields.setdefault("timezone", "Europe/Stockholm")
    fields.setdefault(
        "contact",
        ContactPreferences(
            channels=[ContactPoint(channel=k, address=v) for k, v in channels.items()],
            quiet_hours=quiet_hours,
        ),
    )
    return Customer(id=id, **fields)


def make_touchpoint(
    kind: str = "support_contact",
    *,
    id: str = "t-1",
    channel: str = "phone",
    occurred_at: datetime | None = None,
    employee_id: str | None = "emp-7",
    **fields: Any,
) -> Touchpoint:
    """A touchpoint 40 minutes before the default answer time, served by ``emp-7``."""
    return Touchpoint(
        id=id,
        kind=kind,
        channel=channel,
        occurred_at=occurred_at or _WHEN - timedelta(minutes=40),
        employee_id=employee_id,
        **fields,
    )


def make_response(
    score: int = 3,
    *,
    id: str = "r-1",
    customer_id: str = "c-1",
    scale: Scale = NPS,
    answered_at: datetime | None = None,
    touchpoint: Touchpoint | None = None,
    kind: str = "support_contact",
    **fields: Any,
) -> Response:
    """A response answered Friday 2026-11-20 15:30 Stockholm time, about a
    touchpoint of ``kind`` (pass ``touchpoint=`` to choose it yourself)."""
    return Response(
        id=id,
        customer_id=customer_id,
        scale=scale,
        score=score,
        answered_at=answered_at or _WHEN,
        touchpoint=touchpoint or make_touchpoint(kind),
        **fields,
    )


TOUCHPOINT_KINDS: tuple[str, ...] = (  # the kinds the example policy file knows
    "support_contact",
    "purchase",
    "cancellation",
    "delivery",
    "store_visit",
)


def make_feed(
    n: int,
    *,
    seed: int = 1,
    customers: int | None = None,
    every: timedelta = timedelta(minutes=3),
    segments: Sequence[str | None] = ("gold", "silver", None),
    comments: Sequence[str | None] = (None, "Slow delivery"),
    kinds: Sequence[str] = TOUCHPOINT_KINDS,
    start: datetime | None = None,
) -> list[tuple[Response, Customer]]:
    """``n`` NPS answers, one every ``every`` from ``start`` (Friday 2026-11-20
    15:30 Stockholm time), each from one of ``customers`` customers (a third of
    ``n`` by default) about a touchpoint of one of ``kinds``, as ``(response,
    customer)`` pairs for :meth:`loopkit.Loop.ingest_many`. The same ``seed``
    gives the same feed.

    >>> feed = make_feed(3, customers=1)
    >>> [(r.id, c.id) for r, c in feed]
    [('r-0', 'c-0'), ('r-1', 'c-0'), ('r-2', 'c-0')]
    """
    rng = random.Random(seed)
    people = [
        make_customer(f"c-{i}", segment=rng.choice(segments))
        for i in range(customers or max(1, n // 3))
    ]
    first = start or _WHEN
    feed = []
    for i in range(n):
        at = first + every * i
        customer = rng.choice(people)
        response = make_response(
            rng.randint(0, 10),
            id=f"r-{i}",
            customer_id=customer.id,
            answered_at=at,
            touchpoint=make_touchpoint(rng.choice(kinds), id=f"t-{i}", occurred_at=at),
            comment=rng.choice(comments),
        )
        feed.append((response, customer))
    return feed


@functools.cache
def example_playbook() -> Playbook:
    """The bundled example playbook (the one ``loopkit demo`` runs, shipped in
    the package): five policies, two compensation rules, two calendars.
    Loaded once; a :class:`~loopkit.Playbook` is immutable.

    >>> [p.name for p in example_playbook().policies][:2]
    ['complaint-in-person', 'support-detractor-callback']
    """
    text = resources.files("loopkit").joinpath("_demo", "policies.toml").read_text("utf-8")
    return load_playbook(tomllib.loads(text))


class Builders:
    """loopkit's builders (:mod:`loopkit.testing.builders`), with the times
    taken from a clock: a response is answered at the clock's now, about a
    touchpoint 40 minutes before. Any field can still be given.

    >>> from loopkit.testing import FakeClock
    >>> build = Builders(FakeClock())  # the loopkit_builders fixture
    >>> build.response(score=2).answered_at == build.clock.now()
    True
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def customer(self, id: str = "c-1", **fields: Any) -> Customer:
        """:func:`~loopkit.testing.make_customer`."""
        return make_customer(id, **fields)

    def touchpoint(self, kind: str = "support_contact", **fields: Any) -> Touchpoint:
        """:func:`~loopkit.testing.make_touchpoint`, 40 minutes before now."""
        fields.setdefault("occurred_at", self.clock.now() - timedelta(minutes=40))
        return make_touchpoint(kind, **fields)

    def response(self, score: int = 3, **fields: Any) -> Response:
        """:func:`~loopkit.testing.make_response`, answered now (``kind=``
        names the touchpoint's kind, as for ``make_response``)."""
        at: datetime = fields.setdefault("answered_at", self.clock.now())
        if fields.get("touchpoint") is None:
            kind = fields.pop("kind", "support_contact")
            fields["touchpoint"] = self.touchpoint(kind, occurred_at=at - timedelta(minutes=40))
        return make_response(score, **fields)

    def feed(self, n: int, **options: Any) -> list[tuple[Response, Customer]]:
        """:func:`~loopkit.testing.make_feed`, starting now."""
        options.setdefault("start", self.clock.now())
        return make_feed(n, **options)
