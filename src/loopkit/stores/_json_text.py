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
``valgrind --tool=callgrind``, ``PYTHONHASHSEED=0``, repeat runs within about
6k): 292k instructions per response for ``ENCODE(value.to_dict())``, about
120k here (-58%); wall clock, on a shared machine, 26 µs then 16 µs per
response. Of the tricks in it, each measured alone: the instants kept by
identity (:func:`_at`) save 47k instructions per response; the text-only
mappings (:func:`_free`) 9k; a ``StrEnum`` member escaped as the string it
is, not through its ``.value`` (a Python-level property in 3.11), about 8k;
``None`` tested in line rather than in a helper (``"null" if x is None else
_S(x)``, one field a line), about 10k.

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
    Scale,
    Touchpoint,
)

from .records import IngestRecord, LaterTimer, Timer

ENCODE: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode
"""Compact JSON, made once (``json.dumps`` with options builds an encoder per call).
``to_dict()`` gives trees of plain values, so the circular-reference check is skipped."""

_S: Final = encode_basestring  # the encoder's own string escaping (C), quotes included


def _int(value: int) -> str:
    return str(value) if value.__class__ is int else ENCODE(value)  # a bool is not an int here


def _bool(value: bool) -> str:
    return "true" if value is True else "false" if value is False else ENCODE(value)


def _free(value: Mapping[str, Any]) -> str:
    """Free attributes: text to text written here (a message's data, an opened
    event's details: two per ingest on the example feed), any other JSON
    values by the encoder, as before."""
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
# 190k -> 142k per ingest, before the other tricks). Kept by identity (the
# entry holds the object, so its id is not reused while kept); at most 64,
# then emptied.
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


# Below, one JSON field a line, in to_dict's order; "null" if x is None else
# _S(x) is written out (a helper's call cost about 10k instructions per
# ingest), and a StrEnum member is escaped as it is (its .value is the same
# text: about 8k).


def _touchpoint(tp: Touchpoint | None) -> str:
    if tp is None:
        return "null"
    if tp.__class__ is not Touchpoint:
        return ENCODE(tp.to_dict())
    return (
        f'{{"id":{_S(tp.id)},'
        f'"kind":{_S(tp.kind)},'
        f'"channel":{_S(tp.channel)},'
        f'"occurred_at":{_at(tp.occurred_at)},'
        f'"employee_id":{"null" if tp.employee_id is None else _S(tp.employee_id)},'
        f'"reference":{"null" if tp.reference is None else _S(tp.reference)},'
        f'"attributes":{_free(tp.attributes)}}}'
    )


def _scale(scale: Scale) -> str:
    if Scale.BUILTIN.get(scale.name) is scale:
        return _S(scale.name)
    text = scale.to_dict()  # a built-in scale's name, else its fields
    return _S(text) if text.__class__ is str else ENCODE(text)


def _response(r: Response) -> str:
    if r.__class__ is not Response:
        return ENCODE(r.to_dict())
    return (
        f'{{"id":{_S(r.id)},'
        f'"customer_id":{_S(r.customer_id)},'
        f'"scale":{_scale(r.scale)},'
        f'"score":{_int(r.score)},'
        f'"comment":{"null" if r.comment is None else _S(r.comment)},'
        f'"answered_at":{_at(r.answered_at)},'
        f'"survey":{_S(r.survey)},'
        f'"source":{"null" if r.source is None else _S(r.source)},'
        f'"touchpoint":{_touchpoint(r.touchpoint)}}}'
    )


def _ingest(record: IngestRecord) -> str:
    if record.response is not None:
        head = f'{{"response":{_response(record.response)}'
    else:
        head = (
            f'{{"touchpoint":{_touchpoint(record.touchpoint)},'
            f'"customer_id":{_S(record.customer_id)}'
        )
    return (
        f"{head},"
        f'"outcome":{_S(record.outcome)},'
        f'"case_id":{"null" if record.case_id is None else _S(record.case_id)},'
        f'"policy":{"null" if record.policy is None else _S(record.policy)},'
        f'"reason":{_S(record.reason)},'
        f'"ingested_at":{_at(record.ingested_at)}}}'
    )


def _event(e: CaseEvent) -> str:
    if e.__class__ is not CaseEvent:
        return ENCODE(e.to_dict())
    return (
        f'{{"at":{_at(e.at)},'
        f'"actor":{_S(e.actor)},'
        f'"kind":{_S(e.kind)},'
        f'"note":{"null" if e.note is None else _S(e.note)},'
        f'"details":{_free(e.details)}}}'
    )


def _case(c: FollowUpCase) -> str:
    events = ",".join([_event(e) for e in c.events])
    return (
        f'{{"id":{_S(c.id)},'
        f'"customer_id":{_S(c.customer_id)},'
        f'"opened_at":{_at(c.opened_at)},'
        f'"state":{_S(c.state)},'
        f'"origin":{_S(c.origin)},'
        f'"policy":{"null" if c.policy is None else _S(c.policy)},'
        f'"topic":{"null" if c.topic is None else _S(c.topic)},'
        f'"owner":{"null" if c.owner is None else _S(c.owner)},'
        f'"channel":{"null" if c.channel is None else _S(c.channel)},'
        f'"due_at":{"null" if c.due_at is None else _at(c.due_at)},'
        f'"warn_at":{"null" if c.warn_at is None else _at(c.warn_at)},'
        f'"escalation_level":{_int(c.escalation_level)},'
        f'"response_ids":{_strs(c.response_ids)},'
        f'"required_steps":{_strs(sorted(c.required_steps))},'
        f'"root_causes":{_strs(sorted(c.root_causes))},'
        f'"events":[{events}]}}'
    )


def _later(step: LaterTimer) -> str:
    if step.__class__ is not LaterTimer:
        return ENCODE(step.to_dict())
    return (
        f'{{"kind":{_S(step.kind)},'
        f'"due_at":{_at(step.due_at)},'
        f'"level":{_int(step.level)},'
        f'"to":{"null" if step.to is None else _S(step.to)}}}'
    )


def _timer(t: Timer) -> str:
    later = ",".join([_later(step) for step in t.later])
    return (
        f'{{"id":{_S(t.id)},'
        f'"case_id":{_S(t.case_id)},'
        f'"kind":{_S(t.kind)},'
        f'"due_at":{_at(t.due_at)},'
        f'"level":{_int(t.level)},'
        f'"to":{"null" if t.to is None else _S(t.to)},'
        f'"later":[{later}]}}'
    )


def _message(m: Message) -> str:
    return (
        f'{{"id":{_S(m.id)},'
        f'"case_id":{_S(m.case_id)},'
        f'"customer_id":{_S(m.customer_id)},'
        f'"channel":{_S(m.channel)},'
        f'"purpose":{_S(m.purpose)},'
        f'"created_at":{_at(m.created_at)},'
        f'"not_before":{_at(m.not_before)},'
        f'"address":{"null" if m.address is None else _S(m.address)},'
        f'"subject":{"null" if m.subject is None else _S(m.subject)},'
        f'"body":{"null" if m.body is None else _S(m.body)},'
        f'"data":{_free(m.data)},'
        f'"status":{_S(m.status)},'
        f'"attempts":{_int(m.attempts)},'
        f'"next_attempt_at":{"null" if m.next_attempt_at is None else _at(m.next_attempt_at)},'
        f'"last_error":{"null" if m.last_error is None else _S(m.last_error)},'
        f'"sent_at":{"null" if m.sent_at is None else _at(m.sent_at)}}}'
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
    return (
        f'{{"id":{_S(c.id)},'
        f'"timezone":{_S(c.timezone)},'
        f'"segment":{"null" if c.segment is None else _S(c.segment)},'
        f'"region":{"null" if c.region is None else _S(c.region)},'
        f'"value":{"null" if c.value is None else _S(str(c.value))},'
        f'"language":{"null" if c.language is None else _S(c.language)},'
        f'"name":{"null" if c.name is None else _S(c.name)},'
        f'"contact":{_contact(c.contact)},'
        f'"attributes":{_free(c.attributes)}}}'
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
    any other, and for one with a field of a type its writer does not take (a
    field without a validator given a number instead of a text, say): the
    same text, or the same error, as before."""
    writer = _WRITERS.get(value.__class__)
    if writer is not None:
        try:
            return writer(value)
        except (TypeError, AttributeError):  # (no cost while nothing is raised)
            pass
    return ENCODE(value.to_dict())
