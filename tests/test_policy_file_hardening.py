"""Loading a policy file is bullet-proof, and its errors say what to do and where.

One test per story from the issues: errors name the line; no silent literal that
can never match; "did you mean" by meaning; one bad calendar is one error; nothing
hangs (patterns, holiday rules); bad values are typed errors; junk is refused.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loopkit import ValidationError, load_playbook
from loopkit.cli import main
from loopkit.conditions import Condition
from loopkit.testing import make_customer, make_response

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


@contextlib.contextmanager
def deadline(seconds: float = 5.0) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def edited(tmp_path: Path, edit: Callable[[str], str], name: str = "policies.toml") -> Path:
    path = tmp_path / name
    path.write_text(edit(TEXT), encoding="utf-8")
    return path


def refused(source: Any) -> ValidationError:
    with deadline(), pytest.raises(ValidationError) as info:
        load_playbook(source)
    return info.value


def example_dict() -> dict[str, Any]:
    return tomllib.loads(TEXT)


# -- 7. errors a person can act on ---------------------------------------------------


def test_an_error_names_the_line_of_the_file(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        lambda t: t.replace(
            '{ field = "response.category", in = ["detractor", "passive"] }',
            '{ field = "response.score", le = "8" }',
        ),
    )
    err = refused(path)
    line = TEXT.splitlines().index(
        '  { field = "response.category", in = ["detractor", "passive"] },'
        "   # any scale: a happy leaver is left alone"
    )
    assert err.problems[0].line == line + 1
    assert err.messages() == (
        f"{path}:{line + 1}: policies[2].when.all[1].le: expected a number, got '8'",
    )
    assert str(err) == err.messages()[0]


def test_a_missing_key_is_reported_on_the_line_of_its_table(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda t: t.replace('owner = "team:retention"\n', ""))
    err = refused(path)
    header = TEXT.splitlines().index('name = "offboarding-last-impression"')  # after [[policies]]
    assert [(p.path, p.line) for p in err.problems] == [("policies[2].owner", header)]


def test_errors_in_inline_tables_and_json_files_name_their_lines(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        lambda t: t.replace(
            'within = "16h", calendar = "support"', 'within = "16h", calendar = "s"'
        ),
    )
    (problem,) = refused(path).problems
    assert TEXT.splitlines()[problem.line - 1].startswith('deadline = { within = "16h"')

    data = example_dict()
    data["policies"][2]["channels"] = ["e mail"]
    as_json = tmp_path / "policies.json"
    as_json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    (problem,) = refused(as_json).problems
    assert problem.path == "policies[2].channels[0]"
    assert as_json.read_text(encoding="utf-8").splitlines()[problem.line - 1].strip() == '"e mail"'


def test_an_error_from_a_mapping_has_a_path_but_no_line() -> None:
    data = example_dict()
    data["policies"][0]["warn_at"] = 2
    (problem,) = refused(data).problems
    assert (problem.path, problem.line) == ("policies[0].warn_at", None)


def test_a_bad_calendar_reports_once_not_for_every_policy_using_it(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        lambda t: t.replace('timezone = "Europe/Stockholm"', 'timezone = "Europe/Stokholm"', 1),
    )
    err = refused(path)
    assert [p.path for p in err.problems] == ["calendars.support.timezone"]
    assert "did you mean 'Europe/Stockholm'?" in str(err)
    # ... while a policy naming a calendar that is not there at all is still reported.
    both = edited(
        tmp_path,
        lambda t: t.replace('timezone = "Europe/Stockholm"', 'timezone = "Mars/Base"', 1).replace(
            'within = "16h", calendar = "support"', 'within = "16h", calendar = "suport"'
        ),
    )
    paths = [p.path for p in refused(both).problems]
    assert paths == ["calendars.support.timezone", "policies[4].deadline.calendar"]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("touchpoint.type", "touchpoint.kind"),
        ("touchpoint.employee", "touchpoint.employee_id"),
        ("response.rating", "response.score"),
        ("response.text", "response.comment"),
        ("customer.tz", "customer.timezone"),
        ("respnse.category", "response.category"),
        ("customer.segmnt", "customer.segment"),
        ("customer.favourite_shop", "customer.attributes.favourite_shop"),
    ],
)
def test_a_typo_in_a_field_suggests_the_field_it_means(written: str, meant: str) -> None:
    data = example_dict()
    data["policies"][0]["when"]["all"][1]["field"] = written
    data["policies"][0]["when"]["all"][1]["equals"] = "support_contact"
    err = refused(data)
    (problem,) = err.problems
    assert problem.path == "policies[0].when.all[1].field"
    assert problem.hint == f"did you mean {meant!r}?"


def test_an_owner_typo_suggests_the_field_it_means_too() -> None:
    data = example_dict()
    data["policies"][0]["owner"] = "touchpoint.agent"
    (problem,) = refused(data).problems
    assert problem.hint == "did you mean 'touchpoint.employee_id'?"


# -- 6. no silent defaults that change meaning ------------------------------------------


@pytest.mark.parametrize(
    ("field", "literal", "fixed"),
    [
        ("touchpoint.kind", "Offboarding", "offboarding"),
        ("touchpoint.kind", "support contact", "support_contact"),
        ("touchpoint.channel", "Phone", "phone"),
        ("response.scale", "NPS", "nps"),
        ("response.source", "SMS survey", "sms_survey"),
        ("customer.segment", "", None),
        ("customer.language", "Swedish!", None),
        ("touchpoint.employee_id", " ", None),
    ],
)
def test_a_literal_the_field_can_never_hold_is_refused_saying_the_format(
    field: str, literal: str, fixed: str | None
) -> None:
    with pytest.raises(ValidationError) as info:
        Condition.parse({"field": field, "equals": literal})
    (problem,) = info.value.problems
    assert problem.path == "when.equals"
    assert f"the only form {field} takes" in problem.expected
    assert problem.hint == (f"did you mean {fixed!r}?" if fixed else None)
    with pytest.raises(ValidationError) as listed:
        Condition.parse({"field": field, "in": ["x-ok", literal]})
    assert [p.path for p in listed.value.problems] == ["when.in[1]"]


def test_a_lowercase_literal_of_the_right_form_still_loads() -> None:
    cond = Condition.parse({"field": "touchpoint.kind", "in": ["offboarding", "support_contact"]})
    assert cond.matches(make_response(score=2), make_customer())


# -- 10.4 nothing hangs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [r"^(a+)+$", r"(a|aa)+$", r"(\w+\s?)+$", r"a.*b.*c", r"(.)\1", r"(a?){25}a{25}", "a" * 201],
)
def test_a_catastrophic_pattern_is_refused_when_the_file_loads(
    tmp_path: Path, pattern: str
) -> None:
    path = edited(
        tmp_path,
        lambda t: t.replace(
            '{ field = "response.comment", exists = true }',
            '{ field = "response.comment", matches = \'' + pattern + "' }",
        ),
    )
    (problem,) = refused(path).problems
    assert problem.path == "policies[4].when.all[1].any[1].matches"
    assert TEXT.splitlines()[problem.line - 1].strip().startswith('{ field = "response.comment"')


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?i)\brefund\b",
        r"refund.*late|late.*refund",
        r"(?i)(never|not).*(again|happy)",
        r"(foo|bar)+",
        r"\d+\.\d+",
        r"colou?r",
        r"\s*,\s*",
        r"(\d{3}-){2}\d{4}",
        r".*foo.*",
        r"\w+@\w+\.\w+",
        r"(?i)kass|dålig|sämst",
    ],
)
def test_everyday_patterns_still_load(pattern: str) -> None:
    cond = Condition.parse({"field": "response.comment", "matches": pattern})
    with deadline(2.0):
        for text in ("a" * 5000, "ab" * 3000, "1" * 5000, " " * 5000 + "!"):
            cond.matches(make_response(score=2, comment=text[:9000]), make_customer())


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"^(a+)+$", "nested quantifiers"),
        (r"(a|ab)+c", "repeated alternatives that start alike"),
        (r"\d+\d+x", "two quantifiers that can take the same characters"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        ("(a|a)" * 7, "combinations of alternatives"),
        ("a" * 201, "at most 200 characters"),
        ("(unclosed", "a valid regular expression"),
    ],
)
def test_a_refused_pattern_says_which_rule_it_breaks(pattern: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        Condition.parse({"field": "response.comment", "matches": pattern})
    assert info.value.path == "when.matches" and reason in info.value.expected


def test_an_allowed_pattern_on_a_huge_comment_answers_at_once() -> None:
    cond = Condition.parse({"field": "response.comment", "matches": r"(?i)refund.*late"})
    worst = make_response(score=2, comment="refund " * 300 + "x" * 7_000)  # 9,100 characters
    started = time.perf_counter()
    with deadline(2.0):
        assert not cond.matches(worst, make_customer())
        assert cond.explain(worst, make_customer()).matched is False
    assert time.perf_counter() - started < 2.0


def test_matches_looks_at_the_first_1000_characters_of_the_value() -> None:
    cond = Condition.parse({"field": "response.comment", "matches": "refund"})
    early = make_response(score=2, comment="x" * 990 + " refund")
    late = make_response(score=2, comment="x" * 1000 + " refund")
    assert cond.matches(early, make_customer())
    assert not cond.matches(late, make_customer())
    attribute = Condition.parse({"field": "customer.attributes.note", "matches": "refund"})
    assert not attribute.matches(
        make_response(score=2), make_customer(attributes={"note": "x" * 1000 + "refund"})
    )


@pytest.mark.parametrize(
    "rule",
    ["FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=HOURLY;INTERVAL=1", "FREQ=DAILY;BYHOUR=0,1,2"],
)
def test_a_holiday_rule_finer_than_a_day_is_refused_before_it_can_hang(
    tmp_path: Path, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = edited(
        tmp_path,
        lambda t: t.replace(
            'holidays = ["2026-12-24"', f'holiday_rules = ["{rule}"]\nholidays = ["2026-12-24"'
        ),
    )
    (problem,) = refused(path).problems
    assert problem.path == "calendars.support.holiday_rules[0]"
    with deadline():
        assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"{path}:11: calendars.support.holiday_rules[0]")


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1",
        "DTSTART:00010101T000000\nRRULE:FREQ=DAILY",
        "RRULE:FREQ=YEARLY\nRRULE:FREQ=MONTHLY",
        "FREQ=DAILY;BYSETPOS=1",
    ],
)
def test_a_holiday_rule_that_never_occurs_or_expands_without_bound_is_refused(rule: str) -> None:
    data = example_dict()
    data["calendars"]["stores"]["holiday_rules"] = [rule]
    (problem,) = refused(data).problems
    assert problem.path == "calendars.stores.holiday_rules[0]"


def test_ordinary_holiday_rules_still_load() -> None:
    data = example_dict()
    data["calendars"]["stores"]["holiday_rules"] = [
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        "FREQ=YEARLY;BYEASTER=-2",
        "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
    ]
    with deadline():
        assert len(load_playbook(data).calendars["stores"].holiday_rules) == 5


# -- 10.5 bad values are errors, not tracebacks ----------------------------------------------


def test_require_as_a_string_is_an_error_with_its_path() -> None:
    data = example_dict()
    data["policies"][0]["require"] = "apology"
    (problem,) = refused(data).problems
    assert problem.path == "policies[0].require"
    assert "list of step names" in problem.expected


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(200, "tables and lists nested at most 64 deep"), (20, "conditions nested at most 16 deep")],
)
def test_a_condition_nested_200_deep_is_an_error_with_its_path(depth: int, expected: str) -> None:
    leaf: Any = {"field": "response.score", "le": 6}
    for _ in range(depth):
        leaf = {"not": leaf}
    data = example_dict()
    data["policies"][0]["when"] = leaf
    (problem,) = refused(data).problems
    assert problem.path.startswith("policies[0].when.not.not.not")
    assert expected in problem.expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("x = " + "[" * 50_000 + "]" * 50_000, "nested at most 64 deep"),
        ("x = " + "9" * 5000, "at most 30 digits"),
        ("x = 99999999999999999999", "below 2**63"),
    ],
)
def test_deep_or_huge_integer_toml_is_an_error_with_its_line(
    tmp_path: Path, tail: str, expected: str
) -> None:
    path = edited(tmp_path, lambda t: t + "\n[extra]\n" + tail + "\n")
    (problem,) = refused(path).problems
    assert expected in problem.expected
    assert problem.line == len(TEXT.splitlines()) + 3
    assert problem.path.startswith("extra.x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"version": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested at most 64 deep"),
        ('{"version": ' + "1" * 5000 + "}", "at most 30 digits"),
    ],
)
def test_deep_or_huge_integer_json_is_an_error_with_its_path(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "policies.json"
    path.write_text(text, encoding="utf-8")
    (problem,) = refused(path).problems
    assert expected in problem.expected and problem.path.startswith("version")
    assert problem.line == 1


@pytest.mark.parametrize("source", [None, 42, b"policies.toml", ["policies"]], ids=repr)
def test_load_policies_of_anything_but_a_path_or_mapping_is_a_typed_error(source: Any) -> None:
    err = refused(source)
    assert err.path == "" and "a path to a .toml or .json policy file" in err.expected


@pytest.mark.parametrize("within", ["9999999d", "31d", "1000h"])
def test_a_deadline_past_the_maximum_is_refused_when_the_file_loads(within: str) -> None:
    data = example_dict()
    data["policies"][1]["deadline"]["within"] = within
    (problem,) = refused(data).problems
    assert problem.path == "policies[1].deadline.within"
    assert problem.expected == 'a business duration of at most "30d" (720 business hours)'
    assert problem.got == repr(within)


def test_a_deadline_of_30_days_is_the_maximum_and_loads() -> None:
    data = example_dict()
    data["policies"][1]["deadline"]["within"] = "30d"
    assert load_playbook(data).policies["support-detractor-callback"].deadline is not None


# -- 10.8 silently accepted junk is refused ----------------------------------------------------


@pytest.mark.parametrize("zone", ["localtime", "UTC+2", "posixrules", "posix/Europe/Stockholm"])
def test_a_zone_that_is_not_an_iana_key_is_refused(zone: str) -> None:
    data = example_dict()
    data["calendars"]["support"]["timezone"] = zone
    (problem,) = refused(data).problems
    assert problem.path == "calendars.support.timezone"
    assert "IANA" in problem.expected


def test_a_negative_authority_limit_is_refused() -> None:
    data = example_dict()
    data["authority"]["agent"] = "-200 SEK"
    (problem,) = refused(data).problems
    assert problem.path == "authority.agent" and "zero or more" in problem.expected


def test_a_playbook_without_policies_is_refused_with_a_reason() -> None:
    data = example_dict()
    data["policies"] = []
    (problem,) = refused(data).problems
    assert problem.path == "policies"
    assert problem.hint == "a playbook without policies never opens a case"


@pytest.mark.parametrize(
    ("where", "name"),
    [
        (("policies", 0, "name"), "support\x00callback"),
        (("policies", 0, "name"), "\x1b[31mred\x1b[0m"),
        (("policies", 0, "topic"), "topic\u202eevil"),
        (("calendars", "support", "name"), "Support\x1b[2J"),
    ],
)
def test_control_characters_in_names_are_refused_and_never_printed(
    where: tuple[Any, ...], name: str
) -> None:
    data = example_dict()
    target: Any = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = name
    err = refused(data)
    assert ".".join(str(k) for k in where).replace(".0.", "[0].") in err.path
    assert "\x1b" not in str(err) and "\x00" not in str(err) and "\u202e" not in str(err)


def test_a_key_with_an_escape_sequence_cannot_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = edited(tmp_path, lambda t: t.replace("stop_survey = true", '"\\u001b[2J" = true'))
    err = refused(path)
    # A key that is not a plain name is described, never shown (it may be personal data).
    assert any(p.path == "policies[1].<a str key of 4 characters>" for p in err.problems)
    assert "\x1b" not in str(err)
    assert main(["check", str(path)]) == 1
    shown = capsys.readouterr().err
    assert "\x1b" not in shown and "policies[1].<a str key of 4 characters>" in shown


def test_a_key_repeated_in_a_json_file_is_refused_not_silently_dropped(tmp_path: Path) -> None:
    path = tmp_path / "policies.json"
    body = json.dumps(example_dict(), indent=2)
    path.write_text(body.replace('"version": 1,', '"version": 1,\n  "version": 1,', 1), "utf-8")
    (problem,) = refused(path).problems
    assert (problem.path, problem.line) == ("version", 3)
    assert problem.expected == "each key once in an object"
