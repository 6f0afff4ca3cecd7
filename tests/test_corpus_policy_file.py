"""A corpus of hostile and malformed policy files, all made from ``examples/policies.toml``.

Every one of them, loaded with ``load_playbook`` or checked with ``loopkit check``,
must give a typed :class:`~loopkit.ValidationError` whose every problem names a field
path (and, from a file, a line of that file): never a traceback, never a hang. Each
case runs under a deadline (``signal.setitimer``), so a hang fails the test instead
of stalling the suite.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopkit import ValidationError, load_playbook
from loopkit.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
DATA = tomllib.loads(TEXT)
DEADLINE_SECONDS = 5.0


@contextlib.contextmanager
def deadline(seconds: float = DEADLINE_SECONDS) -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the corpus ---------------------------------------------------------------------

# Values that are wrong for every key of the example file, as TOML text.
HOSTILE_TOML = {
    "a table": "{ bogus = 1 }",
    "an ANSI escape": '"\\u001b[31mred\\u001b[0m"',
    "a NUL": '"\\u0000"',
    "a huge integer": "-99999999999999999999",
    "a 40-digit number": "9" * 40,
    "NaN": "nan",
    "deep nesting": "[" * 70 + "]" * 70,
    "a long string": '"' + "x" * 300 + '"',
}

_PAIR = re.compile(r"^(?P<key>[A-Za-z_.\-]+) = (?P<value>.+?)(?P<comment>\s+#.*)?$")


def _single_line_pairs() -> list[tuple[int, str]]:
    """Lines of the example holding a whole ``key = value``."""
    out = []
    for number, line in enumerate(TEXT.splitlines(), start=1):
        match = _PAIR.match(line)
        if match is None:
            continue
        value = match["value"]
        if value.count("[") != value.count("]") or value.count("{") != value.count("}"):
            continue  # a value that goes on over the next lines
        out.append((number, match["key"]))
    return out


def _replace_line(number: int, key: str, value: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        lines = text.splitlines()
        lines[number - 1] = f"{key} = {value}"
        return "\n".join(lines) + "\n"

    return edit


def _sub(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return edit


# Targeted edits, one per story in the issues (each leaves the file valid TOML).
TARGETED: dict[str, Callable[[str], str]] = {
    "kind in capitals": _sub('equals = "cancellation"', 'equals = "Offboarding"'),
    "kind with a space": _sub(
        'in = ["purchase", "delivery"]', 'in = ["purchase", "home delivery"]'
    ),
    "channel in capitals": _sub(
        '{ field = "touchpoint.kind", equals = "support_contact" }',
        '{ field = "touchpoint.channel", equals = "Phone" }',
    ),
    "empty segment": _sub('equals = "gold" }', 'equals = "" }'),
    "category typo": _sub('equals = "passive" }', 'equals = "pasive" }'),
    "field by meaning": _sub(
        'field = "touchpoint.kind", equals = "cancellation"',
        'field = "touchpoint.type", equals = "cancellation"',
    ),
    "field typo": _sub('field = "customer.segment"', 'field = "customer.segmnt"'),
    "score as text": _sub(
        '{ field = "response.category", in = ["detractor", "passive"] }',
        '{ field = "response.score", le = "8" }',
    ),
    "operator typo": _sub("exists = true", "exist = true"),
    "two operators": _sub("exists = true", 'exists = true, equals = "x"'),
    "operator for another type": _sub(
        '{ field = "response.comment", exists = true }', '{ field = "response.comment", lt = 3 }'
    ),
    "catastrophic pattern": _sub(
        '{ field = "response.comment", exists = true }',
        '{ field = "response.comment", matches = "^(a+)+$" }',
    ),
    "cubic pattern": _sub(
        '{ field = "response.comment", exists = true }',
        '{ field = "response.comment", matches = "a.*b.*c" }',
    ),
    "backreference": _sub(
        '{ field = "response.comment", exists = true }',
        '{ field = "response.comment", matches = "(.)\\\\1" }',
    ),
    "long pattern": _sub(
        '{ field = "response.comment", exists = true }',
        '{ field = "response.comment", matches = "' + "a" * 300 + '" }',
    ),
    "broken pattern": _sub(
        '{ field = "response.comment", exists = true }',
        '{ field = "response.comment", matches = "(unclosed" }',
    ),
    "secondly holidays": _sub(
        'holidays = ["2026-12-24"', 'holiday_rules = ["FREQ=SECONDLY"]\nholidays = ["2026-12-24"'
    ),
    "minutely holidays": _sub(
        'holidays = ["2026-12-24"',
        'holiday_rules = ["FREQ=MINUTELY;INTERVAL=1"]\nholidays = ["2026-12-24"',
    ),
    "hourly holidays": _sub(
        'holidays = ["2026-12-24"', 'holiday_rules = ["FREQ=HOURLY"]\nholidays = ["2026-12-24"'
    ),
    "holidays every hour of a day": _sub(
        'holidays = ["2026-12-24"',
        'holiday_rules = ["FREQ=DAILY;BYHOUR=1,2,3"]\nholidays = ["2026-12-24"',
    ),
    "holiday that never comes": _sub(
        'holidays = ["2026-12-24"',
        'holiday_rules = ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"]\nholidays = ["2026-12-24"',
    ),
    "holiday from year one": _sub(
        'holidays = ["2026-12-24"',
        'holiday_rules = ["DTSTART:00010101T000000\\nRRULE:FREQ=DAILY"]\nholidays = ["2026-12-24"',
    ),
    "holiday rule set": _sub(
        'holidays = ["2026-12-24"',
        'holiday_rules = ["RRULE:FREQ=YEARLY\\nRRULE:FREQ=MONTHLY"]\nholidays = ["2026-12-24"',
    ),
    "holiday rule gibberish": _sub(
        'holidays = ["2026-12-24"', 'holiday_rules = ["FREQ=SOMETIMES"]\nholidays = ["2026-12-24"'
    ),
    "localtime": _sub('timezone = "Europe/Stockholm"', 'timezone = "localtime"'),
    "UTC+2": _sub('timezone = "Europe/Stockholm"', 'timezone = "UTC+2"'),
    "posix zone": _sub('timezone = "Europe/Stockholm"', 'timezone = "posixrules"'),
    "no such zone": _sub('timezone = "Europe/Stockholm"', 'timezone = "Europe/Stokholm"'),
    "require as a string": _sub("stop_survey = true", 'stop_survey = true\nrequire = "apology"'),
    "huge deadline": _sub('within = "4h"', 'within = "9999999d"'),
    "deadline past the maximum": _sub('within = "4h"', 'within = "31d"'),
    "negative deadline": _sub('within = "4h"', 'within = "-4h"'),
    "escalation past the maximum": _sub('after = "4h"', 'after = "400d"'),
    "negative authority": _sub('agent = "200 SEK"', 'agent = "-200 SEK"'),
    "no policies": lambda t: t.split("# Follow-up policies")[0].replace(
        "version = 1", "version = 1\npolicies = []"
    ),
    "NUL in a name": _sub('name = "support-detractor-callback"', 'name = "support\\u0000callback"'),
    "ANSI in a name": _sub(
        'name = "support-detractor-callback"', 'name = "\\u001b[31mred\\u001b[0m"'
    ),
    "bidi override in a name": _sub(
        'name = "support-detractor-callback"', 'name = "support\\u202ecallback"'
    ),
    "ANSI in a calendar name": _sub("[calendars.support]", '[calendars."sup\\u001b[2Jport"]'),
    "ANSI in an unknown key": _sub("stop_survey = true", '"\\u001b[2J" = true'),
    "condition 200 deep": _sub(
        '{ field = "response.comment", exists = true }',
        "{ not = " * 30 + '{ field = "response.comment", exists = true }' + " }" * 30,
    ),
    "unknown calendar": _sub(
        'within = "16h", calendar = "support"', 'within = "16h", calendar = "suport"'
    ),
    "duplicate policy name": _sub(
        'name = "purchase-detractor-email"', 'name = "support-detractor-callback"'
    ),
    "version 2": _sub("version = 1", "version = 2"),
    "version true": _sub("version = 1", "version = true"),
    "no version": _sub("version = 1\n", ""),
    "escalation without deadline": _sub('deadline = { within = "4h", calendar = "support" }\n', ""),
    "quiet hours backwards text": _sub('quiet_hours = "20:00-08:00"', 'quiet_hours = "late"'),
    "hours crossing midnight": _sub('fri = "08:00-16:00"', 'fri = "22:00-06:00"'),
    "hours overlapping": _sub(
        'mon = ["10:00-14:00", "15:00-19:00"]', 'mon = ["10:00-14:00", "13:00-19:00"]'
    ),
    "never open": _sub(
        'hours = { mon = "08:00-17:00", tue = "08:00-17:00", wed = "08:00-17:00", '
        'thu = "08:00-17:00", fri = "08:00-16:00" }',
        "hours = {}",
    ),
    "holiday not a date": _sub('"2026-12-31"', '"2026-13-31"'),
    "money without currency": _sub('value = "300 SEK"', 'value = "300"'),
    "offer kind typo": _sub(
        'kind = "discount_code", value = "300 SEK"', 'kind = "discount-code", value = "300 SEK"'
    ),
    "cap count zero": _sub("count = 1", "count = 0"),
    "budget period typo": _sub('per = "month"', 'per = "monthly"'),
    "unknown top-level key": lambda t: "polices = []\n" + t,
    "owner not a person": _sub('owner = "touchpoint.employee_id"', 'owner = "response.comment"'),
    "team with capitals": _sub('owner = "team:retention"', 'owner = "team:Retention"'),
    "warn_at out of range": _sub("stop_survey = true", "stop_survey = true\nwarn_at = 1.5"),
    "in with an empty list": _sub('in = ["purchase", "delivery"]', "in = []"),
    "not with a list": _sub(
        '{ field = "response.comment", exists = true }',
        '{ not = [{ field = "response.comment", exists = true }] }',
    ),
    "empty condition": _sub('{ field = "response.comment", exists = true }', "{}"),
    "non-UTF-8 bytes": lambda t: t.replace("Compensation:", "Compensation \udcff:"),
    "syntax error": _sub("version = 1", "version = = 1"),
    "duplicate key": _sub("version = 1", "version = 1\nversion = 1"),
    "unterminated string": _sub('name = "small-goodwill"', 'name = "small-goodwill'),
    "unterminated multi-line string": lambda t: t + '\nx = """never closed\n',
    "deep nesting far down": lambda t: t + "\n[extra]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "huge integer far down": lambda t: t + "\n[extra]\nx = " + "9" * 5000 + "\n",
}


def _file_cases() -> list[tuple[str, Callable[[str], str]]]:
    cases = list(TARGETED.items())
    for number, key in _single_line_pairs():
        for name, value in HOSTILE_TOML.items():
            cases.append((f"line {number} {key} = {name}", _replace_line(number, key, value)))
    return cases


FILE_CASES = _file_cases()
# loopkit check runs the same loader: every targeted edit, and a sample of the rest.
CLI_CASES = list(TARGETED.items()) + FILE_CASES[len(TARGETED) :: 4]


class _SelfContaining(dict):  # type: ignore[type-arg]
    pass


def _loop() -> dict[str, Any]:
    table: dict[str, Any] = _SelfContaining()
    table["again"] = table
    return table


def _nest(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# Python values a mapping handed to load_playbook may hold, wrong everywhere.
HOSTILE_VALUES: dict[str, Callable[[], Any]] = {
    "object()": object,
    "bytes": lambda: b"\x00bytes",
    "a 5000-digit integer": lambda: 10**5000,
    "NaN": lambda: float("nan"),
    "an unknown table": lambda: {"bogus": 1},
    "itself": _loop,
    "500 deep": lambda: _nest(500),
    "a set": lambda: {"a"},
}


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*at, i))


def _replaced(path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(DATA)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return data


DICT_CASES = [
    (".".join(map(str, path)) + " = " + name, path, make)
    for n, path in enumerate(_paths(DATA))
    for k, (name, make) in enumerate(HOSTILE_VALUES.items())
    if (n + k) % 2 == 0  # every value, on every other path
]

# The same document as JSON (indented, so its lines mean something), with values
# JSON can hold.
JSON_VALUES: dict[str, Any] = {
    "an unknown table": {"bogus": 1},
    "a long string": "x" * 300,
    "an ANSI escape": "\x1b[31mred",
    "a 40-digit integer": 10**40,
}
JSON_CASES = [
    (".".join(map(str, path)) + " = " + name, path, value)
    for n, path in enumerate(_paths(DATA))
    if not isinstance(path[-1], int)
    for k, (name, value) in enumerate(JSON_VALUES.items())
    if (n + k) % 2 == 0
    # a message template's body may well be long: 300 characters is a valid one
    if not (path[0] == "templates" and path[-1] == "body" and name == "a long string")
]

NON_DOCUMENTS: list[Any] = [None, 5, 3.5, b"policies.toml", ["version", 1], object(), True]


# -- the checks ---------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policies.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def _assert_typed_with_paths_and_lines(err: ValidationError, path: Path) -> None:
    assert isinstance(err, ValidationError)
    assert err.source == str(path)
    assert err.problems
    for problem in err.problems:
        assert problem.line is not None and problem.line >= 1, problem
        syntax = problem.expected.startswith(("valid TOML", "a UTF-8 text file"))
        assert problem.path or syntax, problem
        assert "\x1b" not in str(problem) and "\x00" not in str(problem)
    for line in err.messages():
        assert re.match(re.escape(str(path)) + r":\d+: ", line), line


def test_the_corpus_is_big_enough() -> None:
    assert len(FILE_CASES) >= 200
    assert len(CLI_CASES) >= 100
    assert len(DICT_CASES) + len(JSON_CASES) >= 200


def test_the_unmodified_example_still_loads_and_checks(tmp_path: Path) -> None:
    with deadline():
        playbook = load_playbook(EXAMPLE)
        assert len(playbook.policies) == 5
        assert len(load_playbook(DATA).policies) == 5
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["check", str(EXAMPLE)]) == 0
        assert "ok: 5 policies" in out.getvalue()


@pytest.mark.parametrize(("name", "edit"), FILE_CASES, ids=[name for name, _ in FILE_CASES])
def test_a_hostile_file_gives_a_typed_error_with_paths_and_lines(
    tmp_path: Path, name: str, edit: Callable[[str], str]
) -> None:
    path = _write(tmp_path, edit(TEXT))
    with deadline(), pytest.raises(ValidationError) as info:
        load_playbook(path)
    _assert_typed_with_paths_and_lines(info.value, path)


@pytest.mark.parametrize(("name", "edit"), CLI_CASES, ids=[name for name, _ in CLI_CASES])
def test_loopkit_check_reports_a_hostile_file_line_by_line_without_a_traceback(
    tmp_path: Path, name: str, edit: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, edit(TEXT))
    with deadline():
        code = main(["check", str(path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines and "Traceback" not in captured.err
    for line in lines:
        assert line.startswith(f"{path}:") and re.match(re.escape(str(path)) + r":\d+: ", line)
        assert "\x1b" not in line and "\x00" not in line


@pytest.mark.parametrize(
    ("name", "path", "make"), DICT_CASES, ids=[name for name, _, _ in DICT_CASES]
)
def test_a_hostile_mapping_gives_a_typed_error_with_paths(
    name: str, path: tuple[Any, ...], make: Callable[[], Any]
) -> None:
    data = _replaced(path, make())
    with deadline(), pytest.raises(ValidationError) as info:
        load_playbook(data)
    err = info.value
    assert err.source is None
    for problem in err.problems:
        assert problem.path, problem
        assert problem.line is None  # a mapping has no lines


@pytest.mark.parametrize("source", NON_DOCUMENTS, ids=repr)
def test_anything_but_a_path_or_a_mapping_is_a_typed_error(source: Any) -> None:
    with deadline(), pytest.raises(ValidationError) as info:
        load_playbook(source)
    assert "a path to a .toml or .json policy file, or a mapping" in str(info.value)


@pytest.mark.parametrize(
    ("name", "path", "value"), JSON_CASES, ids=[name for name, _, _ in JSON_CASES]
)
def test_a_hostile_json_file_gives_a_typed_error_with_paths_and_lines(
    tmp_path: Path, name: str, path: tuple[Any, ...], value: Any
) -> None:
    import json

    data = _replaced(path, value)
    file = tmp_path / "policies.json"
    file.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    with deadline(), pytest.raises(ValidationError) as info:
        load_playbook(file)
    _assert_typed_with_paths_and_lines(info.value, file)
    lines = file.read_text(encoding="utf-8").splitlines()
    key = str(path[-1])
    located = [p for p in info.value.problems if p.path.endswith(key)]
    for problem in located:  # the line is the key's own line
        assert f'"{key}"' in lines[problem.line - 1], (problem, lines[problem.line - 1])


# Random edits on top of the corpus: cut a slice, paste junk, repeat a line. Some
# edits leave a valid file (a comment cut short); none may give anything but a
# loaded playbook or a typed error with lines.
_JUNK = st.text(
    alphabet=st.sampled_from([*list("[]{}=,.\"#'\n 09azAZ_-:\\"), "\x1b", "\x00", "é", "\u202e"]),
    max_size=12,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.integers(0, len(TEXT)),
    length=st.integers(0, 40),
    junk=_JUNK,
    repeat=st.integers(0, len(TEXT.splitlines()) - 1),
)
def test_random_edits_load_or_give_a_typed_error_with_lines(
    tmp_path: Path, start: int, length: int, junk: str, repeat: int
) -> None:
    lines = TEXT.splitlines(keepends=True)
    text = "".join(lines[: repeat + 1]) + lines[repeat] + "".join(lines[repeat + 1 :])
    text = text[:start] + junk + text[start + length :]
    path = _write(tmp_path, text)
    try:
        with deadline():
            load_playbook(path)
    except ValidationError as err:
        _assert_typed_with_paths_and_lines(err, path)
