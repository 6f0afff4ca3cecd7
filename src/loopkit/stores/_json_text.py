"""The JSON text a store keeps for a value, written straight from its fields.

The text is byte for byte what the stores wrote before, the compact JSON of
``value.to_dict()`` (:data:`ENCODE`), so every file written by an earlier
loopkit reads as before and the layout does not change;
``tests/test_store_json_text.py`` checks it on hypothesis' values of every
kind written here. What it saves is building each ``to_dict()`` and walking it
again in the encoder: one f-string per value, its strings escaped by the C
``encode_basestring`` the encoder itself uses, its free mappings (attributes,
details, data) and anything unusual handed to the encoder as before.

Measured on the values ``Loop.ingest_many`` writes for the example feed
(``benchmarks/bench_sqlite.py``'s, 2,000 responses, in the order written;
``valgrind --tool=callgrind``, ``PYTHONHASHSEED=0``): 293k instructions per
response for ``ENCODE(value.to_dict())``, 134k here (-54%); wall clock, on a
shared machine, 26 µs then 16 µs per response. Of that, the instants kept by
identity (:func:`_at`) save 47k instructions per response and the text-only
mappings (:func:`_free`) 9k.

A value of a subclass (which may carry fields of its own in its ``to_dict``)
goes through ``to_dict`` as before: each writer checks the exact class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Final

from loopkit._input.attributes import attributes_to_dict
from loopkit.model import (
    CaseEvent,
    ContactPoint,
    ContactPreferences,
    Customer,
    FollowUpCase,
    Message,
    Response,
    Touchpoint,
)

from .records import IngestRecord, LaterTimer, Timer

ENCODE: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode
"""Compact JSON, made once (``json.dumps`` with options builds an encoder per call).
``to_dict()`` gives trees of plain values, so the circular-reference check is skipped."""

_S: Final = encode_basestring  # the encoder's own string escaping (C), quotes included


def _opt(value: str | None) -> str:
    return "null" if value is None else _S(value)


def _int(value: int) -> str:
    return str(value) if value.__class__ is int else ENCODE(value)  # a bool is not an int here


def _bool(value: bool) -> str:
    return "true" if value is True else "false" if value is False else ENCODE(value)


def _free(value: Mapping[str, Any]) -> str:
    """Free attributes: text to text written here (a message's data, an opened
    event's details: two per ingest on the example feed, ~1.5 µs each saved),
    any other JSON values by the encoder, as before."""
    if not value:
        return "{}"
    parts = []
    for key, item in value.items():
        if key.__class__ is not str or item.__class__ is not str:
            return ENCODE(attributes_to_dict(value))
        parts.append(f"{_S(key)}:{_S(item)}")
    return "{" + ",".join(parts) + "}"


def _strs(values: Iterable[str]) -> str:
    return "[" + ",".join([_S(v) for v in values]) + "]"


# Instants: the values of one ingest often share one datetime object (a case's
# opened_at is its first event's `at`, a message's created_at its not_before,
# most of them the ingest's `now`), and isoformat() is the costliest call left
# here. 4.9 of the 7.8 instants per ingest are repeats on the example feed;
# answering them from here cut this module's instructions by 25% (callgrind,
# 190k -> 142k per ingest, before the text-only mappings). Kept by identity (the entry holds
# the object, so its id is not reused while kept); at most 64, then emptied.
_SEEN: Final[dict[int, tuple[datetime, str]]] = {}


def _at(at: datetime) -> str:
    seen = _SEEN.get(id(at))
    if seen is not None and seen[0] is at:
        return seen[1]
    if len(_SEEN) >= 64:
        _SEEN.clear()
    text = _S(at.isoformat())  # format_instant
    _SEEN[id(at)] = (at, text)
    return text


def _opt_at(at: datetime | None) -> str:
    return "null" if at is None else _at(at)


def _touchpoint(tp: Touchpoint | None) -> str:
    if tp is None:
        return "null"
    if tp.__class__ is not Touchpoint:
        return ENCODE(tp.to_dict())
    return (
        f'{{"id":{_S(tp.id)},"kind":{_S(tp.kind)},"channel":{_S(tp.channel)},'
        f'"occurred_at":{_at(tp.occurred_at)},"employee_id":{_opt(tp.employee_id)},'
        f'"reference":{_opt(tp.reference)},"attributes":{_free(tp.attributes)}}}'
    )


def _response(r: Response) -> str:
    if r.__class__ is not Response:
        return ENCODE(r.to_dict())
    scale = r.scale.to_dict()  # a built-in scale's name, else its fields
    return (
        f'{{"id":{_S(r.id)},"customer_id":{_S(r.customer_id)},'
        f'"scale":{_S(scale) if scale.__class__ is str else ENCODE(scale)},'
        f'"score":{_int(r.score)},"comment":{_opt(r.comment)},'
        f'"answered_at":{_at(r.answered_at)},"survey":{_S(r.survey.value)},'
        f'"source":{_opt(r.source)},"touchpoint":{_touchpoint(r.touchpoint)}}}'
    )


def _ingest(record: IngestRecord) -> str:
    if record.response is not None:
        head = f'{{"response":{_response(record.response)}'
    else:
        head = (
            f'{{"touchpoint":{_touchpoint(record.touchpoint)},'
            f'"customer_id":{_opt(record.customer_id)}'
        )
    return (
        f'{head},"outcome":{_S(record.outcome.value)},"case_id":{_opt(record.case_id)},'
        f'"policy":{_opt(record.policy)},"reason":{_S(record.reason)},'
        f'"ingested_at":{_at(record.ingested_at)}}}'
    )


def _event(e: CaseEvent) -> str:
    if e.__class__ is not CaseEvent:
        return ENCODE(e.to_dict())
    return (
        f'{{"at":{_at(e.at)},"actor":{_S(e.actor)},"kind":{_S(e.kind)},'
        f'"note":{_opt(e.note)},"details":{_free(e.details)}}}'
    )


def _case(c: FollowUpCase) -> str:
    events = ",".join([_event(e) for e in c.events])
    return (
        f'{{"id":{_S(c.id)},"customer_id":{_S(c.customer_id)},"opened_at":{_at(c.opened_at)},'
        f'"state":{_S(c.state.value)},"origin":{_S(c.origin.value)},"policy":{_opt(c.policy)},'
        f'"topic":{_opt(c.topic)},"owner":{_opt(c.owner)},"channel":{_opt(c.channel)},'
        f'"due_at":{_opt_at(c.due_at)},"warn_at":{_opt_at(c.warn_at)},'
        f'"escalation_level":{_int(c.escalation_level)},'
        f'"response_ids":{_strs(c.response_ids)},'
        f'"required_steps":{_strs(sorted(c.required_steps))},'
        f'"root_causes":{_strs(sorted(c.root_causes))},"events":[{events}]}}'
    )


def _later(step: LaterTimer) -> str:
    if step.__class__ is not LaterTimer:
        return ENCODE(step.to_dict())
    return (
        f'{{"kind":{_S(step.kind.value)},"due_at":{_at(step.due_at)},'
        f'"level":{_int(step.level)},"to":{_opt(step.to)}}}'
    )


def _timer(t: Timer) -> str:
    later = ",".join([_later(step) for step in t.later])
    return (
        f'{{"id":{_S(t.id)},"case_id":{_S(t.case_id)},"kind":{_S(t.kind.value)},'
        f'"due_at":{_at(t.due_at)},"level":{_int(t.level)},"to":{_opt(t.to)},'
        f'"later":[{later}]}}'
    )


def _message(m: Message) -> str:
    return (
        f'{{"id":{_S(m.id)},"case_id":{_S(m.case_id)},"customer_id":{_S(m.customer_id)},'
        f'"channel":{_S(m.channel)},"purpose":{_S(m.purpose)},'
        f'"created_at":{_at(m.created_at)},"not_before":{_at(m.not_before)},'
        f'"address":{_opt(m.address)},"subject":{_opt(m.subject)},"body":{_opt(m.body)},'
        f'"data":{_free(m.data)},"status":{_S(m.status.value)},"attempts":{_int(m.attempts)},'
        f'"next_attempt_at":{_opt_at(m.next_attempt_at)},"last_error":{_opt(m.last_error)},'
        f'"sent_at":{_opt_at(m.sent_at)}}}'
    )


def _contact(p: ContactPreferences) -> str:
    if p.__class__ is not ContactPreferences:
        return ENCODE(p.to_dict())
    points = ",".join(
        [
            ENCODE(point.to_dict())
            if point.__class__ is not ContactPoint
            else f'{{"channel":{_S(point.channel)},"address":{_S(point.address)}}}'
            for point in p.channels
        ]
    )
    quiet, preferred = p.quiet_hours, p.preferred_window
    return (
        f'{{"channels":[{points}],'
        f'"quiet_hours":{"null" if quiet is None else _S(str(quiet))},'
        f'"preferred_window":{"null" if preferred is None else _S(str(preferred))},'
        f'"surveys_opt_out":{_bool(p.surveys_opt_out)}}}'
    )


def _customer(c: Customer) -> str:
    value = c.value
    return (
        f'{{"id":{_S(c.id)},"timezone":{_S(c.timezone)},"segment":{_opt(c.segment)},'
        f'"region":{_opt(c.region)},"value":{"null" if value is None else _S(str(value))},'
        f'"language":{_opt(c.language)},"name":{_opt(c.name)},'
        f'"contact":{_contact(c.contact)},"attributes":{_free(c.attributes)}}}'
    )


_WRITERS: Final[dict[type, Callable[[Any], str]]] = {
    IngestRecord: _ingest,
    FollowUpCase: _case,
    Timer: _timer,
    Message: _message,
    Customer: _customer,
}


def json_text(value: Any) -> str:
    """The compact JSON of ``value.to_dict()``: written from the fields for the
    values each ingest writes (by their exact class), through ``to_dict`` for
    any other."""
    writer = _WRITERS.get(value.__class__)
    return ENCODE(value.to_dict()) if writer is None else writer(value)
