"""Hypothesis strategies for the plain values loopkit's model is made of: time
zones (DST-heavy ones drawn often), aware datetimes, ids, names, free text and
free attributes."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Final

from hypothesis import strategies as st

from loopkit import (
    MAX_COMMENT_LENGTH,
)
from loopkit._input.checks import MAX_ID_LENGTH, check_timezone, looks_personal
from loopkit.errors import ValidationError

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
