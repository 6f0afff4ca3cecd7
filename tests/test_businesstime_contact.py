"""ContactWindow: quiet hours and preferred windows on the customer's own clock."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopkit.businesstime import ContactWindow
from loopkit.errors import BusinessTimeError, ValidationError
from loopkit.model.window import DailyWindow

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
US = timedelta(microseconds=1)


def sthlm(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def same(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


def before(a: datetime) -> datetime:
    """One microsecond earlier, in elapsed time (same-zone arithmetic is wall time)."""
    return a.astimezone(UTC) - US


def test_quiet_hours_cross_midnight() -> None:
    window = ContactWindow(timezone="Europe/Stockholm", quiet_hours="20:00-08:00")
    assert window.allows(sthlm(2026, 11, 20, 12))
    assert window.allows(sthlm(2026, 11, 20, 8))
    assert not window.allows(sthlm(2026, 11, 20, 7, 59, 59, 999_999))
    assert not window.allows(sthlm(2026, 11, 20, 20))
    assert not window.allows(sthlm(2026, 11, 20, 23, 30))
    assert window.next_allowed(sthlm(2026, 11, 20, 21, 15)) == sthlm(2026, 11, 21, 8)
    assert window.next_allowed(sthlm(2026, 11, 21, 3)) == sthlm(2026, 11, 21, 8)
    assert window.next_allowed(sthlm(2026, 11, 20, 12)) == sthlm(2026, 11, 20, 12)


def test_the_customers_zone_decides_not_the_callers() -> None:
    window = ContactWindow(timezone="America/New_York", quiet_hours="21:00-09:00")
    from_stockholm = sthlm(2026, 11, 20, 14)  # 08:00 in New York: still quiet there
    assert not window.allows(from_stockholm)
    allowed = window.next_allowed(from_stockholm)
    assert allowed == datetime(2026, 11, 20, 9, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert allowed.tzinfo == zoneinfo.ZoneInfo("America/New_York")


def test_a_preferred_window_narrows_what_quiet_hours_leave() -> None:
    window = ContactWindow(
        timezone="Europe/Stockholm", quiet_hours="20:00-08:00", preferred_window="17:00-21:00"
    )
    assert not window.allows(sthlm(2026, 11, 20, 12))
    assert window.allows(sthlm(2026, 11, 20, 17, 30))
    assert not window.allows(sthlm(2026, 11, 20, 20, 30))
    assert window.next_allowed(sthlm(2026, 11, 20, 12)) == sthlm(2026, 11, 20, 17)
    assert window.next_allowed(sthlm(2026, 11, 20, 20)) == sthlm(2026, 11, 21, 17)


def test_a_preferred_window_crossing_midnight() -> None:
    window = ContactWindow(
        timezone="Europe/Stockholm", quiet_hours="23:00-07:00", preferred_window="22:00-08:00"
    )
    assert window.allows(sthlm(2026, 11, 20, 22, 30))
    assert window.allows(sthlm(2026, 11, 21, 7, 30))
    assert not window.allows(sthlm(2026, 11, 20, 23, 30))
    assert window.next_allowed(sthlm(2026, 11, 20, 23, 30)) == sthlm(2026, 11, 21, 7)
    assert window.next_allowed(sthlm(2026, 11, 21, 9)) == sthlm(2026, 11, 21, 22)


def test_only_a_preferred_window_or_nothing_at_all() -> None:
    evenings = ContactWindow(timezone="Europe/Stockholm", preferred_window="18:00-20:00")
    assert evenings.next_allowed(sthlm(2026, 11, 20, 20)) == sthlm(2026, 11, 21, 18)
    anytime = ContactWindow(timezone="Europe/Stockholm")
    assert anytime.allows(sthlm(2026, 11, 20, 3))
    assert anytime.next_allowed(sthlm(2026, 11, 20, 3)) == sthlm(2026, 11, 20, 3)


def test_windows_that_leave_no_time_are_refused_when_built() -> None:
    with pytest.raises(BusinessTimeError, match="leave some time"):
        ContactWindow(
            timezone="Europe/Stockholm", quiet_hours="20:00-08:00", preferred_window="21:00-23:00"
        )
    with pytest.raises(BusinessTimeError, match="leave some time"):
        ContactWindow(timezone="UTC", quiet_hours="00:00-24:00")
    with pytest.raises(BusinessTimeError, match="leave some time"):
        ContactWindow(timezone="UTC", quiet_hours="08:00-07:00", preferred_window="06:00-07:00")


def test_strings_are_parsed_and_bad_values_name_the_field() -> None:
    window = ContactWindow(timezone="UTC", quiet_hours=DailyWindow.parse("22:00-06:00"))
    assert window == ContactWindow(timezone="UTC", quiet_hours="22:00-06:00")
    assert hash(window) == hash(ContactWindow(timezone="UTC", quiet_hours="22:00-06:00"))
    with pytest.raises(ValidationError, match=r"^ContactWindow\.quiet_hours: expected a window"):
        ContactWindow(timezone="UTC", quiet_hours="late")
    with pytest.raises(ValidationError, match=r"ContactWindow\.timezone"):
        ContactWindow(timezone="Europe/Stokholm")
    with pytest.raises(ValidationError, match=r"ContactWindow\.preferred_window"):
        ContactWindow(timezone="UTC", preferred_window=8)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    window = ContactWindow(timezone="UTC", quiet_hours="22:00-06:00")
    with pytest.raises(BusinessTimeError, match="naive"):
        window.allows(datetime(2026, 1, 1, 12))
    with pytest.raises(BusinessTimeError, match="naive"):
        window.next_allowed(datetime(2026, 1, 1, 12))


# -- clock changes -------------------------------------------------------------------


def test_quiet_hours_ending_in_the_spring_gap_end_when_the_clock_jumps() -> None:
    new_york = zoneinfo.ZoneInfo("America/New_York")  # 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z)
    window = ContactWindow(timezone="America/New_York", quiet_hours="20:00-02:30")
    night = utc(2026, 3, 8, 6, 30)  # 01:30 EST
    assert not window.allows(night)
    allowed = window.next_allowed(night)
    assert same(allowed, utc(2026, 3, 8, 7))
    assert (allowed.hour, allowed.minute) == (3, 0)
    assert window.allows(allowed)
    assert not window.allows(before(allowed))
    normal = ContactWindow(timezone="America/New_York", quiet_hours="20:00-08:00")
    assert normal.next_allowed(datetime(2026, 3, 7, 22, tzinfo=new_york)) == datetime(
        2026, 3, 8, 8, tzinfo=new_york
    )
    assert same(normal.next_allowed(datetime(2026, 3, 7, 22, tzinfo=new_york)), utc(2026, 3, 8, 12))


def test_havana_night_without_midnight() -> None:
    # 2026-03-08: 00:00 -05 -> 01:00 -04 (05:00Z); quiet until 00:30 is already over at 01:00.
    window = ContactWindow(timezone="America/Havana", quiet_hours="22:00-00:30")
    allowed = window.next_allowed(utc(2026, 3, 8, 4))  # 23:00 -05 on the 7th
    assert same(allowed, utc(2026, 3, 8, 5))
    assert allowed.hour == 1


def test_the_repeated_autumn_hour_is_quiet_twice() -> None:
    # Europe/Stockholm 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00Z.
    window = ContactWindow(timezone="Europe/Stockholm", preferred_window="02:00-02:30")
    first = window.next_allowed(utc(2026, 10, 24, 23))
    assert same(first, utc(2026, 10, 25, 0))  # 02:00 CEST
    second = window.next_allowed(utc(2026, 10, 25, 0, 30))
    assert same(second, utc(2026, 10, 25, 1))  # 02:00 CET
    assert second.fold == 1


def test_lord_howe_half_hour_change() -> None:
    # 2026-10-04: 02:00 +10:30 -> 02:30 +11 (15:30Z on the 3rd).
    window = ContactWindow(timezone="Australia/Lord_Howe", quiet_hours="21:00-02:15")
    allowed = window.next_allowed(utc(2026, 10, 3, 15))  # 01:30 +10:30
    assert same(allowed, utc(2026, 10, 3, 15, 30))
    assert (allowed.hour, allowed.minute) == (2, 30)


# -- properties -----------------------------------------------------------------------

# Every zone key; not the files a zoneinfo directory holds beside them
# (``localtime``, ``Factory``...), which loopkit refuses as time zones.
ZONES = sorted(
    z
    for z in zoneinfo.available_timezones()
    if z not in {"localtime", "posixrules", "Factory"} and not z.startswith(("posix/", "right/"))
)
windows = (
    st.tuples(st.integers(0, 95), st.integers(1, 96))
    .filter(lambda p: p[0] != p[1])
    .map(lambda p: DailyWindow(start=p[0] * 15, end=p[1] * 15))
)
instants = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(ZONES), st.none() | windows, st.none() | windows, instants)
def test_next_allowed_is_the_first_allowed_instant(
    zone: str, quiet: DailyWindow | None, preferred: DailyWindow | None, at: datetime
) -> None:
    try:
        window = ContactWindow(timezone=zone, quiet_hours=quiet, preferred_window=preferred)
    except BusinessTimeError:
        return
    allowed = window.next_allowed(at)
    assert window.allows(allowed)
    assert allowed >= at
    if allowed > at:
        assert not window.allows(before(allowed))
        # Nothing allowed in between: check every minute boundary and the one before.
        step = at.replace(second=0, microsecond=0)
        while step < before(allowed):
            if step >= at:
                assert not window.allows(step), step
            step += timedelta(minutes=1)
    else:
        assert window.allows(at)
