"""Reading a CSV export through a column mapping: the header bound to the
mapping (every column it names must be there, every required field
covered), then each record read into the same shape as a JSON Lines row and
checked by the model's ``from_dict``. A problem names the column it came
from; a cell's content is never shown (a row may hold personal data)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from loopkit.errors import Problem, ValidationError, suggest

from ._feed import Row, open_feed, read_line
from ._mapping import REQUIRED, ColumnMapping, kind_of
from ._output import Failed
from ._records import MAX_RECORD_BYTES, Record, records
from ._times import TimeReading

__all__ = ["csv_rows"]

_BOM: Final = b"\xef\xbb\xbf"
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,19}")
_TRUE: Final = frozenset({"true", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "0"})
_CONTACT: Final = re.compile(r"customer\.contact\.channels\[([0-9]+)\]")
_CONTACT_KEYS: Final = frozenset({"quiet_hours", "preferred_window", "surveys_opt_out"})


@attrs.frozen
class _Binding:
    """The mapping bound to a header: each field's cell by index."""

    mapping: ColumnMapping
    width: int
    index: Mapping[str, int]  # field -> cell
    headers: Mapping[str, str]  # field -> column name, for messages


def csv_rows(
    feed: str, mapping: ColumnMapping, times: TimeReading, *, identity: bool
) -> Iterator[Row]:
    """The rows of a CSV export. The header is read and bound to the mapping
    at once (a :class:`ValidationError` before any row is read); the rows as
    they are iterated. With ``identity`` (no mapping file), a column named
    after a loopkit field (``response.score``) fills it."""
    delimiter = mapping.delimiter or ","
    with contextlib.ExitStack() as stack:
        stream = stack.enter_context(open_feed(feed))
        found = (r for r in records(stream, delimiter) if not _blank(r))
        head = next(found, None)
        binding = None
        if head is not None:
            header = _header(head, feed, delimiter)
            binding = _bind(mapping, header, feed, identity=identity)
        return _rest(stack.pop_all(), found, binding, times)


def _rest(
    stack: contextlib.ExitStack[bool | None],
    found: Iterator[Record],
    binding: _Binding | None,
    times: TimeReading,
) -> Iterator[Row]:
    with stack:
        if binding is None:
            return
        for record in found:
            yield _row(record, binding, times)


def _blank(record: Record) -> bool:
    return record.data is not None and not record.data.strip(_BOM + b" \t\r\n")


def _header(record: Record, feed: str, delimiter: str) -> list[str]:
    cells, problem = _cells(record, delimiter, first=True)
    if cells is None:
        raise Failed(f"{feed}:{record.line}: the header cannot be read: {problem}")
    if cells[0].lstrip().startswith(("{", "[")):
        raise Failed(
            f"{feed}: this looks like JSON Lines, not CSV (line {record.line} is a JSON "
            "object, not a header); use --format jsonl",
            2,
        )
    return [cell.strip() for cell in cells]


def _bind(mapping: ColumnMapping, header: list[str], feed: str, *, identity: bool) -> _Binding:
    where: dict[str, int] = {}
    twice: set[str] = set()
    for i, name in enumerate(header):
        if name in where:
            twice.add(name)
        where.setdefault(name, i)
    columns = dict(mapping.columns)
    if identity:
        columns = {name: name for name in header if kind_of(name) is not None} | columns
    problems: list[Problem] = []
    for field, name in columns.items():
        if name not in where:
            near = suggest(name, where)
            problems.append(
                Problem(
                    f"columns.{field}",
                    "a column the header has",
                    repr(name),
                    hint=f"did you mean {near!r}?" if near else None,
                    line=1,
                )
            )
        elif name in twice:
            problems.append(
                Problem(f"columns.{field}", "a column the header has once", repr(name), line=1)
            )
    needed = list(REQUIRED)
    if any(f.startswith("touchpoint.") for f in [*columns, *mapping.values]):
        needed += ["touchpoint.kind", "touchpoint.channel"]
    for field in needed:
        if field not in columns and field not in mapping.values:
            problems.append(
                Problem(
                    field,
                    "a column or a value for this required field",
                    hint=f"map it with --column {field}=COLUMN or --value {field}=VALUE",
                    line=1,
                )
            )
    if problems:
        raise ValidationError.of(problems, source=feed)
    return _Binding(
        mapping=mapping,
        width=len(header),
        index={field: where[name] for field, name in columns.items()},
        headers=columns,
    )


def _cells(
    record: Record, delimiter: str, *, first: bool = False
) -> tuple[list[str], None] | tuple[None, str]:
    """A record's cells, or why it cannot be read (never its content)."""
    span = f" (lines {record.line} to {record.last})" if record.last > record.line else ""
    if record.data is None:
        return None, f"expected a row of at most {MAX_RECORD_BYTES:,} bytes, got a longer one{span}"
    data = record.data[len(_BOM) :] if first and record.data.startswith(_BOM) else record.data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = record.line + data.count(b"\n", 0, err.start)
        column = err.start - data.rfind(b"\n", 0, err.start)
        return None, f"expected UTF-8 text, got an invalid byte at line {line}, column {column}"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:  # its message names no content
        return None, f"expected a CSV row, got one that cannot be read ({err})"
    if len(rows) != 1:
        return None, f"expected one CSV row, got {len(rows)}"
    return rows[0], None


def _row(record: Record, binding: _Binding, times: TimeReading) -> Row:
    cells, problem = _cells(record, binding.mapping.delimiter or ",")
    truncated = "; the file ends inside this row (truncated?)"
    if record.unclosed:
        span = f", up to line {record.last}" if record.last > record.line else ""
        return Row(
            record.line,
            [f"expected a closed quoted field, got the end of the file{span}" + truncated],
        )
    if cells is None:
        return Row(record.line, [str(problem)])
    if len(cells) != binding.width:  # no id: the cells may have shifted
        reason = f"expected {binding.width} cells, as the header has, got {len(cells)}"
        return Row(record.line, [reason + ("" if record.newline else truncated)])
    key_at = binding.index.get("response.id")
    key = None if key_at is None else (cells[key_at].strip()[:200] or None)
    data, contacts, problems = _data(binding, cells, times)
    if not problems:
        try:
            return Row(record.line, read_line(data), key)
        except ValidationError as err:
            problems = list(err.problems)
    reasons = list(dict.fromkeys(_label(p, binding, contacts) for p in problems))
    return Row(record.line, reasons, key)


def _data(
    binding: _Binding, cells: list[str], times: TimeReading
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """The row in the shape of a JSON Lines row; the contact fields in the
    order of the customer's channels; the problems found reading cells."""
    response: dict[str, Any] = {}
    touchpoint: dict[str, Any] = {}
    customer: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    points: list[dict[str, str]] = []
    contacts: list[str] = []
    problems: list[Problem] = []
    fields = dict.fromkeys([*binding.mapping.values, *binding.index])
    for field in fields:
        value = _value(field, binding, cells, times)
        if value is None:
            continue
        if isinstance(value, Problem):
            problems.append(value)
            continue
        head, _, rest = field.partition(".")
        if head == "response":
            response[rest] = value
        elif head == "touchpoint":
            _put(touchpoint, rest, value)
        elif rest.startswith("contact."):
            name = rest.removeprefix("contact.")
            if name in _CONTACT_KEYS:
                contact[name] = value
            else:
                points.append({"channel": name, "address": str(value)})
                contacts.append(field)
        else:
            _put(customer, rest, value)
    if "id" in customer:
        response["customer_id"] = customer["id"]
    if touchpoint:
        touchpoint.setdefault("id", response.get("id"))
        touchpoint.setdefault("occurred_at", response.get("answered_at"))
        response["touchpoint"] = touchpoint
    if points or contact:
        customer["contact"] = {**contact, "channels": points}
    return {"response": response, "customer": customer}, contacts, problems


def _put(table: dict[str, Any], name: str, value: object) -> None:
    if name.startswith("attributes."):
        table.setdefault("attributes", {})[name.removeprefix("attributes.")] = value
    else:
        table[name] = value


def _value(field: str, binding: _Binding, cells: list[str], times: TimeReading) -> object:
    """A field's value in this row: its cell, or the mapping's value when the
    cell is empty (or there is no column); translated, then read by kind."""
    kind = kind_of(field)
    at = binding.index.get(field)
    value: object = None
    if at is not None:
        cell = cells[at]
        value = (cell if kind == "free" else cell.strip()) if cell.strip() else None
    if value is None:
        value = binding.mapping.values.get(field)
    if value is None:
        return None
    words = binding.mapping.translate.get(field)
    if words is not None and isinstance(value, str):
        value = words.get(value.strip(), value)
    if isinstance(value, str):
        if kind == "integer" and _INTEGER.fullmatch(value):
            return int(value)
        if kind == "boolean" and value.casefold() in _TRUE | _FALSE:
            return value.casefold() in _TRUE
        if kind == "time":
            return times.read(value, field)
    return value


def _label(problem: Problem, binding: _Binding, contacts: list[str]) -> str:
    """A problem, named by the column (and field) it came from."""
    path = problem.path
    if path.startswith("response.touchpoint."):
        path = path.removeprefix("response.")
    elif path == "response.customer_id":
        path = "customer.id"
    elif (m := _CONTACT.match(path)) and int(m.group(1)) < len(contacts):
        path = contacts[int(m.group(1))]
    if path in binding.headers:
        path = f"column {binding.headers[path]!r} ({path})"
    elif path in binding.mapping.values:
        path = f"{path} (the mapping's value)"
    return str(attrs.evolve(problem, path=path))
