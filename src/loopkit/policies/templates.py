"""Messages people can read: the ``[templates]`` table, one template per purpose
and language, rendered into a message's subject and body (pure).

.. code-block:: toml

    [templates.resurvey]
    en = { subject = "How are we doing now?", body = "Hi {name}, would you rate us again?" }
    sv = { subject = "Hur går det nu?", body = "Hej {name}, vill du betygsätta oss igen?" }

A placeholder is a name in braces from :data:`PLACEHOLDERS`; anything else (an
unknown name, an attribute or index such as ``{name.upper}``, a format spec or
conversion) is a load error naming the field, so a template can never reach into
an object. ``{{`` and ``}}`` are literal braces. The rendered text is personal
data (the customer's name is in it): it lives only in ``Message.subject`` and
``Message.body``, which no repr or log line shows.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, Final

import attrs

from loopkit._input.checks import check_slug
from loopkit._input.reader import Reader
from loopkit.errors import Problem, ValidationError, describe

__all__ = ["PLACEHOLDERS", "MessageTemplates", "Template"]

PLACEHOLDERS: Final = frozenset({"name", "case_id", "owner", "due_at", "cause", "channel"})
"""What a template may say: ``{name}`` (the customer's name; empty when unknown),
``{case_id}``, ``{owner}``, ``{due_at}`` (ISO 8601), ``{cause}`` (the root cause of
a fixed issue) and ``{channel}``; a placeholder with no value renders empty."""

FALLBACK_LANGUAGE: Final = "en"
"""The language chosen when the customer's is not among a purpose's templates
(then the first language the file lists)."""

MAX_SUBJECT: Final = 998
"""A rendered subject is one line of at most this many characters (RFC 5322)."""
MAX_BODY: Final = 100_000
"""A rendered body is cut at this many characters (what a message may hold)."""

MAX_SUBJECT_TEMPLATE: Final = 200
"""The longest subject a template may have (before its placeholders are filled)."""
MAX_TEMPLATE: Final = 20_000
"""The longest body a template may have."""

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_FORMATTER: Final = string.Formatter()


def _check_text(value: object, path: str, max_length: int = MAX_TEMPLATE) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(path, "a non-empty string", describe(value))
    if len(value) > max_length:
        raise ValidationError(path, f"at most {max_length} characters", f"{len(value)} characters")
    if _CONTROL.search(value):
        raise ValidationError(
            path, "text without control characters (line breaks and tabs allowed)", "one or more"
        )
    try:
        fields = list(_FORMATTER.parse(value))
    except ValueError:
        raise ValidationError(
            path, "a template with balanced braces ('{{' for a literal brace)", "a stray brace"
        ) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ValidationError(
                path,
                f"placeholders among {sorted(PLACEHOLDERS)}, written like {{name}}",
                describe("{" + name + (f"!{conversion}" if conversion else "") + "}"),
            )
    return value


def _check_subject(value: object, path: str) -> str:
    text = _check_text(value, path, MAX_SUBJECT_TEMPLATE)
    if "\n" in text or "\r" in text:
        raise ValidationError(path, "a subject of one line", "a line break")
    return text


@attrs.frozen(kw_only=True)
class Template:
    """One purpose's text in one language: ``body`` and, for channels that have
    one, ``subject``.

    >>> Template.from_dict({"body": "Hi {name}!"}).render({"name": "Anna"})
    (None, 'Hi Anna!')
    """

    subject: str | None = attrs.field(default=None, repr=False)
    body: str = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, data: object, path: str = "template") -> Template:
        r = Reader(data, path)
        kwargs = {
            "subject": r.get("subject", _check_subject, default=None),
            "body": r.get("body", _check_text),
        }
        r.finish()
        return r.build(cls, kwargs)

    def render(self, values: Mapping[str, str]) -> tuple[str | None, str]:
        """The subject and body with every placeholder filled (missing: empty)."""
        filled = {name: values.get(name, "") for name in PLACEHOLDERS}
        subject = None
        if self.subject is not None:  # one line, whatever a value held
            subject = " ".join(self.subject.format_map(filled).split())[:MAX_SUBJECT]
        return subject, self.body.format_map(filled)[:MAX_BODY]


def _languages(value: object, path: str) -> dict[str, Template]:
    if not isinstance(value, Mapping) or not value:
        raise ValidationError(
            path, 'a table of languages such as { en = { body = "..." } }', describe(value)
        )
    out: dict[str, Template] = {}
    problems: list[Problem] = []
    for language, table in value.items():
        at = f"{path}.{language}" if isinstance(language, str) else path
        try:
            if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
                raise ValidationError(at, "a language tag such as 'en' or 'sv-SE'", "another key")
            out[language.lower()] = Template.from_dict(table, at)
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise ValidationError.of(problems)
    return out


@attrs.frozen(kw_only=True)
class MessageTemplates:
    """The ``[templates]`` table: for each message purpose (``follow_up``,
    ``apology``, ``resurvey``, ``issue_fixed``…) its template in each language.
    A purpose without a template renders nothing (the host renders it itself).

    >>> templates = MessageTemplates.from_dict({
    ...     "resurvey": {"en": {"body": "Hi {name}, how are we doing?"},
    ...                  "sv": {"body": "Hej {name}, hur går det?"}}})
    >>> templates.render("resurvey", language="sv-SE", values={"name": "Anna"})
    (None, 'Hej Anna, hur går det?')
    >>> templates.render("follow_up", language="sv", values={}) is None
    True
    """

    purposes: Mapping[str, Mapping[str, Template]] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, data: object, path: str = "templates") -> MessageTemplates:
        if not isinstance(data, Mapping):
            raise ValidationError(path, "a table of purposes", describe(data))
        out: dict[str, dict[str, Template]] = {}
        problems: list[Problem] = []
        for purpose, table in data.items():
            at = f"{path}.{purpose}" if isinstance(purpose, str) else path
            try:
                check_slug(purpose, at, "a message purpose such as 'resurvey'")
                out[purpose] = _languages(table, at)
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise ValidationError.of(problems)
        return cls(purposes=out)

    def choose(self, purpose: str, language: str | None) -> Template | None:
        """The template for ``purpose`` in ``language``: the exact tag, else its
        language alone (``sv`` for ``sv-SE``), else English, else the first listed."""
        by_language = self.purposes.get(purpose)
        if not by_language:
            return None
        if language is not None:
            tag = language.lower()
            found = by_language.get(tag) or by_language.get(tag.split("-", 1)[0])
            if found is not None:
                return found
        return by_language.get(FALLBACK_LANGUAGE) or next(iter(by_language.values()))

    def render(
        self, purpose: str, *, language: str | None, values: Mapping[str, Any]
    ) -> tuple[str | None, str] | None:
        """``(subject, body)`` for a message, or ``None`` without a template."""
        template = self.choose(purpose, language)
        if template is None:
            return None
        return template.render({k: "" if v is None else str(v) for k, v in values.items()})
