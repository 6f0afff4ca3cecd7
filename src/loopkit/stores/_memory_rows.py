"""How the in-memory store keeps ingest records, timers and messages: as rows
of plain values (tuples of strings, numbers and datetimes), which Python's
cyclic garbage collector does not have to scan, and the values built back from them."""

from __future__ import annotations

import operator
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import attrs

from loopkit._input.trusted import builder
from loopkit.model import Message, MessageStatus

from .records import IngestRecord, Later, Timer

_IngestRow = tuple[str, str | None, str | None, str, datetime]
_TimerRow = tuple[str, str, datetime, int, str | None, Later]

_build_ingest: Final = builder(IngestRecord)
_build_timer: Final = builder(Timer)
_build_message: Final = builder(Message)
# A message row: its plain fields (attrgetter, in C), then its data as
# (key, value) pairs and its status as a string, so the row holds no object
# the garbage collector must follow.
_MESSAGE_FIELDS: Final = tuple(
    f.name for f in attrs.fields(Message) if f.name not in ("data", "status")
)
_plain_fields: Final = operator.attrgetter(*_MESSAGE_FIELDS)
_CASE_ID: Final = _MESSAGE_FIELDS.index("case_id")
_NOT_BEFORE: Final = _MESSAGE_FIELDS.index("not_before")
_NEXT_ATTEMPT: Final = _MESSAGE_FIELDS.index("next_attempt_at")
_DATA: Final = len(_MESSAGE_FIELDS)
_STATUS: Final = _DATA + 1


def _message_row(message: Message) -> tuple[Any, ...]:
    return (*_plain_fields(message), tuple(message.data.items()), str(message.status))


def _message(row: tuple[Any, ...]) -> Message:
    fields = dict(zip(_MESSAGE_FIELDS, row, strict=False))
    return _build_message(
        **fields, data=MappingProxyType(dict(row[_DATA])), status=MessageStatus(row[_STATUS])
    )
