"""Business time across clock changes: opening hours follow the wall clock.

The rule under test: an instant is open when the calendar zone's wall clock at
that instant shows a (non-holiday) date and a time inside that weekday's hours.
Expected values are written as UTC instants, because two datetimes in the same
zone compare by wall time and ignore ``fold``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loopkit.businesstime import BusinessCalendar
from loopkit.errors import BusinessTimeError

H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


def same_instant(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


# -- Europe/Stockholm: changes at 02:00 / 03:00 ------------------------------------------
# 2026-03-29: 02:00 CET -> 03:00 CEST (01:00Z). 2026-10-25: 03:00 CEST -> 02:00 CET (01:00Z).

STOCKHOLM = "Europe/Stockholm"


def test_spring_forward_inside_an_interval_shortens_it() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="01:00-04:00")
    assert cal.between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * H
    assert same_instant(cal.next_open(utc(2026, 3, 28)), utc(2026, 3, 29, 0))  # 01:00 CET
    assert same_instant(cal.next_close(utc(2026, 3, 28)), utc(2026, 3, 29, 2))  # 04:00 CEST
    assert cal.add(local(STOCKHOLM, 2026, 3, 29, 1), H) == local(STOCKHOLM, 2026, 3, 29, 3)
    assert cal.add(local(STOCKHOLM, 2026, 3, 29, 1), 2 * H) == local(STOCKHOLM, 2026, 3, 29, 4)


def test_fall_back_inside_an_interval_lengthens_it() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="01:00-04:00")
    assert cal.between(utc(2026, 10, 24), utc(2026, 10, 26)) == 4 * H
    start = local(STOCKHOLM, 2026, 10, 25, 1)  # 01:00 CEST = 23:00Z on the 24th
    assert same_instant(start, utc(2026, 10, 24, 23))
    second_two = cal.add(start, 2 * H)  # 02:00 for the second time
    assert same_instant(second_two, utc(2026, 10, 25, 1))
    assert second_two.fold == 1
    assert (second_two.hour, second_two.utcoffset()) == (2, H)
    assert cal.add(start, 4 * H) == local(STOCKHOLM, 2026, 10, 25, 4)


def test_an_interval_starting_in_the_gap_opens_when_the_clock_jumps() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="02:30-05:00")
    opened = cal.next_open(utc(2026, 3, 28))
    assert same_instant(opened, utc(2026, 3, 29, 1))  # 03:00 CEST: the clock shows 03:00 >= 02:30
    assert opened.hour == 3
    assert cal.between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * H


def test_an_interval_wholly_in_the_gap_does_not_happen_that_day() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="02:15-02:45")
    assert cal.between(utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(0)
    assert cal.next_open(utc(2026, 3, 28)) == local(STOCKHOLM, 2026, 4, 5, 2, 15)
    assert cal.between(utc(2026, 3, 21), utc(2026, 3, 23)) == 30 * M  # the Sunday before


def test_the_repeated_hour_is_open_twice_when_its_wall_times_are_open() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="01:00-02:30")
    # 01:00-02:30 CEST (23:00Z-00:30Z), closed 02:30-03:00 CEST, open again 02:00-02:30 CET.
    assert cal.between(utc(2026, 10, 24), utc(2026, 10, 26)) == 2 * H
    assert same_instant(cal.next_close(utc(2026, 10, 24, 23)), utc(2026, 10, 25, 0, 30))
    assert not cal.is_open(utc(2026, 10, 25, 0, 45))
    assert same_instant(cal.next_open(utc(2026, 10, 25, 0, 45)), utc(2026, 10, 25, 1))
    assert cal.is_open(utc(2026, 10, 25, 1, 15))
    whole_hour = BusinessCalendar.weekly(STOCKHOLM, sun="02:00-03:00")
    assert whole_hour.between(utc(2026, 10, 24), utc(2026, 10, 26)) == 2 * H


def test_a_working_week_across_the_change_counts_wall_clock_hours() -> None:
    cal = BusinessCalendar.weekly(
        STOCKHOLM,
        mon="08:00-17:00",
        tue="08:00-17:00",
        wed="08:00-17:00",
        thu="08:00-17:00",
        fri="08:00-17:00",
    )
    friday = local(STOCKHOLM, 2026, 3, 27, 16)
    assert cal.add(friday, 2 * H) == local(STOCKHOLM, 2026, 3, 30, 9)
    assert cal.between(friday, local(STOCKHOLM, 2026, 3, 30, 9)) == 2 * H
    assert cal.add(local(STOCKHOLM, 2026, 10, 23, 16), 2 * H) == local(STOCKHOLM, 2026, 10, 26, 9)


def test_an_input_in_the_repeated_hour_is_read_with_its_fold() -> None:
    cal = BusinessCalendar.weekly(STOCKHOLM, sun="00:00-24:00")
    first = local(STOCKHOLM, 2026, 10, 25, 2, 30, fold=0)  # 00:30Z
    second = local(STOCKHOLM, 2026, 10, 25, 2, 30, fold=1)  # 01:30Z
    assert cal.between(first, second) == H
    assert same_instant(cal.add(first, H), second)


# -- America/Santiago: midnight does not exist in September ------------------------------
# 2026-09-06: 00:00 -04 -> 01:00 -03 (04:00Z). 2026-04-05: 00:00 -03 -> 23:00 -04 on the 4th.

SANTIAGO = "America/Santiago"


def test_a_day_without_midnight_opens_at_its_first_instant() -> None:
    cal = BusinessCalendar.weekly(SANTIAGO, sun="00:00-08:00")
    opened = cal.next_open(local(SANTIAGO, 2026, 9, 5, 23, 30))
    assert same_instant(opened, utc(2026, 9, 6, 4))
    assert (opened.hour, opened.utcoffset()) == (1, -3 * H)
    assert cal.between(utc(2026, 9, 5), utc(2026, 9, 7)) == 7 * H


def test_24_00_and_the_next_midnight_touch_even_when_midnight_is_skipped() -> None:
    cal = BusinessCalendar.weekly(SANTIAGO, sat="20:00-24:00", sun="00:00-02:00")
    saturday = local(SANTIAGO, 2026, 9, 5, 21)
    assert same_instant(cal.next_close(saturday), utc(2026, 9, 6, 5))  # Sunday 02:00 -03
    assert cal.between(utc(2026, 9, 5, 12), utc(2026, 9, 6, 12)) == 5 * H
    assert same_instant(cal.add(saturday, 3 * H), utc(2026, 9, 6, 4, 0))
    assert same_instant(cal.add(saturday, 3 * H + M), utc(2026, 9, 6, 4, 1))


def test_saturday_lasts_an_hour_longer_when_santiago_falls_back() -> None:
    cal = BusinessCalendar.weekly(SANTIAGO, sat="22:00-24:00", sun="00:00-01:00")
    assert cal.between(utc(2026, 4, 4), utc(2026, 4, 4, 12) + 24 * H) == 4 * H
    assert same_instant(cal.next_open(utc(2026, 4, 4)), utc(2026, 4, 5, 1))  # 22:00 -03
    assert same_instant(cal.next_close(utc(2026, 4, 4)), utc(2026, 4, 5, 5))  # Sun 01:00 -04


# -- America/Havana: 00:00 -> 01:00 in March, 01:00 -> 00:00 in November -----------------

HAVANA = "America/Havana"


def test_havana_spring_day_starts_at_one() -> None:
    cal = BusinessCalendar.weekly(HAVANA, sun="00:00-09:00")
    assert cal.between(utc(2026, 3, 7), utc(2026, 3, 9)) == 8 * H
    opened = cal.next_open(utc(2026, 3, 7))
    assert same_instant(opened, utc(2026, 3, 8, 5))
    assert opened.hour == 1


def test_havana_autumn_day_repeats_its_first_hour() -> None:
    cal = BusinessCalendar.weekly(HAVANA, sun="00:00-09:00")
    assert cal.between(utc(2026, 10, 31), utc(2026, 11, 2)) == 10 * H
    assert same_instant(cal.next_open(utc(2026, 10, 31)), utc(2026, 11, 1, 4))
    start = local(HAVANA, 2026, 11, 1, 0, 30)  # first pass, -04
    assert same_instant(cal.add(start, H), utc(2026, 11, 1, 5, 30))  # 00:30 again, -05
    assert cal.add(start, H).fold == 1


def test_a_holiday_on_a_day_without_midnight_closes_the_day_that_remains() -> None:
    from datetime import date

    cal = BusinessCalendar.weekly(HAVANA, sat="20:00-24:00", sun="00:00-09:00")
    closed = cal.with_holidays([date(2026, 3, 8)])
    assert closed.between(utc(2026, 3, 7), utc(2026, 3, 9)) == 4 * H  # Saturday evening only
    assert same_instant(closed.next_close(utc(2026, 3, 8, 1)), utc(2026, 3, 8, 5))


# -- Australia/Lord_Howe: clocks move by 30 minutes --------------------------------------
# 2026-04-05: 02:00 +11 -> 01:30 +10:30. 2026-10-04: 02:00 +10:30 -> 02:30 +11.

LORD_HOWE = "Australia/Lord_Howe"


def test_lord_howe_autumn_adds_half_an_hour() -> None:
    cal = BusinessCalendar.weekly(LORD_HOWE, sun="01:00-03:00")
    assert cal.between(utc(2026, 4, 4), utc(2026, 4, 5, 12)) == 2 * H + 30 * M
    start = local(LORD_HOWE, 2026, 4, 5, 1)
    assert same_instant(start, utc(2026, 4, 4, 14))
    assert cal.add(start, 2 * H + 30 * M) == local(LORD_HOWE, 2026, 4, 5, 3)


def test_lord_howe_spring_loses_half_an_hour() -> None:
    cal = BusinessCalendar.weekly(LORD_HOWE, sun="01:00-03:00")
    assert cal.between(utc(2026, 10, 3), utc(2026, 10, 4, 12)) == H + 30 * M
    start = local(LORD_HOWE, 2026, 10, 4, 1, 45)
    assert cal.add(start, 15 * M) == local(LORD_HOWE, 2026, 10, 4, 2, 30)
    gap_only = BusinessCalendar.weekly(LORD_HOWE, sun="02:00-02:30")
    assert gap_only.between(utc(2026, 10, 3), utc(2026, 10, 4, 12)) == timedelta(0)


# -- Pacific/Apia skipped Friday 30 December 2011 ------------------------------------------


def test_a_skipped_date_has_no_business_hours() -> None:
    apia = "Pacific/Apia"
    cal = BusinessCalendar.weekly(
        apia,
        mon="09:00-17:00",
        tue="09:00-17:00",
        wed="09:00-17:00",
        thu="09:00-17:00",
        fri="09:00-17:00",
    )
    thursday = local(apia, 2011, 12, 29, 16)
    assert cal.add(thursday, 2 * H) == local(apia, 2012, 1, 2, 10)
    assert cal.between(local(apia, 2011, 12, 29, 9), local(apia, 2012, 1, 2, 9)) == 8 * H


@pytest.mark.parametrize("zone", [STOCKHOLM, SANTIAGO, HAVANA, LORD_HOWE, "Pacific/Apia"])
def test_a_whole_year_of_round_the_clock_hours_is_the_elapsed_time(zone: str) -> None:
    every = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
    cal = BusinessCalendar.weekly(zone, **every)
    start, end = utc(2011, 1, 1), utc(2027, 1, 1)
    assert cal.between(start, end) == end - start
    assert cal.add(start, end - start) == end
    with pytest.raises(BusinessTimeError, match="closing time within two years"):
        cal.next_close(start)
