"""Messages people can read: the playbook's ``[templates]``, checked when the file
loads and rendered (pure) in the customer's language; and ``resurvey`` on a policy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopkit
from loopkit.policies import MessageTemplates
from loopkit.testing import FakeClock, RecordingChannel, make_customer, make_response

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def _load(tmp_path: Path, text: str) -> loopkit.Playbook:
    path = tmp_path / "policies.toml"
    path.write_text(text, encoding="utf-8")
    return loopkit.load_playbook(path)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("placeholder", "why"),
    [
        ("{nam}", "an unknown name"),
        ("{name.__class__}", "an attribute"),
        ("{name[0]}", "an index"),
        ("{name!r}", "a conversion"),
        ("{name:>40}", "a format spec"),
        ("{0}", "a position"),
    ],
)
def test_an_unknown_placeholder_is_a_load_error_with_its_line(
    tmp_path: Path, placeholder: str, why: str
) -> None:
    text = TEXT.replace("Hi {name}, you told us", f"Hi {placeholder}, you told us")
    with pytest.raises(loopkit.ValidationError) as info:
        _load(tmp_path, text)
    (problem,) = info.value.problems
    assert problem.path == "templates.issue_fixed.en.body", why
    assert problem.line == _line_of(text, "Hi " + placeholder)
    assert "placeholders among" in problem.expected


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            'body = "Hi {name}, you told',
            'body = "Hi {name, you told',
            "templates.issue_fixed.en.body",
        ),
        ('en = { subject = "We fixed', 'EN = { subject = "We fixed', "templates.issue_fixed.EN"),
        ("[templates.issue_fixed]", "[templates.Issue_Fixed]", "templates.Issue_Fixed"),
        ('subject = "We fixed it", ', "", "templates.issue_fixed.en.subject"),
        ('resurvey = { after = "14d", channels', 'resurvey = { after = "0d", channels', None),
        ('resurvey = { after = "14d", channels', 'resurvey = { afer = "14d", channels', None),
    ],
)
def test_bad_templates_and_resurveys_are_load_errors_naming_the_field(
    tmp_path: Path, old: str, new: str, path: str | None
) -> None:
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    if path == "templates.issue_fixed.en.subject":  # a subject is optional: this loads
        playbook = _load(tmp_path, text)
        assert playbook.templates.choose("issue_fixed", "en").subject is None  # type: ignore[union-attr]
        return
    with pytest.raises(loopkit.ValidationError) as info:
        _load(tmp_path, text)
    problem = info.value.problems[0]
    assert problem.line is not None
    if path is not None:
        assert problem.path == path
    else:
        assert problem.path.startswith("policies[0].resurvey")


def test_a_subject_is_one_line() -> None:
    with pytest.raises(loopkit.ValidationError) as info:
        MessageTemplates.from_dict({"resurvey": {"en": {"subject": "a\nb", "body": "x"}}})
    assert info.value.path == "templates.resurvey.en.subject"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sv-SE", "sv"), ("sv", "sv"), ("SV-fi", "sv"), ("de", "en"), (None, "en")],
)
def test_the_customers_language_is_chosen_with_fallback(
    language: str | None, expected: str
) -> None:
    templates = MessageTemplates.from_dict(
        {"resurvey": {"sv": {"body": "sv {name}"}, "en": {"body": "en {name}"}}}
    )
    assert templates.render("resurvey", language=language, values={"name": "A"}) == (
        None,
        f"{expected} A",
    )


def test_without_english_the_first_listed_language_is_the_fallback() -> None:
    templates = MessageTemplates.from_dict({"resurvey": {"sv": {"body": "hej"}}})
    assert templates.render("resurvey", language="fi", values={}) == (None, "hej")


@given(
    name=st.text(max_size=50),
    cause=st.text(alphabet="abc{}_0", max_size=20),
)
def test_rendering_fills_values_verbatim_and_never_expands_them_again(
    name: str, cause: str
) -> None:
    templates = MessageTemplates.from_dict(
        {"issue_fixed": {"en": {"subject": "Fixed: {cause}", "body": "Hi {name}, {{ok}} {owner}"}}}
    )
    subject, body = templates.render(  # type: ignore[misc]
        "issue_fixed", language="en", values={"name": name, "cause": cause, "owner": None}
    )
    assert body == f"Hi {name}, {{ok}} "
    assert subject == " ".join(f"Fixed: {cause}".split())


def test_a_purpose_without_a_template_is_left_for_the_host_to_render() -> None:
    email = RecordingChannel()
    loop = loopkit.Loop(
        loopkit.load_playbook(EXAMPLE),
        plugins=[loopkit.ChannelPlugin({"phone": RecordingChannel(), "email": email})],
        clock=FakeClock(),
    )
    result = loop.ingest(make_response(2), customer=make_customer(language="sv"))
    assert result.case is not None
    (follow_up,) = loop.messages(result.case.id)
    assert follow_up.purpose == "follow_up"
    assert (follow_up.subject, follow_up.body) == (None, None)


def test_resurvey_reads_its_durations_and_channels() -> None:
    playbook = loopkit.load_playbook(EXAMPLE)
    resurvey = playbook.policies["support-detractor-callback"].resurvey
    assert resurvey == loopkit.Resurvey(
        after=timedelta(days=14), window=timedelta(days=14), channels=("email", "sms")
    )
    assert resurvey.answer_by == timedelta(days=28)
