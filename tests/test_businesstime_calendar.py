"""BusinessCalendar: reading calendars, adding and measuring business time."""

from __future__ import annotations

import pickle
import tomllib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import YEARLY, rrule

from loopkit.businesstime import BusinessCalendar, parse_duration
from loopkit.errors import BusinessTimeError, ValidationError
from loopkit.model.window import DailyWindow

UTC = ZoneInfo("UTC")
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# The [calendars.*] tables of examples/policies.toml, as they stand.
POLICY_CALENDARS = """
[calendars.support]
timezone = "Europe/Stockholm"
hours = { mon = "08:00-17:00", tue = "08:00-17:00", wed = "08:00-17:00", thu = "08:00-17:00", fri = "08:00-16:00" }
holidays = ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01", "2027-01-06"]

[calendars.stores]
timezone = "Europe/Stockholm"
hours = { mon = ["10:00-14:00", "15:00-19:00"], tue = "10:00-19:00", wed = "10:00-19:00", thu = "10:00-19:00", fri = "10:00-19:00", sat = "10:00-16:00" }
"""  # noqa: E501


def policy_calendar(name: str) -> BusinessCalendar:
    tables = tomllib.loads(POLICY_CALENDARS)["calendars"]
    return BusinessCalendar.from_dict(tables[name], path=f"calendars.{name}")


def weekdays(hours: str | list[str], zone: str = "UTC") -> BusinessCalendar:
    return BusinessCalendar.weekly(zone, mon=hours, tue=hours, wed=hours, thu=hours, fri=hours)


def at(*args: int, tz: ZoneInfo = UTC) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


H = timedelta(hours=1)

# -- the public vectors -----------------------------------------------------------


def test_a_working_week_with_lunch_is_forty_hours() -> None:
    cal = weekdays(["09:00-12:00", "13:00-18:00"])
    start, end = at(2016, 1, 18, 9), at(2016, 1, 22, 18)
    assert cal.between(start, end) == 40 * H
    assert cal.add(start, 40 * H) == end
    assert cal.between(end, start) == -40 * H
    assert cal.add(end, -40 * H) == start


@pytest.mark.parametrize(
    ("hours", "start", "expected"),
    [
        ("09:00-17:00", at(2016, 1, 22, 16), at(2016, 1, 25, 12)),  # Fri 16:00 -> Mon 12:00
        ("09:00-17:00", at(2016, 1, 21, 15), at(2016, 1, 22, 11)),  # Thu 15:00 -> Fri 11:00
        ("08:00-17:00", at(2016, 1, 22, 16), at(2016, 1, 25, 11)),  # Fri 16:00 -> Mon 11:00
    ],
)
def test_four_business_hours_later(hours: str, start: datetime, expected: datetime) -> None:
    cal = weekdays(hours)
    assert cal.add(start, 4 * H) == expected
    assert cal.between(start, expected) == 4 * H


def test_the_support_calendar_of_the_example_policy_file() -> None:
    support = policy_calendar("support")
    friday = at(2026, 11, 20, 15, 30, tz=STOCKHOLM)
    deadline = support.add(friday, parse_duration("4h"))
    assert deadline == at(2026, 11, 23, 11, 30, tz=STOCKHOLM)
    assert deadline.tzinfo == STOCKHOLM
    assert deadline.isoformat() == "2026-11-23T11:30:00+01:00"


def test_christmas_in_the_example_policy_file() -> None:
    support = policy_calendar("support")
    # Wed 23 Dec 15:00 + 4h: 2h on the 23rd, then 24-26 are holidays (26th a Saturday),
    # Sun 27th closed, so Mon 28 Dec 10:00.
    assert support.add(at(2026, 12, 23, 15, tz=STOCKHOLM), 4 * H) == at(
        2026, 12, 28, 10, tz=STOCKHOLM
    )
    # 30 Dec 16:00 + 2h: 1h on the 30th, 31 Dec and 1 Jan closed, Sat/Sun, Mon 4 Jan 09:00.
    assert support.add(at(2026, 12, 30, 16, tz=STOCKHOLM), 2 * H) == at(2027, 1, 4, 9, tz=STOCKHOLM)


def test_the_stores_calendar_closes_for_lunch_on_mondays() -> None:
    stores = policy_calendar("stores")
    monday = at(2026, 11, 23, 13, 30, tz=STOCKHOLM)
    assert stores.is_open(monday)
    assert stores.next_close(monday) == at(2026, 11, 23, 14, tz=STOCKHOLM)
    assert not stores.is_open(at(2026, 11, 23, 14, 30, tz=STOCKHOLM))
    assert stores.add(monday, H) == at(2026, 11, 23, 15, 30, tz=STOCKHOLM)
    assert stores.next_open(at(2026, 11, 29, 12, tz=STOCKHOLM)) == at(
        2026, 11, 30, 10, tz=STOCKHOLM
    )


# -- conventions -------------------------------------------------------------------


def test_a_duration_running_out_at_closing_time_ends_at_the_closing_instant() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2016, 1, 22, 13), 4 * H) == at(2016, 1, 22, 17)  # Friday 17:00, not Monday


def test_going_backwards_to_an_opening_ends_at_the_opening_instant() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2016, 1, 25, 13), -4 * H) == at(2016, 1, 25, 9)  # Monday 09:00, not Friday


def test_a_start_outside_hours_starts_the_clock_at_the_next_opening() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2016, 1, 23, 3), H) == at(2016, 1, 25, 10)  # Saturday night
    assert cal.add(at(2016, 1, 22, 17), H) == at(2016, 1, 25, 10)  # at closing time
    assert cal.add(at(2016, 1, 25, 8), H) == at(2016, 1, 25, 10)  # before opening


def test_backwards_from_outside_hours_counts_from_the_previous_close() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2016, 1, 23, 3), -H) == at(2016, 1, 22, 16)


def test_zero_duration_is_the_next_opening() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2016, 1, 23, 3), timedelta(0)) == at(2016, 1, 25, 9)
    assert cal.add(at(2016, 1, 25, 10), timedelta(0)) == at(2016, 1, 25, 10)


def test_results_are_in_the_calendar_zone_whatever_the_input_zone() -> None:
    cal = weekdays("08:00-17:00", "Europe/Stockholm")
    start = at(2026, 11, 20, 14, 30)  # 15:30 in Stockholm
    for result in (cal.add(start, 4 * H), cal.next_open(start), cal.next_close(start)):
        assert result.tzinfo == STOCKHOLM
    assert cal.next_open(start) == start


def test_between_counts_only_open_time_and_is_antisymmetric() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.between(at(2016, 1, 22, 16), at(2016, 1, 25, 10)) == 2 * H
    assert cal.between(at(2016, 1, 25, 10), at(2016, 1, 22, 16)) == -2 * H
    assert cal.between(at(2016, 1, 23), at(2016, 1, 24)) == timedelta(0)


def test_microseconds_are_kept() -> None:
    cal = weekdays("09:00-17:00")
    start = at(2016, 1, 22, 16, 59, 59, 999_999)
    assert cal.add(start, timedelta(microseconds=2)) == at(2016, 1, 25, 9, 0, 0, 1)


def test_open_close_and_next() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.is_open(at(2016, 1, 22, 9))
    assert not cal.is_open(at(2016, 1, 22, 17))
    assert cal.next_open(at(2016, 1, 22, 17)) == at(2016, 1, 25, 9)
    assert cal.next_close(at(2016, 1, 22, 17)) == at(2016, 1, 25, 17)
    assert cal.next_close(at(2016, 1, 22, 10)) == at(2016, 1, 22, 17)


def test_touching_intervals_across_midnight_are_one_opening() -> None:
    night = BusinessCalendar.weekly("UTC", mon="22:00-24:00", tue="00:00-06:00")
    monday_night = at(2016, 1, 18, 23)
    assert night.next_close(monday_night) == at(2016, 1, 19, 6)
    assert night.add(monday_night, 2 * H) == at(2016, 1, 19, 1)


def test_long_durations_span_years() -> None:
    cal = weekdays("09:00-17:00")
    start = at(2016, 1, 18, 9)
    later = cal.add(start, 8 * H * 261 * 5)
    assert cal.between(start, later) == 8 * H * 261 * 5
    assert later.year == 2021
    assert cal.add(later, -(8 * H * 261 * 5)) == start


def test_queries_far_apart_in_time_share_the_cache_correctly() -> None:
    cal = weekdays("09:00-17:00")
    assert cal.add(at(2090, 3, 3, 9), H) == at(2090, 3, 3, 10)
    assert cal.add(at(1950, 3, 3, 9), H) == at(1950, 3, 3, 10)
    assert cal.add(at(2016, 1, 22, 16), 4 * H) == at(2016, 1, 25, 12)


# -- holidays ----------------------------------------------------------------------


def test_holidays_are_dates_in_the_calendar_zone() -> None:
    cal = weekdays("08:00-17:00", "Pacific/Auckland").with_holidays([date(2026, 12, 25)])
    # 25 Dec 09:00 in Auckland is 24 Dec 20:00 UTC: closed, because it is the 25th there.
    assert not cal.is_open(at(2026, 12, 24, 20))
    assert cal.is_open(at(2026, 12, 23, 20))


def test_holiday_rules_recur() -> None:
    cal = BusinessCalendar.weekly(
        "Europe/Stockholm",
        mon="08:00-17:00",
        tue="08:00-17:00",
        wed="08:00-17:00",
        thu="08:00-17:00",
        fri="08:00-17:00",
        holiday_rules=["FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"],
    )
    for year in (1999, 2026, 2031, 2100):
        eve = datetime(year, 12, 24, 12, tzinfo=STOCKHOLM)
        assert cal.is_open(eve) is False
        assert cal.is_open(eve - timedelta(days=1)) is ((eve - timedelta(days=1)).weekday() < 5)


def test_rrule_objects_are_stored_as_their_text() -> None:
    rule = rrule(YEARLY, bymonth=6, bymonthday=6, dtstart=datetime(2000, 1, 1))
    cal = BusinessCalendar.weekly("Europe/Stockholm", sat="10:00-14:00", holiday_rules=[rule])
    assert cal.holiday_rules == (str(rule),)
    assert not cal.is_open(at(2026, 6, 6, 11, tz=STOCKHOLM))
    assert cal.is_open(at(2026, 6, 13, 11, tz=STOCKHOLM))
    assert hash(cal) == hash(BusinessCalendar.from_dict(cal.to_dict()))


def test_with_holidays_merges_and_leaves_the_original() -> None:
    cal = weekdays("09:00-17:00")
    more = cal.with_holidays([date(2016, 1, 25)])
    assert cal.add(at(2016, 1, 22, 16), 4 * H) == at(2016, 1, 25, 12)
    assert more.add(at(2016, 1, 22, 16), 4 * H) == at(2016, 1, 26, 12)
    assert more.with_holidays([date(2016, 1, 25)]) is more
    assert cal.holidays == frozenset()


# -- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("op", ["add", "between", "is_open", "next_open", "next_close"])
def test_naive_datetimes_are_refused(op: str) -> None:
    cal = weekdays("09:00-17:00")
    naive = datetime(2016, 1, 22, 16)
    args: dict[str, tuple[object, ...]] = {
        "add": (naive, H),
        "between": (naive, naive),
        "is_open": (naive,),
        "next_open": (naive,),
        "next_close": (naive,),
    }
    with pytest.raises(BusinessTimeError, match="naive"):
        getattr(cal, op)(*args[op])


def test_naive_end_is_refused_too() -> None:
    cal = weekdays("09:00-17:00")
    with pytest.raises(BusinessTimeError, match=r"^end: expected a timezone-aware"):
        cal.between(at(2016, 1, 22), datetime(2016, 1, 23))


def test_a_duration_must_be_a_timedelta() -> None:
    cal = weekdays("09:00-17:00")
    with pytest.raises(BusinessTimeError, match="parse_duration"):
        cal.add(at(2016, 1, 22), "4h")  # type: ignore[arg-type]


def test_a_calendar_that_is_never_open_is_refused_when_built() -> None:
    with pytest.raises(BusinessTimeError, match="opening hours on at least one weekday"):
        BusinessCalendar.weekly("UTC")
    with pytest.raises(BusinessTimeError, match=r"calendars\.x\.hours"):
        BusinessCalendar.from_dict({"timezone": "UTC", "hours": {}}, path="calendars.x")


@pytest.mark.parametrize("op", ["add", "add_back", "next_open", "next_close"])
@pytest.mark.parametrize(
    "rules",
    [["FREQ=DAILY"], ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"], ["FREQ=DAILY;DTSTART=20260101T000000"]],
)
def test_holidays_on_every_day_raise_instead_of_looping(op: str, rules: list[str]) -> None:
    text = rules[0]
    if "DTSTART=" in text:  # DTSTART is its own line in RFC 5545
        text = "DTSTART:20260101T000000\nRRULE:FREQ=DAILY"
    cal = BusinessCalendar.weekly(
        "Europe/Stockholm", mon="08:00-17:00", fri="08:00-16:00", holiday_rules=[text]
    )
    start = at(2026, 11, 20, 15, 30, tz=STOCKHOLM)
    call = {
        "add": lambda: cal.add(start, H),
        "add_back": lambda: cal.add(start, -H),
        "next_open": lambda: cal.next_open(start),
        "next_close": lambda: cal.next_close(start),
    }[op]
    if op == "add_back" and "DTSTART" in text:
        assert cal.add(start, -H) == at(2025, 12, 29, 16, tz=STOCKHOLM)  # the last Monday open
        return
    with pytest.raises(BusinessTimeError, match="some opening time in every two years"):
        call()


def test_a_holiday_set_covering_years_raises() -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365 * 6)]
    cal = weekdays("09:00-17:00").with_holidays(days)
    with pytest.raises(BusinessTimeError, match="opening time"):
        cal.add(at(2026, 3, 3), H)
    assert cal.add(at(2025, 12, 31, 16), H) == at(2025, 12, 31, 17)


def test_instants_outside_the_supported_years_raise() -> None:
    cal = weekdays("09:00-17:00")
    with pytest.raises(BusinessTimeError, match="between the years"):
        cal.add(datetime(9999, 6, 1, tzinfo=UTC), H)
    with pytest.raises(BusinessTimeError, match="between the years"):
        cal.add(at(9990, 1, 1), 8 * H * 261 * 20)
    with pytest.raises(BusinessTimeError, match="between the years"):
        cal.between(datetime(1, 6, 1, tzinfo=UTC), at(2016, 1, 1))


# -- reading from policy files -------------------------------------------------------


def test_from_dict_reads_the_example_tables_and_round_trips() -> None:
    support, stores = policy_calendar("support"), policy_calendar("stores")
    assert support.timezone == "Europe/Stockholm"
    assert support.hours[4] == (DailyWindow.parse("08:00-16:00"),)
    assert support.hours[5] == ()
    assert date(2027, 1, 6) in support.holidays
    assert [str(w) for w in stores.hours[0]] == ["10:00-14:00", "15:00-19:00"]
    for cal in (support, stores):
        again = BusinessCalendar.from_dict(cal.to_dict())
        assert again == cal
        assert hash(again) == hash(cal)
        assert pickle.loads(pickle.dumps(cal)) == cal


def test_toml_dates_are_accepted_as_holidays() -> None:
    table = tomllib.loads(
        'timezone = "UTC"\nhours = { mon = "09:00-17:00" }\nholidays = [2016-01-18]'
    )
    cal = BusinessCalendar.from_dict(table)
    assert not cal.is_open(at(2016, 1, 18, 10))


def test_from_dict_reports_every_problem_with_its_path() -> None:
    data = {
        "timezone": "Europe/Stokholm",
        "hours": {"mon": "08:00-17:00", "fri": "08:00-16", "sun": ["10:00-12:00", 9], "thurs": "x"},
        "holidays": ["2026-12-24", "24/12/2026"],
        "holiday_rules": ["FREQ=SOMETIMES"],
        "holiday": [],
    }
    with pytest.raises(ValidationError) as info:
        BusinessCalendar.from_dict(data, path="calendars.support")
    err = info.value
    assert isinstance(err, BusinessTimeError)
    paths = [p.path for p in err.problems]
    assert paths == [
        "calendars.support.holiday",
        "calendars.support.timezone",
        "calendars.support.hours.fri",
        "calendars.support.hours.sun[1]",
        "calendars.support.hours.thurs",
        "calendars.support.holidays[1]",
        "calendars.support.holiday_rules[0]",
    ]
    text = str(err)
    assert "did you mean 'holidays'?" in text
    assert "did you mean 'thu'?" in text
    assert "calendars.support.hours.fri: expected a window" in text


@pytest.mark.parametrize(
    ("hours", "path", "expected"),
    [
        ({"mon": "17:00-08:00"}, "calendar.hours.mon", "end after they start"),
        ({"mon": ["08:00-12:00", "11:00-17:00"]}, "calendar.hours.mon", "do not overlap"),
        ({"mon": 8}, "calendar.hours.mon", "opening hours such as"),
        ({"mon": "25:00-26:00"}, "calendar.hours.mon", "valid, different times"),
        ("08:00-17:00", "calendar.hours", "a table of weekdays"),
    ],
)
def test_bad_hours(hours: object, path: str, expected: str) -> None:
    with pytest.raises(BusinessTimeError, match=expected) as info:
        BusinessCalendar.from_dict({"timezone": "UTC", "hours": hours})
    assert info.value.path == path


def test_missing_keys_and_wrong_shapes() -> None:
    with pytest.raises(BusinessTimeError) as info:
        BusinessCalendar.from_dict({}, path="calendars.x")
    assert [p.path for p in info.value.problems] == ["calendars.x.timezone", "calendars.x.hours"]
    with pytest.raises(BusinessTimeError, match="a table"):
        BusinessCalendar.from_dict(["UTC"], path="calendars.x")  # type: ignore[arg-type]
    with pytest.raises(BusinessTimeError, match=r"holidays: expected a list"):
        BusinessCalendar.from_dict(
            {"timezone": "UTC", "hours": {"mon": "09:00-10:00"}, "holidays": "2026-12-24"}
        )


def test_the_python_constructor_validates_too() -> None:
    cal = BusinessCalendar(timezone="UTC", hours={"mon": "09:00-17:00"})
    assert cal == weekdays_only_monday()
    with pytest.raises(ValidationError, match=r"BusinessCalendar\.timezone"):
        BusinessCalendar(timezone="Mars/Olympus", hours={"mon": "09:00-17:00"})
    with pytest.raises(BusinessTimeError, match=r"BusinessCalendar\.hours: expected seven days"):
        BusinessCalendar(timezone="UTC", hours=[[DailyWindow.parse("09:00-17:00")]])
    with pytest.raises(BusinessTimeError, match=r"BusinessCalendar\.holidays: expected dates"):
        BusinessCalendar(timezone="UTC", hours={"mon": "09:00-17:00"}, holidays=["2026-12-24"])  # type: ignore[list-item]
    with pytest.raises(BusinessTimeError, match=r"holiday_rules\[0\]"):
        BusinessCalendar(
            timezone="UTC",
            hours={"mon": "09:00-17:00"},
            holiday_rules=["DTSTART;TZID=Europe/Stockholm:20200101T000000\nRRULE:FREQ=YEARLY"],
        )


def weekdays_only_monday() -> BusinessCalendar:
    return BusinessCalendar.weekly("UTC", mon="09:00-17:00")


def test_calendars_are_frozen_values() -> None:
    cal = weekdays("09:00-17:00")
    with pytest.raises(AttributeError):
        cal.timezone = "Europe/Stockholm"  # type: ignore[misc]
    assert "BusinessCalendar(" in repr(cal)


def test_every_calendar_in_the_bundled_example_policy_file_loads() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
    tables = tomllib.loads(path.read_text(encoding="utf-8"))["calendars"]
    loaded = {
        name: BusinessCalendar.from_dict(table, path=f"calendars.{name}")
        for name, table in tables.items()
    }
    assert loaded["support"] == policy_calendar("support")
    friday = at(2026, 11, 20, 15, 30, tz=STOCKHOLM)
    assert loaded["support"].add(friday, parse_duration("4h")) == at(
        2026, 11, 23, 11, 30, tz=STOCKHOLM
    )
