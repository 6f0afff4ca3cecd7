"""The SQLite store keeps each value as the compact JSON of its ``to_dict()``,
byte for byte, whichever way it builds the text (for speed it writes the values
an ingest writes straight from their fields): the files earlier releases wrote
and the ones this release writes hold the same text, and each reads back equal."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit import SQLiteStore
from loopkit.stores import IngestOutcome, IngestRecord, LaterTimer, Timer, TimerKind
from loopkit.testing.strategies import (
    aware_datetimes,
    cases,
    comments,
    customers,
    ids,
    messages,
    responses,
    touchpoints,
)

_NUMBERS = itertools.count()


def compact(value: Any) -> str:
    """What stores have always written: ``to_dict()`` as compact JSON."""
    return json.dumps(value.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SQLiteStore, Path]]:
    path = tmp_path_factory.mktemp("json-text") / "loop.db"
    with SQLiteStore(path, synchronous="normal") as opened:
        yield opened, path


def stored(path: Path, sql: str, key: str) -> str:
    """The text in the file, read by a connection of its own."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(sql, (key,)).fetchone()
    finally:
        conn.close()
    assert row is not None
    return str(row[0])


later_timers = st.builds(
    LaterTimer,
    kind=st.sampled_from(TimerKind),
    due_at=aware_datetimes(),
    level=st.integers(0, 5),
    to=st.none() | ids(),
)
timers = st.builds(
    Timer,
    id=ids(),
    case_id=ids(),
    kind=st.sampled_from(TimerKind),
    due_at=aware_datetimes(),
    level=st.integers(0, 5),
    to=st.none() | ids(),
    later=st.lists(later_timers, max_size=3).map(tuple),
)
_OUTCOMES = st.sampled_from(IngestOutcome)
response_records = st.builds(
    IngestRecord,
    response=responses(),
    outcome=_OUTCOMES,
    case_id=st.none() | ids(),
    policy=st.none() | ids(),
    reason=comments(max_size=40),
    ingested_at=aware_datetimes(),
)
signal_records = st.builds(
    IngestRecord,
    touchpoint=touchpoints(),
    customer_id=ids(),
    outcome=_OUTCOMES,
    case_id=st.none() | ids(),
    policy=st.none() | ids(),
    reason=comments(max_size=40),
    ingested_at=aware_datetimes(),
)


@settings(max_examples=40, deadline=None)
@given(record=response_records | signal_records)
def test_an_ingest_record_is_kept_as_its_compact_json(
    store: tuple[SQLiteStore, Path], record: IngestRecord
) -> None:
    sqlite, path = store
    number = next(_NUMBERS)  # a key not stored before
    if record.response is not None:
        record = attrs.evolve(record, response=attrs.evolve(record.response, id=f"r-{number}"))
    else:
        assert record.touchpoint is not None
        record = attrs.evolve(record, touchpoint=attrs.evolve(record.touchpoint, id=f"t-{number}"))
    with sqlite.transaction() as tx:
        tx.add_ingest(record)
    text = stored(path, "SELECT data FROM ingests WHERE response_id = ?", record.key)
    assert text == compact(record)
    # (read back, the instants carry fixed offsets: an IngestRecord compares
    # them as datetimes, so one in a DST fold or gap differs; its text does not)
    assert compact(IngestRecord.from_dict(json.loads(text))) == text


@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_a_case_is_kept_as_its_compact_json(
    store: tuple[SQLiteStore, Path], case: loopkit.FollowUpCase
) -> None:
    sqlite, path = store
    with sqlite.transaction() as tx:
        tx.save_case(case)
    text = stored(path, "SELECT data FROM cases WHERE id = ?", case.id)
    assert text == compact(case)
    assert loopkit.FollowUpCase.from_dict(json.loads(text)) == case


@settings(max_examples=40, deadline=None)
@given(timer=timers)
def test_a_timer_is_kept_as_its_compact_json(store: tuple[SQLiteStore, Path], timer: Timer) -> None:
    sqlite, path = store
    with sqlite.transaction() as tx:
        tx.add_timer(timer)
    text = stored(path, "SELECT data FROM timers WHERE id = ?", timer.id)
    assert text == compact(timer)
    assert compact(Timer.from_dict(json.loads(text))) == text  # (as for ingest records)


@settings(max_examples=40, deadline=None)
@given(message=messages())
def test_a_message_is_kept_as_its_compact_json(
    store: tuple[SQLiteStore, Path], message: loopkit.Message
) -> None:
    sqlite, path = store
    with sqlite.transaction() as tx:
        tx.save_message(message)
    text = stored(path, "SELECT data FROM messages WHERE id = ?", message.id)
    assert text == compact(message)
    assert loopkit.Message.from_dict(json.loads(text)) == message


@settings(max_examples=40, deadline=None)
@given(customer=customers())
def test_a_customer_is_kept_as_its_compact_json(
    store: tuple[SQLiteStore, Path], customer: loopkit.Customer
) -> None:
    sqlite, path = store
    with sqlite.transaction() as tx:
        tx.save_customer(customer)
    text = stored(path, "SELECT data FROM customers WHERE id = ?", customer.id)
    assert text == compact(customer)
    assert loopkit.Customer.from_dict(json.loads(text)) == customer


@attrs.frozen(kw_only=True)
class _TaggedCustomer(loopkit.Customer):
    """A host's own kind of customer, with a field of its own in ``to_dict``."""

    tag: str = "vip"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "tag": self.tag}


def test_a_value_of_a_subclass_is_kept_as_its_own_to_dict(
    store: tuple[SQLiteStore, Path],
) -> None:
    sqlite, path = store
    customer = _TaggedCustomer(id="c-tagged", timezone="Europe/Stockholm", name="Anna Ö")
    with sqlite.transaction() as tx:
        tx.save_customer(customer)
    text = stored(path, "SELECT data FROM customers WHERE id = ?", customer.id)
    assert text == compact(customer)
    assert json.loads(text)["tag"] == "vip"


def test_one_instant_shared_by_several_values_is_written_with_each_its_offset(
    store: tuple[SQLiteStore, Path],
) -> None:
    # The same instant in two zones, and the same object in two values: each
    # value keeps the offset it was given.
    utc = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    local = utc.astimezone(ZoneInfo("Europe/Stockholm"))
    sqlite, path = store
    first = Timer(id="t-utc", case_id="k-1", kind=TimerKind.BREACH, due_at=utc)
    second = Timer(id="t-local", case_id="k-1", kind=TimerKind.BREACH, due_at=local)
    third = Timer(id="t-utc-again", case_id="k-1", kind=TimerKind.WARNING, due_at=utc)
    with sqlite.transaction() as tx:
        for timer in (first, second, third):
            tx.add_timer(timer)
    for timer in (first, second, third):
        text = stored(path, "SELECT data FROM timers WHERE id = ?", timer.id)
        assert text == compact(timer)
    assert '"2026-03-29T03:30:00+02:00"' in stored(
        path, "SELECT data FROM timers WHERE id = ?", "t-local"
    )


def test_a_field_of_an_unexpected_type_is_written_as_to_dict_writes_it(
    store: tuple[SQLiteStore, Path],
) -> None:
    # Message fields without a validator: a number where a text is expected,
    # a bool for the attempts, a plain string for the status.
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    odd = loopkit.Message(
        id="m-odd",
        case_id="k-1",
        customer_id="c-1",
        channel="sms",
        purpose="follow_up",
        created_at=at,
        not_before=at,
        last_error=404,  # type: ignore[arg-type]
        attempts=True,
    )
    sqlite, path = store
    with sqlite.transaction() as tx:
        tx.save_message(odd)
    text = stored(path, "SELECT data FROM messages WHERE id = ?", odd.id)
    assert text == compact(odd)
    assert '"last_error":404' in text
    assert '"attempts":true' in text
