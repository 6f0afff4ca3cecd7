"""Hypothesis strategies for what the loop is fed: customers with their contact
preferences, touchpoints, scales (built-in and custom) and responses on them."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from loopkit import (
    ContactPoint,
    ContactPreferences,
    Customer,
    DailyWindow,
    Response,
    Scale,
    SurveyKind,
    Touchpoint,
)
from loopkit.model import CHANNELS, TOUCHPOINT_KINDS

from ._strategies_basics import (
    _CONTROL_FREE,
    _TEXT,
    attributes,
    aware_datetimes,
    comments,
    ids,
    slugs,
    timezone_names,
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
