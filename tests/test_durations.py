"""Durations as written in policy files: parse_duration and format_duration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopkit.businesstime import format_duration, parse_duration
from loopkit.errors import BusinessTimeError, ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h15m", timedelta(hours=2, minutes=15)),
        ("30d", timedelta(days=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d2h3m", timedelta(days=1, hours=2, minutes=3)),
        ("0m", timedelta(0)),
        ("-4h", timedelta(hours=-4)),
        ("-1h30m", -timedelta(hours=1, minutes=30)),
        ("25h", timedelta(hours=25)),
    ],
)
def test_policy_file_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        "4",
        "h",
        "1.5h",
        "4 h",
        "1h 30m",
        "30m1h",
        "4H",
        "1h1h",
        "4hours",
        "+4h",
        "PT4H",
        "1s",
        "--4h",
        "4h-",
        "d",
        "1e3m",
        "½h",
        "٣h",
        "99999999999999m",
    ],
)
def test_anything_else_is_refused_quoting_the_text(text: str) -> None:
    with pytest.raises(BusinessTimeError) as info:
        parse_duration(text, "policies[0].deadline.within")
    err = info.value
    assert isinstance(err, ValidationError)
    assert err.path == "policies[0].deadline.within"
    assert repr(text)[:20].rstrip("'") in str(err)
    assert "policies[0].deadline.within: expected a duration" in str(err)


@pytest.mark.parametrize("value", [None, 4, 4.0, timedelta(hours=4), b"4h"])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(BusinessTimeError, match=r"^duration: expected a duration"):
        parse_duration(value)


def test_whitespace_around_is_tolerated() -> None:
    assert parse_duration(" 4h ") == timedelta(hours=4)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=4), "4h"),
        (timedelta(minutes=45), "45m"),
        (timedelta(days=30), "30d"),
        (timedelta(hours=36), "36h"),
        (timedelta(hours=24), "1d"),
        (timedelta(0), "0m"),
        (-timedelta(minutes=90), "-1h30m"),
    ],
)
def test_format_gives_the_policy_file_text(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize("value", [timedelta(seconds=30), timedelta(microseconds=1)])
def test_format_refuses_what_a_policy_file_cannot_say(value: timedelta) -> None:
    with pytest.raises(BusinessTimeError, match="whole number of minutes"):
        format_duration(value)


def test_format_refuses_non_timedelta() -> None:
    with pytest.raises(BusinessTimeError):
        format_duration("4h")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**8), max_value=10**8))
def test_format_and_parse_round_trip(minutes: int) -> None:
    value = timedelta(minutes=minutes)
    assert parse_duration(format_duration(value)) == value


@given(st.text(max_size=12))
def test_parse_either_returns_a_timedelta_or_raises_the_typed_error(text: str) -> None:
    try:
        value = parse_duration(text)
    except BusinessTimeError:
        return
    assert isinstance(value, timedelta)
    assert parse_duration(format_duration(value)) == value
