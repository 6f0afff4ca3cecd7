"""Responses: what a customer answered about a touchpoint."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import attrs

from loopkit._input.checks import check_id, check_slug, check_text, optional, validator
from loopkit._input.choices import check_choice, choice, to_choice
from loopkit._input.compiled import SLOW, SLUG, Slow, compile_reader, guard, lookup, plain_text
from loopkit._input.instants import check_aware, format_instant, instant_key, parse_instant
from loopkit._input.reader import REQUIRED, Reader
from loopkit.errors import ValidationError, describe_input

from .customer import REDACTED
from .scales import Category, Scale
from .touchpoint import Touchpoint

__all__ = ["MAX_COMMENT_LENGTH", "Response", "SurveyKind"]

MAX_COMMENT_LENGTH: Final = 10_000
"""Longest free-text comment accepted, in characters."""


class SurveyKind(enum.StrEnum):
    """Transactional surveys ask about one touchpoint; relationship surveys
    about the whole relationship, regularly."""

    TRANSACTIONAL = "transactional"
    RELATIONSHIP = "relationship"


def _check_comment(value: object, path: str) -> str:
    return check_text(value, path, max_length=MAX_COMMENT_LENGTH, personal=True)


def _check_source(value: object, path: str) -> str:
    return check_slug(value, path, "a source name such as 'sms_survey' or 'employee'")


def _check_scale(value: object, path: str) -> Scale:
    if not isinstance(value, Scale):
        raise ValidationError(path, "a Scale such as loopkit.NPS", describe_input(value))
    return value


def _check_touchpoint(value: object, path: str) -> Touchpoint:
    if not isinstance(value, Touchpoint):
        raise ValidationError(path, "a Touchpoint", describe_input(value))
    return value


def _to_survey(value: object) -> object:
    return to_choice(SurveyKind, value)


@attrs.frozen(kw_only=True)
class Response:
    """A customer's answer: a score on a scale, maybe a comment, about a
    touchpoint (transactional) or the whole relationship.

    The scale is required: there is no default, because a score read on the
    wrong scale changes its meaning (a CSAT 4 of 5 is a satisfied customer,
    an NPS 4 of 10 a detractor).

    The score is checked against the scale (an ``int``: bools, floats, NaN and
    out-of-range values are refused) and classified once into ``category``.
    The comment is personal data: it never shows in ``repr``, and is at most
    :data:`MAX_COMMENT_LENGTH` characters.

    >>> from datetime import datetime, timezone
    >>> from loopkit import NPS
    >>> at = datetime(2026, 11, 20, tzinfo=timezone.utc)
    >>> r = Response(id="r-1", customer_id="c-1", scale=NPS, score=3,
    ...              comment="Nobody called back", answered_at=at)
    >>> r.category
    <Category.DETRACTOR: 'detractor'>
    >>> "Nobody" in repr(r)
    False
    """

    id: str = attrs.field(validator=validator(check_id))
    customer_id: str = attrs.field(validator=validator(check_id))
    score: int
    answered_at: datetime = attrs.field(validator=validator(check_aware), eq=instant_key)
    scale: Scale = attrs.field(validator=validator(_check_scale))
    touchpoint: Touchpoint | None = attrs.field(default=None, validator=optional(_check_touchpoint))
    comment: str | None = attrs.field(
        default=None,
        validator=optional(_check_comment),
        repr=lambda v: "None" if v is None else REDACTED,
    )
    survey: SurveyKind = attrs.field(
        default=SurveyKind.TRANSACTIONAL,
        converter=_to_survey,
        validator=validator(choice(SurveyKind)),
    )
    source: str | None = attrs.field(default=None, validator=optional(_check_source))
    category: Category = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        score = self.scale.check_score(self.score, "Response.score")
        object.__setattr__(self, "category", self.scale.classify(score))

    def reclassified(self, category: Category) -> Response:
        """The same response placed in another category (a
        ``loopkit_classify_response`` plugin's verdict for a custom scale)."""
        copy = attrs.evolve(self)
        object.__setattr__(copy, "category", check_choice(Category, category, "category"))
        return copy

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` turns it back into an equal response."""
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "scale": self.scale.to_dict(),
            "score": self.score,
            "comment": self.comment,
            "answered_at": format_instant(self.answered_at),
            "survey": self.survey.value,
            "source": self.source,
            "touchpoint": None if self.touchpoint is None else self.touchpoint.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "response") -> Response:
        """Read and validate a response from untrusted, JSON-like input."""
        if cls is Response:
            found = _read(data)
            if found is not SLOW:
                return found
        r = Reader(data, path)
        kwargs = {
            "id": r.get("id", check_id),
            "customer_id": r.get("customer_id", check_id),
            "scale": r.get("scale", Scale.from_dict),
            "score": r.get("score", int),
            "comment": r.get("comment", _check_comment, default=None, personal=True),
            "answered_at": r.get("answered_at", parse_instant),
            "survey": r.get("survey", choice(SurveyKind), default=SurveyKind.TRANSACTIONAL),
            "source": r.get("source", _check_source, default=None),
            "touchpoint": r.get("touchpoint", Touchpoint.from_dict, default=None),
        }
        if kwargs["scale"] is not None and kwargs["score"] is not None:
            try:
                kwargs["scale"].check_score(kwargs["score"], r.at("score"))
            except ValidationError as err:
                r.note(err)
        r.finish()
        response = r.build_checked(cls, kwargs)  # each field checked once, above
        object.__setattr__(response, "category", kwargs["scale"].classify(kwargs["score"]))
        return response


def _classified(response: Response) -> Response | Slow:
    """A response read at once, its score (an int) on its scale, classified."""
    scale, score = response.scale, response.score
    if not scale.minimum <= score <= scale.maximum:
        return SLOW  # for the reader to say
    _set_category(response, scale.classify(score))
    return response


_set_category: Final = Response.category.__set__  # type: ignore[attr-defined]


lookup(Scale.from_dict, Scale.BUILTIN)  # a built-in scale by its name, as it is written
guard(_check_comment, plain_text(MAX_COMMENT_LENGTH))
guard(_check_source, SLUG)
_read: Final = compile_reader(
    Response,
    {
        "id": (check_id, REQUIRED),
        "customer_id": (check_id, REQUIRED),
        "scale": (Scale.from_dict, REQUIRED),
        "score": (int, REQUIRED),
        "comment": (_check_comment, None),
        "answered_at": (parse_instant, REQUIRED),
        "survey": (choice(SurveyKind), SurveyKind.TRANSACTIONAL),
        "source": (_check_source, None),
        "touchpoint": (Touchpoint, None),
    },
    post=_classified,
)
"""The fields :meth:`Response.from_dict` reads, read at once when nothing is wrong."""
