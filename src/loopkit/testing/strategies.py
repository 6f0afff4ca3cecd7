"""Hypothesis strategies for every loopkit model value.

Use them to property-test your own code with realistic, valid loopkit values:
customers in any IANA time zone (DST-heavy ones drawn often), responses on
built-in and custom scales, follow-up cases reached only through legal
transitions, and so on. Every value they produce passes loopkit's own
validation and survives the ``to_dict``/``from_dict`` round trip.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_, which is
not a runtime dependency of loopkit: install the ``dev`` extra
(``pip install 'loopkit[dev]'``) or hypothesis itself. Nothing else in loopkit
imports it.

>>> from hypothesis import given
>>> import loopkit
>>> from loopkit.testing.strategies import responses
>>> @given(responses(scale=loopkit.NPS))
... def test_scores_are_classified(response):
...     assert response.category in set(loopkit.Category)
>>> test_scores_are_classified()
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from hypothesis import strategies as st

from loopkit import (
    MAX_COMMENT_LENGTH,
    CaseEvent,
    CaseOrigin,
    CaseState,
    ContactPoint,
    ContactPreferences,
    Customer,
    DailyWindow,
    FollowUpCase,
    Message,
    MessageStatus,
    Promise,
    PromiseStatus,
    Response,
    Scale,
    SurveyKind,
    Touchpoint,
    Transition,
)
from loopkit._input.checks import MAX_ID_LENGTH, check_timezone, looks_personal
from loopkit.errors import ValidationError
from loopkit.model import CHANNELS, TOUCHPOINT_KINDS

__all__ = [
    "DST_HEAVY_ZONES",
    "attributes",
    "aware_datetimes",
    "case_events",
    "cases",
    "comments",
    "contact_points",
    "contact_preferences",
    "custom_scales",
    "customers",
    "daily_windows",
    "ids",
    "messages",
    "promises",
    "responses",
    "scales",
    "scores",
    "slugs",
    "timezone_names",
    "timezones",
    "touchpoints",
]

DST_HEAVY_ZONES: Final = (
    "Europe/Stockholm",
    "Europe/London",
    "Europe/Dublin",  # negative DST in the tz database
    "America/New_York",
    "America/Santiago",
    "America/Havana",  # the fall-back hour starts at 01:00
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # DST suspended every Ramadan
    "Asia/Tehran",
    "Antarctica/Troll",  # a 2-hour DST shift
)
"""Zones with frequent, odd or large daylight-saving changes, drawn often by
:func:`timezone_names` and :func:`timezones`."""

_CONTROL_FREE: Final = st.characters(blacklist_categories=("Cc", "Cs"))
_TEXT: Final = st.characters(codec="utf-8", blacklist_characters="\x00")
"""Any character a store keeps: no lone surrogate, no NUL."""


@lru_cache(maxsize=1)
def _zone_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DST-heavy zones, all zones) that this machine's zoneinfo can load."""

    def loads(name: str) -> bool:  # and is a real zone key (not ``localtime``)
        try:
            check_timezone(name, "timezone")
        except ValidationError:
            return False
        return True

    every = tuple(sorted(n for n in zoneinfo.available_timezones() if loads(n)))
    heavy = tuple(n for n in DST_HEAVY_ZONES if loads(n)) or ("UTC",)
    return heavy, every or heavy


def timezone_names() -> st.SearchStrategy[str]:
    """IANA zone names from ``zoneinfo.available_timezones()``, with the
    :data:`DST_HEAVY_ZONES` drawn about half of the time."""
    heavy, every = _zone_names()
    return st.one_of(st.sampled_from(heavy), st.sampled_from(every))


def timezones() -> st.SearchStrategy[tzinfo]:
    """``ZoneInfo`` zones (see :func:`timezone_names`), UTC, and fixed offsets
    (whole minutes from -23:59 to +23:59)."""
    return st.one_of(
        timezone_names().map(zoneinfo.ZoneInfo),
        st.just(UTC),
        st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
    )


def aware_datetimes(
    min_value: datetime = datetime(1900, 1, 1),
    max_value: datetime = datetime(2100, 12, 31),
    *,
    zones: st.SearchStrategy[tzinfo] | None = None,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes between two naive wall-clock bounds.

    Times inside a DST gap or fold are included on purpose: they are where
    code that compares or converts datetimes usually goes wrong.
    """
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=zones if zones is not None else timezones(),
        allow_imaginary=True,
    )


def ids(*, max_size: int = MAX_ID_LENGTH) -> st.SearchStrategy[str]:
    """Valid ids: 1 to ``max_size`` characters, not all whitespace, no control
    characters, nothing that looks like an e-mail address or phone number;
    plain ones such as ``"c-42"`` are drawn often."""
    plain = st.from_regex(r"[a-z]{1,3}-[0-9]{1,6}", fullmatch=True)
    wild = st.text(_CONTROL_FREE, min_size=1, max_size=max_size).filter(
        lambda s: bool(s.strip()) and not looks_personal(s)
    )
    return st.one_of(plain, wild)


def slugs(*, known: frozenset[str] = frozenset()) -> st.SearchStrategy[str]:
    """Lowercase names (kinds, channels, sources): one of ``known`` or a custom one."""
    custom = st.from_regex(r"[a-z][a-z0-9_\-]{0,20}", fullmatch=True)
    if not known:
        return custom
    return st.one_of(st.sampled_from(sorted(known)), custom)


def comments(*, max_size: int = 300) -> st.SearchStrategy[str]:
    """Free text as customers write it (any characters but surrogates); never
    longer than :data:`loopkit.MAX_COMMENT_LENGTH`."""
    size = min(max_size, MAX_COMMENT_LENGTH)
    return st.text(_TEXT, max_size=size)


_SCALARS: Final = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_CONTROL_FREE, max_size=20),
)


def attributes() -> st.SearchStrategy[dict[str, Any]]:
    """Free attributes: string keys to JSON scalars (finite numbers) or lists of them."""
    return st.dictionaries(
        st.text(_CONTROL_FREE, min_size=1, max_size=12),
        st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)),
        max_size=4,
    )


def daily_windows() -> st.SearchStrategy[DailyWindow]:
    """Daily windows, including ones that cross midnight and ones ending at 24:00."""
    return st.integers(0, 1439).flatmap(
        lambda start: (
            st.integers(0, 1439)
            .map(lambda end: end if end != start else 1440)
            .map(lambda end: DailyWindow(start=start, end=end))
        )
    )


def contact_points() -> st.SearchStrategy[ContactPoint]:
    """A consented channel with an address (e-mail, phone, or any text)."""
    address = st.one_of(
        st.emails(),
        st.from_regex(r"\+[1-9][0-9]{6,13}", fullmatch=True),
        st.text(_TEXT, min_size=1, max_size=320).filter(lambda s: bool(s.strip())),
    )
    return st.builds(ContactPoint, channel=slugs(known=CHANNELS), address=address)


def contact_preferences() -> st.SearchStrategy[ContactPreferences]:
    return st.builds(
        ContactPreferences,
        channels=st.lists(contact_points(), max_size=3).map(tuple),
        quiet_hours=st.none() | daily_windows(),
        preferred_window=st.none() | daily_windows(),
        surveys_opt_out=st.booleans(),
    )


_LABELS: Final = st.text(_CONTROL_FREE, min_size=1, max_size=100).filter(
    lambda s: bool(s.strip()) and "@" not in s
)
_LANGUAGES: Final = st.one_of(
    st.sampled_from(["sv", "sv-SE", "en", "en-GB", "nb-NO", "fi", "de-CH", "zh-Hant-TW"]),
    st.from_regex(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8}){0,2}", fullmatch=True),
)


def customers() -> st.SearchStrategy[Customer]:
    """Customers in any known time zone, with or without the optional fields."""
    return st.builds(
        Customer,
        id=ids(),
        timezone=timezone_names(),
        segment=st.none() | _LABELS,
        region=st.none() | _LABELS,
        value=st.none()
        | st.decimals(allow_nan=False, allow_infinity=False)
        | st.integers(-(10**9), 10**9).map(Decimal),
        language=st.none() | _LANGUAGES,
        name=st.none() | st.text(_TEXT, max_size=200),
        contact=contact_preferences(),
        attributes=attributes(),
    )


def touchpoints() -> st.SearchStrategy[Touchpoint]:
    return st.builds(
        Touchpoint,
        id=ids(),
        kind=slugs(known=TOUCHPOINT_KINDS),
        channel=slugs(known=CHANNELS),
        occurred_at=aware_datetimes(),
        employee_id=st.none() | ids(),
        reference=st.none() | ids(),
        attributes=attributes(),
    )


@st.composite
def custom_scales(draw: st.DrawFn) -> Scale:
    """Valid user-defined scales: three contiguous, non-empty bands covering
    minimum..maximum, in either direction."""
    low = draw(st.integers(-100, 100))
    sizes = [draw(st.integers(1, 5)) for _ in range(3)]
    bands: list[tuple[int, int]] = []
    start = low
    for size in sizes:
        bands.append((start, start + size - 1))
        start += size
    higher_is_better = draw(st.booleans())
    detractor, passive, promoter = bands if higher_is_better else bands[::-1]
    return Scale(
        name=draw(slugs()),
        minimum=low,
        maximum=start - 1,
        detractor=detractor,
        passive=passive,
        promoter=promoter,
        higher_is_better=higher_is_better,
    )


def scales() -> st.SearchStrategy[Scale]:
    """The built-in scales (NPS, CSAT, CES5, CES7) and valid custom ones."""
    return st.one_of(st.sampled_from(sorted(Scale.BUILTIN.values(), key=str)), custom_scales())


def scores(scale: Scale) -> st.SearchStrategy[int]:
    """Every valid score on ``scale``."""
    return st.integers(scale.minimum, scale.maximum)


def responses(scale: Scale | None = None) -> st.SearchStrategy[Response]:
    """Responses on ``scale`` (or on any scale from :func:`scales`)."""
    chosen: st.SearchStrategy[Scale] = st.just(scale) if scale is not None else scales()
    return chosen.flatmap(
        lambda s: st.builds(
            Response,
            id=ids(),
            customer_id=ids(),
            score=scores(s),
            answered_at=aware_datetimes(),
            scale=st.just(s),
            touchpoint=st.none() | touchpoints(),
            comment=st.none() | comments(),
            survey=st.sampled_from(SurveyKind),
            source=st.none() | slugs(known=frozenset({"sms_survey", "email_survey", "employee"})),
        )
    )


_EVENT_KINDS: Final = frozenset({*(t.value for t in Transition), "opened", "note", "step"})


def case_events() -> st.SearchStrategy[CaseEvent]:
    """Single log entries, with any kind, note and details."""
    return st.builds(
        CaseEvent,
        at=aware_datetimes(),
        actor=ids(),
        kind=slugs(known=_EVENT_KINDS),
        note=st.none() | comments(),
        details=attributes(),
    )


_STEPS: Final = ("apology", "callback", "refund_offer")


@st.composite
def cases(draw: st.DrawFn, *, max_moves: int = 12) -> FollowUpCase:
    """Follow-up cases reached from :meth:`FollowUpCase.open` through up to
    ``max_moves`` legal moves (transitions, steps, notes), in time order."""
    zone = draw(timezones())
    opened = draw(aware_datetimes(zones=st.just(zone)))
    case = FollowUpCase.open(
        id=draw(ids()),
        customer_id=draw(ids()),
        at=opened,
        by=draw(ids()),
        note=draw(st.none() | comments()),
        origin=draw(st.sampled_from(CaseOrigin)),
        policy=draw(st.none() | ids()),
        topic=draw(st.none() | ids()),
        owner=draw(st.none() | ids()),
        channel=draw(st.none() | slugs(known=CHANNELS)),
        due_at=draw(st.none() | aware_datetimes()),
        response_ids=draw(st.lists(ids(), max_size=3)),
        required_steps=draw(st.frozensets(st.sampled_from(_STEPS), max_size=2)),
    )
    # Move forward in real time (UTC), then show each instant in the case's zone.
    instant = opened.astimezone(UTC)
    for _ in range(draw(st.integers(0, max_moves))):
        instant += draw(st.timedeltas(timedelta(0), timedelta(days=3)))
        at = instant.astimezone(zone)
        by = draw(ids())
        note = draw(st.none() | comments(max_size=40))
        moves: list[str] = [t.value for t in FollowUpCase.allowed_from(case.state)]
        if case.missing_steps and Transition.RESOLVE.value in moves:
            moves.remove(Transition.RESOLVE.value)
        if case.state is not CaseState.CLOSED:
            moves.append("step")
        moves.append("note")
        move = draw(st.sampled_from(moves))
        if move == "note":
            case = case.add_note(note or "-", at=at, by=by)
        elif move == "step":
            step = draw(st.sampled_from(sorted(case.missing_steps) or _STEPS))
            case = case.complete_step(step, at=at, by=by, note=note)
        elif move == Transition.ESCALATE.value:
            case = case.escalate(at=at, by=by, to=draw(st.none() | ids()), note=note)
        else:
            case = case.apply(move, at=at, by=by, note=note)
    return case


_PROMISE_KINDS: Final = frozenset({"call_back", "send_offer", "send_return_label"})


def promises() -> st.SearchStrategy[Promise]:
    """Promises in any state, made and due at any times (settled ones with a time)."""
    return st.sampled_from(PromiseStatus).flatmap(
        lambda status: st.builds(
            Promise,
            id=ids(),
            case_id=ids(),
            customer_id=ids(),
            kind=slugs(known=_PROMISE_KINDS),
            made_by=ids(),
            made_at=aware_datetimes(),
            due_at=aware_datetimes(),
            status=st.just(status),
            settled_at=st.none()
            if status is PromiseStatus.PENDING
            else aware_datetimes() | st.none(),
        )
    )


_PURPOSES: Final = frozenset({"follow_up", "apology", "escalation"})


def messages() -> st.SearchStrategy[Message]:
    """Outbox messages in any state: pending, retried, sent or dead."""
    return st.builds(
        Message,
        id=ids(),
        case_id=ids(),
        customer_id=ids(),
        channel=slugs(known=CHANNELS),
        purpose=slugs(known=_PURPOSES),
        created_at=aware_datetimes(),
        not_before=aware_datetimes(),
        address=st.none() | st.text(_CONTROL_FREE, min_size=1, max_size=80),
        data=attributes(),
        status=st.sampled_from(MessageStatus),
        attempts=st.integers(0, 20),
        next_attempt_at=st.none() | aware_datetimes(),
        last_error=st.none() | st.sampled_from(["DeliveryError", "TimeoutError", "LookupError"]),
        sent_at=st.none() | aware_datetimes(),
    )
