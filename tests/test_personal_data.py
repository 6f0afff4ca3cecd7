"""Erasing a customer's personal data (on request and by retention) and
exporting it, through the public API, on the memory and SQLite stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import loopkit
from loopkit import Loop, MemoryStore, SQLiteStore, load_playbook
from loopkit.metrics import case_metrics, nps
from loopkit.testing import (
    FakeClock,
    RecordingChannel,
    make_customer,
    make_response,
    make_touchpoint,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"

# Planted personal values: each must be gone from every table after erasure.
NAME = "Astrid Planted-Lindqvist"
PHONE = "+46701234599"
EMAIL = "astrid.planted@example.org"
COMMENT = "The clerk at Drottninggatan was rude PLANTED-COMMENT"
REFERENCE = "order-PLANTED-4711"
ATTRIBUTE = "PLANTED-ATTRIBUTE-VALUE"
NOTE = "Called her, she is upset about PLANTED-NOTE"
CLOSE_NOTE = "Gave PLANTED-CLOSE-NOTE"
PLANTED = (NAME, PHONE, EMAIL, COMMENT, REFERENCE, ATTRIBUTE, NOTE, CLOSE_NOTE)


def playbook(retention: str | None = None) -> loopkit.Playbook:
    data = load_playbook(EXAMPLES)
    if retention is None:
        return data

    return attrs.evolve(
        data, retention=loopkit.RetentionRules.from_dict({"personal_data": retention})
    )


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[loopkit.Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    opened: loopkit.Store
    if request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "loop.db")
    else:
        from loopkit.stores.postgres import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        opened = PostgresStore(dsn, schema=request.getfixturevalue("postgres_schema"))
    yield opened
    opened.close()


def make_loop(store: loopkit.Store, retention: str | None = None) -> tuple[Loop, FakeClock]:
    clock = FakeClock()
    channels = loopkit.channels.ChannelPlugin(
        {name: RecordingChannel() for name in ("phone", "email", "sms")}
    )
    return Loop(playbook(retention), store=store, clock=clock, plugins=[channels]), clock


def astrid() -> loopkit.Customer:
    return make_customer(
        "c-astrid",
        name=NAME,
        channels={"phone": PHONE, "email": EMAIL},
        attributes={"nickname": ATTRIBUTE},
    )


def unhappy(id: str = "r-1", score: int = 2, **fields: object) -> loopkit.Response:
    touchpoint = make_touchpoint(reference=REFERENCE, attributes={"till": ATTRIBUTE})
    return make_response(
        score, id=id, customer_id="c-astrid", comment=COMMENT, touchpoint=touchpoint, **fields
    )


def close_a_loop(loop: Loop, clock: FakeClock) -> str:
    """Astrid answers 2, is called, and her case is closed; a second answer
    opens a case whose follow-up message is still owed. Returns the first case."""
    first = loop.ingest(unhappy(), customer=astrid()).case
    assert first is not None
    clock.advance(timedelta(hours=1))
    loop.add_note(first.id, NOTE, by="emp-7")
    loop.record_contact(first.id, "reached", by="emp-7")
    loop.close(first.id, resolved=True, by="emp-7", note=CLOSE_NOTE, root_causes=["rude_staff"])
    return first.id


def everything(loop: Loop) -> str:
    """Every value the store gives back, as text."""
    parts: list[object] = [loop.personal_data.export("c-astrid")]
    parts += [c.to_dict() for c in loop.cases()]
    parts += [m.to_dict() for m in loop.messages()]
    parts += [repr(c) for c in loop.cases()]
    return json.dumps(parts, default=str)


def test_erasing_leaves_no_personal_value_and_keeps_the_facts(store: loopkit.Store) -> None:
    loop, clock = make_loop(store)
    case_id = close_a_loop(loop, clock)
    clock.advance(timedelta(days=2))
    second = loop.ingest(unhappy("r-2"), customer=astrid()).case
    assert second is not None
    before = everything(loop)
    assert all(value in before for value in (NAME, COMMENT, NOTE, CLOSE_NOTE, PHONE))
    now = clock.now()
    nps_before = nps(r["score"] for r in loop.personal_data.export("c-astrid")["responses"])
    cases_before = case_metrics(loop.cases(), now=now)

    erasure = loop.personal_data.erase("c-astrid", by="dpo-1")

    assert erasure.reason == "request" and erasure.by == "dpo-1"
    assert set(erasure.case_ids) == {case_id, second.id}
    after = everything(loop)
    assert [value for value in PLANTED if value in after] == []
    assert loop.personal_data.erasures("c-astrid") == [erasure]
    # the anonymous facts stay: every metric adds up as before
    exported = loop.personal_data.export("c-astrid")
    assert nps(r["score"] for r in exported["responses"]) == nps_before
    assert case_metrics(loop.cases(), now=now) == cases_before
    assert loop.case(case_id).root_causes == frozenset({"rude_staff"})
    # the message still owed is cancelled, and the case's log says why
    owed = loop.messages(second.id)
    assert [m.status for m in owed] == [loopkit.MessageStatus.CANCELLED]
    reasons = [e.details.get("reason") for e in loop.case(second.id).events]
    assert "personal_data_erased" in reasons
    assert loop.tick().sent == 0


def test_the_sqlite_file_holds_no_erased_value(tmp_path: Path) -> None:
    path = tmp_path / "loop.db"
    store = SQLiteStore(path)
    loop, clock = make_loop(store)
    close_a_loop(loop, clock)
    loop.personal_data.erase("c-astrid", by="dpo-1")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("loop.db"))
    store.close()
    raw += b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("loop.db"))
    found = [value for value in PLANTED if value.encode() in raw]
    assert found == []
    assert b"c-astrid" in raw  # the pseudonymous id stays, with the facts


def test_replaying_the_feed_after_an_erasure_is_still_a_replay(store: loopkit.Store) -> None:
    loop, clock = make_loop(store)
    close_a_loop(loop, clock)
    loop.personal_data.erase("c-astrid", by="dpo-1")
    again = loop.ingest(unhappy(), customer=astrid())
    assert again.replayed
    with pytest.raises(loopkit.ConflictError):
        loop.ingest(unhappy(score=3), customer=astrid())


def test_export_holds_what_the_store_keeps(store: loopkit.Store) -> None:
    loop, clock = make_loop(store)
    close_a_loop(loop, clock)
    exported = loop.personal_data.export("c-astrid")
    json.dumps(exported)  # JSON-safe
    assert exported["customer"]["name"] == NAME
    assert [r["comment"] for r in exported["responses"]] == [COMMENT]
    assert len(exported["cases"]) == 1 and exported["erasures"] == []
    assert loop.personal_data.export("c-nobody")["cases"] == []


def test_retention_erases_a_closed_case_once_its_period_passed(store: loopkit.Store) -> None:
    loop, clock = make_loop(store, retention="30d")
    case_id = close_a_loop(loop, clock)
    clock.advance(timedelta(days=29))
    assert loop.tick().erased == 0
    assert loop.personal_data.export("c-astrid")["responses"][0]["comment"] == COMMENT
    clock.advance(timedelta(days=2))
    assert loop.tick().erased == 1
    assert loop.tick().erased == 0  # once
    assert [value for value in PLANTED if value in everything(loop)] == []
    (erasure,) = loop.personal_data.erasures()
    assert (erasure.reason, erasure.by, erasure.case_ids) == ("retention", "loopkit", (case_id,))


def test_retention_waits_for_a_reopened_case_to_close_again(store: loopkit.Store) -> None:
    loop, clock = make_loop(store, retention="30d")
    case_id = close_a_loop(loop, clock)
    clock.advance(timedelta(days=10))
    loop.reopen(case_id, by="emp-7")
    clock.advance(timedelta(days=25))
    assert loop.tick().erased == 0
    loop.record_contact(case_id, "reached", by="emp-7")
    loop.close(case_id, resolved=True, by="emp-7")
    clock.advance(timedelta(days=29))
    assert loop.tick().erased == 0
    clock.advance(timedelta(days=2))
    assert loop.tick().erased == 1


def test_retention_keeps_the_customer_copy_while_a_case_is_open(store: loopkit.Store) -> None:
    loop, clock = make_loop(store, retention="1d")
    close_a_loop(loop, clock)
    loop.ingest(unhappy("r-2", answered_at=clock.now()), customer=astrid())
    clock.advance(timedelta(days=2))
    assert loop.tick().erased == 1
    customer = loop.personal_data.export("c-astrid")["customer"]
    assert customer["name"] == NAME  # still needed to reach her on the open case


def test_bad_input_names_the_field() -> None:
    loop, _ = make_loop(MemoryStore())
    with pytest.raises(loopkit.ValidationError) as err:
        loop.personal_data.erase("c-1", by="")
    assert err.value.path == "by"
    with pytest.raises(loopkit.ValidationError) as err:
        loop.personal_data.erase(" ", by="dpo-1")
    assert err.value.path == "customer_id"
    with pytest.raises(loopkit.ValidationError) as err:
        load_playbook({"version": 1, "policies": [], "retention": {"personal_data": "-3d"}})
    assert "retention.personal_data" in str(err.value)


def test_erasure_records_hold_no_personal_data() -> None:
    loop, clock = make_loop(MemoryStore())
    close_a_loop(loop, clock)
    erasure = loop.personal_data.erase("c-astrid", by="dpo-1")
    text = repr(erasure) + json.dumps(erasure.to_dict())
    assert [value for value in PLANTED if value in text] == []
    assert loopkit.Erasure.from_dict(erasure.to_dict()) == erasure
