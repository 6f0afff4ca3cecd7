"""Contact rules: how loopkit may contact customers (the ``[contact]`` table)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from loopkit._input.choices import choice
from loopkit._input.instants import check_aware
from loopkit._input.reader import Reader
from loopkit.businesstime import ContactWindow, format_duration, parse_duration
from loopkit.conditions import Condition
from loopkit.errors import BusinessTimeError, ValidationError, describe
from loopkit.model import Cap, Category, Customer, DailyWindow, Response, Touchpoint

from .policy import FollowUpPolicy, _positive_duration

__all__ = ["ContactHistory", "ContactRules"]


def _times(value: Sequence[datetime]) -> tuple[datetime, ...]:
    return tuple(sorted(check_aware(t, "ContactHistory") for t in value))


@attrs.frozen(kw_only=True)
class ContactHistory:
    """What the customer already got from us: when follow-up cases were opened
    for them, and when they were invited to surveys. The engine fills it from
    its store; in a unit test, write it by hand.

    >>> from datetime import datetime, timezone
    >>> h = ContactHistory(follow_ups=[datetime(2026, 11, 1, tzinfo=timezone.utc)])
    >>> h.follow_ups_since(datetime(2026, 10, 1, tzinfo=timezone.utc))
    1
    """

    follow_ups: tuple[datetime, ...] = attrs.field(default=(), converter=_times)
    surveys: tuple[datetime, ...] = attrs.field(default=(), converter=_times)

    def follow_ups_since(self, since: datetime) -> int:
        return sum(1 for t in self.follow_ups if t >= since)


def _follow_up_cap(data: object, path: str) -> Cap:
    """One ``[[contact.follow_up_caps]]`` table: ``max``, ``per`` and an
    optional ``when`` (all customers when absent).

    >>> cap = _follow_up_cap({"when": {"field": "customer.segment", "equals": "gold"},
    ...                       "max": 1, "per": "60d"}, "contact.follow_up_caps[0]")
    >>> cap.count, cap.per.days, cap.when is not None
    (1, 60, True)
    """
    return Cap.from_dict(data, path, count_key="max", when=Condition.parse)


@attrs.frozen(kw_only=True)
class ContactRules:
    """The ``[contact]`` table: how loopkit may contact customers.

    ``quiet_hours`` apply to customers who did not give their own;
    ``survey_cooldown`` spaces survey invitations; ``follow_up_caps`` limit
    follow-ups per customer, the first cap whose ``when`` matches applies.
    """

    quiet_hours: DailyWindow | None = None
    survey_cooldown: timedelta | None = None
    follow_up_caps: tuple[Cap, ...] = ()
    stop_survey_on: frozenset[Category] = frozenset({Category.DETRACTOR})
    stop_survey_for: timedelta = timedelta(days=7)

    @classmethod
    def from_dict(cls, data: object, path: str = "contact") -> ContactRules:
        r = Reader(data, path)
        kwargs = {
            "quiet_hours": r.get("quiet_hours", DailyWindow.parse, default=None),
            "survey_cooldown": r.get("survey_cooldown", parse_duration, default=None),
            "follow_up_caps": r.items("follow_up_caps", _follow_up_cap),
            "stop_survey_on": r.get(
                "stop_survey_on", _categories, default=frozenset({Category.DETRACTOR})
            ),
            "stop_survey_for": r.get(
                "stop_survey_for", _positive_duration, default=timedelta(days=7)
            ),
        }
        r.finish()
        return r.build(cls, kwargs)

    def stops_survey(self, response: Response | None, policy: FollowUpPolicy | None) -> bool:
        """Whether this answer stops the automated survey flow (seed 003: never
        ask a customer who just said "1" how likely they are to recommend you).

        The stop belongs to the answer, not to whether a case was opened: it
        holds when the answer's category is one of ``stop_survey_on``
        (detractors, by default) or when the matching policy says
        ``stop_survey``, also when contact rules suppressed the follow-up. A
        touchpoint signal (``response`` is ``None``) stops it only by its policy.

        >>> from loopkit.testing import make_response
        >>> ContactRules().stops_survey(make_response(score=1), None)
        True
        >>> ContactRules().stops_survey(make_response(score=8), None)
        False
        """
        answer = response is not None and response.category in self.stop_survey_on
        return answer or (policy is not None and policy.stop_survey)

    def window_for(self, customer: Customer) -> ContactWindow:
        """When this customer may be contacted, on their own clock: never in
        their quiet hours (or these rules' default), and only inside their
        preferred window when they gave one. Should the two leave no time at
        all, the quiet hours win and the preferred window is ignored
        (:meth:`PolicySet.decide` then says so in its warnings).

        >>> from loopkit.testing import make_customer
        >>> rules = ContactRules(quiet_hours=DailyWindow.parse("20:00-08:00"))
        >>> str(rules.window_for(make_customer()).quiet_hours)
        '20:00-08:00'
        """
        prefs = customer.contact
        return _window(
            customer.timezone, prefs.quiet_hours or self.quiet_hours, prefs.preferred_window
        )

    def next_survey_at(self, history: ContactHistory) -> datetime | None:
        """When the survey cooldown lets the next invitation go out: ``None``
        when nothing holds it back.

        >>> from datetime import datetime, timedelta, timezone
        >>> t = datetime(2026, 11, 20, tzinfo=timezone.utc)
        >>> rules = ContactRules(survey_cooldown=timedelta(days=30))
        >>> rules.next_survey_at(ContactHistory(surveys=[t])).isoformat()
        '2026-12-20T00:00:00+00:00'
        """
        if self.survey_cooldown is None or not history.surveys:
            return None
        return history.surveys[-1] + self.survey_cooldown

    def may_survey(
        self, customer: Customer, history: ContactHistory, now: datetime
    ) -> tuple[bool, str]:
        """Whether a survey invitation may go out now, and why (not):
        ``(False, "opted_out")``, ``(False, "cooldown")`` or ``(True, "allowed")``.

        >>> from datetime import datetime, timedelta, timezone
        >>> from loopkit.testing import make_customer
        >>> now = datetime(2026, 11, 20, tzinfo=timezone.utc)
        >>> rules = ContactRules(survey_cooldown=timedelta(days=30))
        >>> recent = ContactHistory(surveys=[now - timedelta(days=3)])
        >>> rules.may_survey(make_customer(), recent, now)
        (False, 'cooldown')
        """
        if customer.contact.surveys_opt_out:
            return False, "opted_out"
        if self.in_survey_cooldown(history.surveys, now):
            return False, "cooldown"
        return True, "allowed"

    def in_survey_cooldown(self, invitations: Sequence[datetime], now: datetime) -> bool:
        """Whether the last of these survey invitations is too recent for
        another at ``now`` (``survey_cooldown``; never without one)."""
        cooldown = self.survey_cooldown
        return cooldown is not None and bool(invitations) and now - max(invitations) < cooldown

    def answer_stops_survey_at(self, answered_at: datetime, now: datetime) -> bool:
        """Whether an answer that stopped the survey flow (:meth:`stops_survey`),
        given at ``answered_at``, still holds it at ``now``: for
        ``stop_survey_for`` after the answer. A later answer does not lift it
        early, and it never lifts the stop of a case still open."""
        return now < answered_at + self.stop_survey_for

    def capped(
        self,
        response: Response | None,
        customer: Customer,
        history: ContactHistory,
        now: datetime,
        *,
        touchpoint: Touchpoint | None = None,
    ) -> str | None:
        """Why a new follow-up would exceed a frequency cap, or ``None``. For a
        touchpoint signal, ``response`` is ``None`` and ``touchpoint`` is given."""
        for cap in self.follow_up_caps:
            if cap.when is None or cap.when.matches(
                response, customer, touchpoint=touchpoint, now=now
            ):
                count = history.follow_ups_since(now - cap.per)
                if count >= cap.count:
                    return (
                        f"frequency cap: at most {cap.count} follow-up(s) per "
                        f"{format_duration(cap.per)}, and {count} already"
                    )
                return None
        return None


def _never_contact(customer: Customer, rules: ContactRules) -> str | None:
    """Why no contact is ever allowed (quiet hours ``00:00-24:00``), or ``None``."""
    own = customer.contact.quiet_hours
    if own is not None:
        if own.covers_whole_day:
            return "the customer asked never to be contacted (quiet hours 00:00-24:00)"
        return None
    if rules.quiet_hours is not None and rules.quiet_hours.covers_whole_day:
        return "the contact rules' quiet hours cover the whole day (00:00-24:00)"
    return None


@functools.lru_cache(maxsize=4096)
def _window(
    timezone: str, quiet: DailyWindow | None, preferred: DailyWindow | None
) -> ContactWindow:
    try:
        return ContactWindow(timezone=timezone, quiet_hours=quiet, preferred_window=preferred)
    except BusinessTimeError:  # the two leave no time at all: quiet hours win
        return ContactWindow(timezone=timezone, quiet_hours=quiet)


def _categories(value: object, path: str) -> frozenset[Category]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(
            path, 'a list of categories such as ["detractor"] (may be empty)', describe(value)
        )
    read = choice(Category)
    return frozenset(read(v, f"{path}[{i}]") for i, v in enumerate(value))


_NO_HISTORY: Final = ContactHistory()
