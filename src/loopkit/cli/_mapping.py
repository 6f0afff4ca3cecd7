"""A column mapping: which column of an export holds which loopkit field, read
from a small TOML file (``--mapping``) and the ``--column`` and ``--value``
options, every problem reported with its path.

::

    delimiter = ","                  # optional: "," (default), ";" or "\\t"
    timezone = "Europe/Stockholm"    # optional: for times without an offset
    time_format = "%d/%m/%Y %H:%M"   # optional: when times are not ISO 8601

    [columns]                        # loopkit field = the export's column
    "response.id" = "Response ID"
    "response.score" = "Score"

    [values]                         # for every row (or where the cell is empty)
    "response.scale" = "nps"

    [translate."touchpoint.kind"]    # the export's word = loopkit's
    "Support call" = "support_contact"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from loopkit._input.checks import check_timezone
from loopkit.errors import Problem, ValidationError, describe_input, describe_key, suggest

__all__ = ["FIELDS", "OPEN_FIELDS", "REQUIRED", "ColumnMapping", "load_mapping", "overlay"]

FIELDS: Final[Mapping[str, str]] = {
    "response.id": "text",
    "response.score": "integer",
    "response.scale": "text",
    "response.answered_at": "time",
    "response.comment": "free",
    "response.survey": "text",
    "response.source": "text",
    "touchpoint.id": "text",
    "touchpoint.kind": "text",
    "touchpoint.channel": "text",
    "touchpoint.occurred_at": "time",
    "touchpoint.employee_id": "text",
    "touchpoint.reference": "text",
    "customer.id": "text",
    "customer.timezone": "text",
    "customer.segment": "text",
    "customer.region": "text",
    "customer.value": "text",
    "customer.language": "text",
    "customer.name": "free",
    "customer.contact.quiet_hours": "text",
    "customer.contact.preferred_window": "text",
    "customer.contact.surveys_opt_out": "boolean",
}
"""Every field a column can fill, and how its cells are read."""

OPEN_FIELDS: Final[Mapping[str, str]] = {
    "customer.contact.": "free",  # customer.contact.email: the address on that channel
    "customer.attributes.": "free",
    "touchpoint.attributes.": "free",
}
"""Fields named by what follows the prefix: a channel, an attribute."""

REQUIRED: Final = (
    "response.id",
    "response.score",
    "response.scale",
    "response.answered_at",
    "customer.id",
    "customer.timezone",
)
"""Fields every row needs, from a column or a value."""

_NAME: Final = re.compile(r"[a-z][a-z0-9_\-]{0,39}")
_KEYS: Final = ("columns", "values", "translate", "delimiter", "timezone", "time_format")


def kind_of(field: str) -> str | None:
    """How a field's cells are read, or ``None`` for no such field."""
    if field in FIELDS:
        return FIELDS[field]
    for prefix, kind in OPEN_FIELDS.items():
        rest = field.removeprefix(prefix)
        if rest != field and _NAME.fullmatch(rest) and field not in FIELDS:
            return kind
    return None


@attrs.frozen(kw_only=True)
class ColumnMapping:
    """A mapping, checked: ``columns`` and ``values`` by field (in the order
    given: a customer's channels are in order of preference), ``translate``
    maps a field's words to loopkit's."""

    columns: Mapping[str, str] = attrs.field(factory=dict)
    values: Mapping[str, str | int | bool] = attrs.field(factory=dict)
    translate: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    delimiter: str | None = None  # None: from the file's extension
    timezone: str | None = None
    time_format: str | None = None
    source: str | None = None


def load_mapping(path: str) -> ColumnMapping:
    """The mapping in a TOML file; every problem in one ValidationError."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ValidationError("<file>", "a TOML file", str(err), source=path) from None
    problems: list[Problem] = []
    for key in data:
        if key not in _KEYS:
            near = suggest(key, _KEYS)
            problems.append(
                Problem(
                    describe_key(key),
                    f"one of the known keys {sorted(_KEYS)}",
                    "an unknown key",
                    hint=f"did you mean {near!r}?" if near else None,
                )
            )
    columns = dict(_leaves(data.get("columns", {}), "columns", _column, problems))
    values = dict(_leaves(data.get("values", {}), "values", _value, problems))
    translate = dict(_leaves(data.get("translate", {}), "translate", _words, problems))
    delimiter = data.get("delimiter")
    if delimiter is not None and not (
        isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in '"\r\n'
    ):
        got = describe_input(delimiter)
        problems.append(Problem("delimiter", 'one character such as ",", ";" or "\\t"', got))
    zone = data.get("timezone")
    if zone is not None:
        try:
            check_timezone(zone, "timezone")
        except ValidationError as err:
            problems.extend(err.problems)
    time_format = data.get("time_format")
    if time_format is not None and not (isinstance(time_format, str) and "%" in time_format):
        got = describe_input(time_format)
        problems.append(Problem("time_format", "a strptime format such as '%d/%m/%Y %H:%M'", got))
    if problems:
        raise ValidationError.of(problems, source=path)
    return ColumnMapping(
        columns=columns,
        values=values,
        translate=translate,
        delimiter=delimiter,
        timezone=zone,
        time_format=time_format,
        source=path,
    )


def overlay(base: ColumnMapping, columns: list[str], values: list[str]) -> ColumnMapping:
    """``base`` with the ``--column FIELD=HEADER`` and ``--value FIELD=VALUE``
    options on top."""
    problems: list[Problem] = []
    more_columns = _options(columns, "--column", problems)
    more_values = _options(values, "--value", problems)
    if problems:
        raise ValidationError.of(problems)
    return attrs.evolve(
        base,
        columns={**base.columns, **more_columns},
        values={**base.values, **more_values},
    )


def _options(given: list[str], option: str, problems: list[Problem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in given:
        field, sep, value = text.partition("=")
        field = field.strip()
        if not sep or not value:
            problems.append(Problem(option, "FIELD=TEXT, such as response.score=Score", None))
        elif kind_of(field) is None:
            problems.append(_unknown(option, field))
        else:
            found[field] = value
    return found


def _leaves(table: object, path: str, check: Any, problems: list[Problem]) -> Iterator[Any]:
    """``(field, checked value)`` for each field in a table, whether written
    ``"response.id" = ...`` or as nested tables (``response.id = ...``)."""
    if not isinstance(table, dict):
        problems.append(Problem(path, "a table", describe_input(table)))
        return
    stack: list[tuple[str, dict[str, Any]]] = [("", table)]
    while stack:
        prefix, node = stack.pop(0)
        for key, value in node.items():
            field = f"{prefix}{key}"
            if kind_of(field) is not None:
                checked = check(value, f"{path}.{field}", problems)
                if checked is not None:
                    yield field, checked
            elif isinstance(value, dict) and _is_stem(field):
                stack.append((field + ".", value))
            else:
                problems.append(_unknown(path, field))


def _is_stem(field: str) -> bool:
    stem = field + "."
    return any(f.startswith(stem) for f in FIELDS) or any(p.startswith(stem) for p in OPEN_FIELDS)


def _unknown(path: str, field: str) -> Problem:
    near = suggest(field, FIELDS)
    return Problem(
        f"{path} {field}" if path.startswith("--") else f"{path}.{field}",
        "a loopkit field such as 'response.score' (see the list in the CLI reference)",
        "an unknown field",
        hint=f"did you mean {near!r}?" if near else None,
    )


def _column(value: object, path: str, problems: list[Problem]) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    problems.append(Problem(path, "the name of a column (a string)", describe_input(value)))
    return None


def _value(value: object, path: str, problems: list[Problem]) -> str | int | bool | None:
    if isinstance(value, str | int | bool):
        return value
    problems.append(Problem(path, "a string, a whole number or true/false", describe_input(value)))
    return None


def _words(value: object, path: str, problems: list[Problem]) -> dict[str, str] | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    problems.append(
        Problem(path, 'a table of the export\'s words to loopkit\'s ("Web" = "web")', None)
    )
    return None
