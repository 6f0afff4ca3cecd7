"""Bad values are errors with a reason, never lost responses or tracebacks.

One story per way a value can be bad: a valid but extreme wish (never contact
me), a plugin that returns the wrong type, a value that breaks ``repr``, a
clock at the end of time, a value that must cross a process boundary, and junk
that used to be accepted silently.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.errors import describe, describe_input
from loopkit.testing import FakeClock, RecordingChannel, make_customer, make_response
from loopkit.testing import strategies as lks

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = loopkit.load_playbook(ROOT / "examples" / "policies.toml")


# -- 5. a valid wish: never contact me ----------------------------------------------


def test_a_customer_who_never_wants_contact_is_recorded_but_not_contacted(
    loopkit_loop: loopkit.Loop, loopkit_channels: dict[str, RecordingChannel]
) -> None:
    loop = loopkit_loop  # the example playbook, a fake clock, recording channels
    never = make_customer(quiet_hours="00:00-24:00")

    result = loop.ingest(make_response(1), customer=never)
    loop.tick(datetime(2026, 11, 30, tzinfo=UTC))

    assert result.outcome is loopkit.IngestOutcome.SUPPRESSED
    assert result.case is None
    assert result.reason is not None and "never to be contacted" in result.reason
    assert result.decision is not None and result.decision.suppressed is not None
    assert result.decision.follow_up is False
    assert loop.ingest(make_response(1), customer=never).replayed  # it was recorded
    assert loop.cases() == [] and loop.messages() == []
    assert all(channel.attempts == 0 for channel in loopkit_channels.values())


def test_never_contact_quiet_hours_are_a_valid_wish_not_an_error() -> None:
    never = make_customer(quiet_hours="00:00-24:00")
    assert never.contact.quiet_hours is not None
    assert never.contact.quiet_hours.covers_whole_day
    decision = PLAYBOOK.policies.decide(make_response(1), never, make_response(1).answered_at)
    assert decision.policy is not None and decision.policy.name == "support-detractor-callback"
    assert decision.suppressed == (
        "the customer asked never to be contacted (quiet hours 00:00-24:00)"
    )
    assert decision.first_contact_at is None and decision.channel is None


# -- 5. plugins that return the wrong type -------------------------------------------


class _Tags:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_tag_root_causes(self) -> object:
        return self.result


def _closable(plugins: Iterable[object]) -> tuple[loopkit.Loop, str]:
    loop = loopkit.Loop(PLAYBOOK, plugins=plugins, clock=FakeClock())
    case = loop.ingest(make_response(1), customer=make_customer()).case
    assert case is not None
    return loop, case.id


def test_a_tagging_plugin_that_returns_a_string_is_a_plugin_error_not_five_tags() -> None:
    loop, case_id = _closable([_Tags("billing")])
    with pytest.raises(loopkit.PluginError, match="loopkit_tag_root_causes") as info:
        loop.close(case_id, resolved=False, by="emp-7")
    assert "expected an iterable of root-cause tags" in str(info.value)
    assert "got a result that is a str of 7 characters" in str(info.value)
    assert loop.case(case_id).state is not loopkit.CaseState.CLOSED  # not closed half-way


def test_a_tagging_plugin_that_returns_a_list_of_tags_still_works() -> None:
    loop, case_id = _closable([_Tags(["billing"]), _Tags({"campaign_targeting"})])
    closed = loop.close(case_id, resolved=False, by="emp-7")
    assert closed.root_causes == frozenset({"billing", "campaign_targeting"})


class _Store:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_store(self) -> object:
        return self.result


class _Lookup:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_load_customer(self) -> object:
        return self.result


class _Classify:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_classify_response(self) -> object:
        return self.result


class _Holidays:
    def __init__(self, result: object) -> None:
        self.result = result

    @loopkit.hookimpl
    def loopkit_holidays(self) -> object:
        return self.result


_CUSTOM = loopkit.Scale(
    name="stars", minimum=1, maximum=5, detractor=(1, 2), passive=(3, 4), promoter=(5, 5)
)


def _build(plugin: object) -> None:
    loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())


def _ingest(plugin: object, *, custom: bool = False) -> None:
    loop = loopkit.Loop(PLAYBOOK, plugins=[plugin], clock=FakeClock())
    if custom:
        loop.ingest(make_response(1, scale=_CUSTOM), customer=make_customer())
    else:
        loop.ingest(make_response(1))


def _close(plugin: object) -> None:
    loop, case_id = _closable([plugin])
    loop.close(case_id, resolved=False, by="emp-7")


WRONG_RESULTS: dict[str, tuple[str, Callable[[], None]]] = {
    "store as a string": ("loopkit_store", lambda: _build(_Store("sqlite:///x.db"))),
    "customer as a dict": ("loopkit_load_customer", lambda: _ingest(_Lookup({"id": "c-1"}))),
    "customer as a name": ("loopkit_load_customer", lambda: _ingest(_Lookup("Anna Berg"))),
    "someone else's customer": (
        "loopkit_load_customer",
        lambda: _ingest(_Lookup(make_customer("c-2"))),
    ),
    "category as a string": (
        "loopkit_classify_response",
        lambda: _ingest(_Classify("detractor"), custom=True),
    ),
    "tags as a string": ("loopkit_tag_root_causes", lambda: _close(_Tags("billing"))),
    "tags as a number": ("loopkit_tag_root_causes", lambda: _close(_Tags(42))),
    "tags as a mapping": ("loopkit_tag_root_causes", lambda: _close(_Tags({"billing": 1}))),
    "a tag that is a number": ("loopkit_tag_root_causes", lambda: _close(_Tags([1]))),
    "a tag that is not a name": (
        "loopkit_tag_root_causes",
        lambda: _close(_Tags(["anna@example.com"])),
    ),
    "holidays as a string": ("loopkit_holidays", lambda: _build(_Holidays("2026-12-24"))),
    "a holiday as a string": ("loopkit_holidays", lambda: _build(_Holidays(["2026-12-24"]))),
    "a holiday as a datetime": (
        "loopkit_holidays",
        lambda: _build(_Holidays([datetime(2026, 12, 24, tzinfo=UTC)])),
    ),
    "holidays as a number": ("loopkit_holidays", lambda: _build(_Holidays(2026))),
}


@pytest.mark.parametrize(("hook", "attempt"), WRONG_RESULTS.values(), ids=WRONG_RESULTS.keys())
def test_every_hook_that_answers_has_its_result_type_checked(
    hook: str, attempt: Callable[[], None]
) -> None:
    with pytest.raises(loopkit.PluginError) as info:
        attempt()
    message = str(info.value)
    assert message.startswith(f"{hook}:"), message
    assert "expected" in message
    for shown in ("anna@example.com", "Anna Berg", "sqlite:///x.db", "2026-12-24"):
        assert shown not in message


def test_holidays_from_a_plugin_as_a_set_of_dates_are_used() -> None:
    loop = loopkit.Loop(PLAYBOOK, plugins=[_Holidays({date(2026, 11, 23)})], clock=FakeClock())
    assert not loop.playbook.calendars["support"].is_open(
        datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Stockholm"))
    )


def test_a_lookup_plugin_that_raises_becomes_a_plugin_error_with_its_cause() -> None:
    class Crm:
        @loopkit.hookimpl
        def loopkit_load_customer(self, customer_id: str) -> loopkit.Customer:
            raise KeyError("anna@example.com")

    loop = loopkit.Loop(PLAYBOOK, plugins=[Crm()], clock=FakeClock())
    with pytest.raises(loopkit.PluginError, match="loopkit_load_customer") as info:
        loop.ingest(make_response(1))
    assert "KeyError" in str(info.value)
    assert "anna@example.com" not in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.__cause__.args == ("anna@example.com",)
    [item] = loop.ingest_many([(make_response(1), None)])
    assert isinstance(item.error, loopkit.PluginError)
    assert "anna@example.com" not in str(item.error)


# -- 5. describe() never raises --------------------------------------------------------


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    def __len__(self) -> int:
        raise RuntimeError("no len either")

    def __str__(self) -> str:
        raise RuntimeError("nor str")


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def _recursive() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


def _recursive_dict() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["self"] = d
    return d


class _HostileList(list[int]):
    def __len__(self) -> int:
        raise RuntimeError("len")

    def __repr__(self) -> str:
        raise RuntimeError("repr")


HOSTILE: dict[str, Callable[[], object]] = {
    "int beyond the int-str limit": lambda: 10 ** (sys.get_int_max_str_digits() + 10),
    "negative huge int": lambda: -(10**20_000),
    "huge int in a list": lambda: [1, 10**50_000],
    "huge int as a dict key": lambda: {10**50_000: "x"},
    "10,000-deep list": lambda: _deep(10_000),
    "100,000-deep list": lambda: _deep(100_000),
    "list that contains itself": _recursive,
    "dict that contains itself": _recursive_dict,
    "object whose repr and len raise": _Hostile,
    "list of such objects": lambda: [_Hostile(), _Hostile()],
    "list subclass whose len and repr raise": lambda: _HostileList([1, 2]),
    "huge string": lambda: "x" * 10_000_000,
    "huge float": lambda: 1e308,
    "a class named like an e-mail": lambda: type("anna@example.com", (), {})(),
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_describe_never_raises_on_huge_or_deeply_nested_values(make: Callable[[], object]) -> None:
    value = make()
    for text in (
        describe(value),
        describe(value, personal=True),
        describe_input(value),
        loopkit.errors.describe_key(value),
    ):
        assert isinstance(text, str) and 0 < len(text) <= 80, text
        assert "anna@example.com" not in text


def test_describe_still_says_what_it_can() -> None:
    assert describe(10**5000) == "an int of about 5001 digits"
    assert describe_input(46701234567) == "an int of 11 digits"
    assert describe_input(11) == "11"
    assert describe(_Hostile()) == "<a _Hostile>"
    assert describe(_Hostile(), personal=True) == "a redacted _Hostile"
    assert describe(_deep(10_000)).startswith("[[[")
    assert describe_input(_HostileList([1, 2])) == "a _HostileList of 2 items"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=30,
    )
)
def test_describe_never_raises_on_any_json_like_value(value: object) -> None:
    for text in (describe(value), describe(value, personal=True), describe_input(value)):
        assert isinstance(text, str) and len(text) <= 80


# -- 5. the end of time ----------------------------------------------------------------


class _Down:
    def send(self, message: loopkit.Message) -> None:
        raise ConnectionError("down")


END_OF_TIME = (
    datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=14))),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
    datetime.max.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")),
    datetime(9999, 12, 31, 23, 59, tzinfo=ZoneInfo("America/New_York")),
)


@pytest.mark.parametrize("sqlite", [False, True], ids=["memory", "sqlite"])
@pytest.mark.parametrize("year", [2026, 9990, 9996])
def test_a_tick_at_the_end_of_time_never_overflows(tmp_path: Path, sqlite: bool, year: int) -> None:
    start = datetime(year, 12, 28, 10, tzinfo=UTC)
    store = loopkit.SQLiteStore(tmp_path / "loop.db") if sqlite else None
    loop = loopkit.Loop(
        PLAYBOOK,
        plugins=[loopkit.ChannelPlugin({"phone": _Down(), "email": _Down()})],
        clock=FakeClock(start),
        store=store,
    )
    case = loop.ingest(make_response(1, answered_at=start), customer=make_customer()).case
    assert case is not None
    loop.promise(case.id, "call_back", due_at=start + timedelta(hours=2), by="emp-7")
    for now in END_OF_TIME:
        report = loop.tick(now)  # never an OverflowError
        assert isinstance(report, loopkit.TickReport)
    messages = loop.messages()
    assert messages and all(m.attempts >= 1 for m in messages)
    assert all(
        m.status in (loopkit.MessageStatus.PENDING, loopkit.MessageStatus.DEAD) for m in messages
    )
    assert [p.status for p in loop.promises()] == [loopkit.PromiseStatus.BROKEN]


@pytest.mark.parametrize("now", END_OF_TIME[:3], ids=["utc", "+14", "-14"])
def test_deciding_at_the_end_of_time_is_a_typed_error_not_an_overflow(now: datetime) -> None:
    with pytest.raises(loopkit.BusinessTimeError, match="expected an instant between"):
        PLAYBOOK.policies.decide(make_response(1), make_customer(), now)
    loop = loopkit.Loop(PLAYBOOK, clock=FakeClock(now))
    with pytest.raises(loopkit.BusinessTimeError):
        loop.ingest(make_response(1, answered_at=now), customer=make_customer())


def test_a_retry_due_after_the_end_of_time_is_due_at_once() -> None:
    retry = loopkit.RetryPolicy(base=timedelta(days=365), cap=timedelta(days=3650))
    message = loopkit.Message(
        id="msg-1",
        case_id="case-1",
        customer_id="c-1",
        channel="phone",
        purpose="follow_up",
        created_at=END_OF_TIME[0],
        not_before=END_OF_TIME[0],
    )
    import random

    later = retry.after_failure(message, ConnectionError(), END_OF_TIME[0], random.Random(1))
    assert later.next_attempt_at == END_OF_TIME[0]
    assert later.status is loopkit.MessageStatus.PENDING and later.attempts == 1


# -- 5. every public value pickles ------------------------------------------------------

STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "Customer": lks.customers(),
    "ContactPoint": lks.contact_points(),
    "ContactPreferences": lks.contact_preferences(),
    "DailyWindow": lks.daily_windows(),
    "Touchpoint": lks.touchpoints(),
    "Scale": lks.scales(),
    "Response": lks.responses(),
    "CaseEvent": lks.case_events(),
    "FollowUpCase": lks.cases(max_moves=4),
    "Promise": lks.promises(),
    "Message": lks.messages(),
}


_NOT_VALUES = {
    "DST_HEAVY_ZONES",
    "aware_datetimes",
    "attributes",
    "comments",
    "custom_scales",
    "ids",
    "scores",
    "slugs",
    "timezone_names",
    "timezones",
}


def test_every_public_value_with_a_strategy_is_in_the_pickle_test() -> None:
    """Every strategy for a model value in ``loopkit.testing.strategies`` is
    used below, and each names a public attrs class."""
    value_strategies = set(lks.__all__) - _NOT_VALUES
    assert len(value_strategies) == len(STRATEGIES)
    for name in STRATEGIES:
        cls = getattr(loopkit, name)
        assert name in loopkit.__all__ and attrs.has(cls)


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_public_value_pickles(name: str) -> None:
    @settings(
        max_examples=60,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        deadline=None,
    )
    @given(STRATEGIES[name])
    def round_trip(value: Any) -> None:
        for protocol in (4, pickle.HIGHEST_PROTOCOL):  # fold needs 4+
            copy = pickle.loads(pickle.dumps(value, protocol=protocol))
            assert type(copy) is type(value)
            assert copy == value  # (not repr: a frozenset may list its items in another order)
            if hasattr(value, "to_dict"):
                assert copy.to_dict() == value.to_dict()
        if isinstance(value, loopkit.Customer | loopkit.Touchpoint):
            with pytest.raises(TypeError):  # still read-only after the trip
                copy.attributes["new"] = 1  # type: ignore[index]

    round_trip()


def test_a_customer_pickles_with_its_attributes_read_only() -> None:
    customer = make_customer(attributes={"tier": "gold", "tags": ["a", "b"]})
    copy = pickle.loads(pickle.dumps(customer))
    assert copy == customer and copy.attributes["tags"] == ("a", "b")
    with pytest.raises(TypeError):
        copy.attributes["tier"] = "silver"  # type: ignore[index]


# -- 8. junk that used to be accepted ---------------------------------------------------

JUNK = {
    "NUL": "gold\x00",
    "bell": "gold\x07",
    "ANSI colour": "\x1b[31mgold\x1b[0m",
    "ANSI clear screen": "\x1b[2Jgold",
    "newline": "gold\nINFO fake log line",
    "C1 control": "gold\x9b31m",
    "DEL": "gold\x7f",
}


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
@pytest.mark.parametrize("field", ["segment", "region"])
def test_a_segment_or_region_with_control_characters_or_ansi_codes_is_refused(
    field: str, junk: str
) -> None:
    with pytest.raises(loopkit.ValidationError) as built:
        loopkit.Customer(id="c-1", timezone="UTC", **{field: junk})
    assert built.value.path == f"Customer.{field}"
    with pytest.raises(loopkit.ValidationError) as read:
        loopkit.Customer.from_dict({"id": "c-1", "timezone": "UTC", field: junk})
    assert read.value.path == f"customer.{field}"
    assert read.value.expected in (
        "a label without control characters",
        "text without NUL characters or lone surrogates",  # a NUL is caught as it is read
    )
    assert "\x1b" not in str(read.value) and "\x00" not in str(read.value)


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
def test_an_id_or_slug_with_control_characters_or_ansi_codes_is_refused(junk: str) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: loopkit.Customer(id=junk, timezone="UTC"),
        lambda: make_response(1, id=junk),
        lambda: make_response(1, customer_id=junk),
        lambda: make_response(1, source=junk),
        lambda: loopkit.ContactPoint(channel=junk, address="x"),
        lambda: loopkit.testing.make_touchpoint(kind=junk),
        lambda: loopkit.testing.make_touchpoint(employee_id=junk),
        lambda: loopkit.testing.make_touchpoint(reference=junk),
    ]
    for attempt in attempts:
        with pytest.raises(loopkit.ValidationError) as info:
            attempt()
        assert "\x1b" not in str(info.value) and "\x00" not in str(info.value)


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "Factory", "posix/Europe/Stockholm", "right/UTC"]
)
def test_localtime_and_other_non_zones_are_refused_as_a_customer_time_zone(name: str) -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.Customer(id="c-1", timezone=name)
    assert info.value.path == "Customer.timezone"
    assert info.value.expected == "a real IANA zone key such as 'Europe/Stockholm'"
    with pytest.raises(loopkit.ValidationError):
        loopkit.Customer.from_dict({"id": "c-1", "timezone": name})


@pytest.mark.parametrize("name", ["UTC", "Europe/Stockholm", "America/Argentina/Buenos_Aires"])
def test_real_zone_keys_are_still_accepted(name: str) -> None:
    assert loopkit.Customer(id="c-1", timezone=name).timezone == name


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("sv", True),
        ("sv-SE", True),
        ("zh-Hant-TW", True),
        ("Anna", False),
        ("1234", False),
        ("sv--SE", False),
        ("sv-", False),
        ("a", False),
    ],
)
def test_a_language_must_be_a_language_tag(tag: str, ok: bool) -> None:
    if ok:
        assert loopkit.Customer(id="c-1", timezone="UTC", language=tag).language == tag
    else:
        with pytest.raises(loopkit.ValidationError, match="language tag"):
            loopkit.Customer(id="c-1", timezone="UTC", language=tag)
