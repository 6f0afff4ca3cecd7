"""Who is who: employees' roles and teams, how long approval requests stay
open, and everything a grant is decided by (pure values)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import attrs

from loopkit._input.checks import check_id, optional, validator
from loopkit._input.reader import Reader
from loopkit.businesstime import parse_duration
from loopkit.errors import Problem, ValidationError, describe, suggest

from .values import AuthorityLimits, Budget, CompensationRule, CompensationRules, Money

__all__ = ["ApprovalRules", "Empowerment", "Staff", "StaffMember"]


@attrs.frozen(kw_only=True)
class StaffMember:
    """An employee as loopkit needs to know them: their role (which decides
    their authority) and their team (whose budget their grants draw on).

    >>> StaffMember(id="clerk-17", role="store-clerk", team="stores")
    StaffMember(id='clerk-17', role='store-clerk', team='stores')
    """

    id: str = attrs.field(validator=validator(check_id))
    role: str = attrs.field(validator=validator(check_id))
    team: str | None = attrs.field(default=None, validator=optional(check_id))

    @classmethod
    def from_dict(cls, employee: str, data: object, path: str) -> StaffMember:
        """Read ``{ role = "...", team = "..." }`` for ``employee``."""
        r = Reader(data, path)
        role = r.get("role", check_id)
        team = r.get("team", check_id, default=None)
        r.finish()
        return r.build(cls, {"id": employee, "role": role, "team": team})


def _frozen_members(members: Mapping[str, StaffMember]) -> Mapping[str, StaffMember]:
    return MappingProxyType(dict(members))


@attrs.frozen
class Staff:
    """The ``[staff]`` table: employee id = ``{ role = ..., team = ... }``.

    An employee nobody knows has no role, so no authority of their own: every
    priced grant they make needs an approval.

    >>> staff = Staff.from_dict({"clerk-17": {"role": "store-clerk", "team": "stores"}})
    >>> staff.role_of("clerk-17"), staff.role_of("stranger")
    ('store-clerk', None)
    """

    members: Mapping[str, StaffMember] = attrs.field(factory=dict, converter=_frozen_members)

    def member(self, employee: str) -> StaffMember | None:
        """The employee's entry, or ``None`` for someone the table does not know."""
        return self.members.get(employee)

    def role_of(self, employee: str) -> str | None:
        """The employee's role, or ``None`` (no authority of their own)."""
        found = self.members.get(employee)
        return None if found is None else found.role

    def team_of(self, employee: str) -> str | None:
        """The employee's team, or ``None``."""
        found = self.members.get(employee)
        return None if found is None else found.team

    def __iter__(self) -> Iterator[StaffMember]:
        return iter(self.members.values())

    def __len__(self) -> int:
        return len(self.members)

    @classmethod
    def from_dict(cls, data: object, path: str = "staff") -> Staff:
        if not isinstance(data, Mapping):
            raise ValidationError(path, "a table of employee = { role, team }", describe(data))
        problems: list[Problem] = []
        members: dict[str, StaffMember] = {}
        for employee, table in data.items():
            try:
                check_id(employee, f"{path}.{employee}")
                members[employee] = StaffMember.from_dict(employee, table, f"{path}.{employee}")
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise ValidationError.of(problems)
        return cls(members)

    def problems_with(self, authority: AuthorityLimits, path: str = "staff") -> list[Problem]:
        """Roles that ``[authority]`` does not know, each with its path (a role
        with no authority at all is written ``role = "0 SEK"``)."""
        out = []
        for member in self:
            if authority.limit_for(member.role) is None:
                near = suggest(member.role, authority.limits)
                out.append(
                    Problem(
                        f"{path}.{member.id}.role",
                        f"one of the roles in [authority] {sorted(authority.limits)}",
                        repr(member.role),
                        hint=f"did you mean {near!r}?" if near else None,
                    )
                )
        return out


DEFAULT_EXPIRE_AFTER = timedelta(days=7)


@attrs.frozen(kw_only=True)
class ApprovalRules:
    """The ``[approvals]`` table: ``expire_after`` is how long an approval
    request stays open (default ``"7d"``); then ``tick`` expires it and its
    reservation is released.

    >>> ApprovalRules.from_dict({"expire_after": "3d"}).expire_after
    datetime.timedelta(days=3)
    """

    expire_after: timedelta = DEFAULT_EXPIRE_AFTER

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.expire_after, timedelta) or self.expire_after <= timedelta(0):
            raise ValidationError(
                "ApprovalRules.expire_after", "a positive duration", describe(self.expire_after)
            )

    @classmethod
    def from_dict(cls, data: object, path: str = "approvals") -> ApprovalRules:
        r = Reader(data, path)
        expire_after = r.get("expire_after", parse_duration, default=DEFAULT_EXPIRE_AFTER)
        r.finish()
        return r.build(cls, {"expire_after": expire_after})


@attrs.frozen(kw_only=True)
class Empowerment:
    """Everything a grant is decided by: who is who (``staff``), what each role
    may grant alone (``authority``), the ``budgets``, the ``approvals`` rules and
    the compensation ``rules``. ``Playbook.empowerment`` builds it from a
    policy file.

    >>> e = Empowerment.from_dict({
    ...     "staff": {"clerk-17": {"role": "store-clerk", "team": "stores"}},
    ...     "authority": {"store-clerk": "150 SEK"},
    ...     "budgets": {"stores": {"amount": "5000 SEK", "per": "month", "team": "stores"}}})
    >>> str(e.limit_of(e.member("clerk-17"))), e.budget_for(e.member("clerk-17")).name
    ('150 SEK', 'stores')
    """

    staff: Staff = attrs.field(factory=Staff)
    authority: AuthorityLimits = attrs.field(factory=AuthorityLimits)
    budgets: Mapping[str, Budget] = attrs.field(factory=dict)
    approvals: ApprovalRules = attrs.field(factory=ApprovalRules)
    rules: CompensationRules = attrs.field(factory=CompensationRules)

    def member(self, employee: str | StaffMember) -> StaffMember | None:
        """A :class:`StaffMember` as given (from the host's HR system), or the
        staff table's entry for an id, or ``None`` for someone unknown."""
        if isinstance(employee, StaffMember):
            return employee
        return self.staff.member(employee)

    def limit_of(self, member: StaffMember | None) -> Money | None:
        """What ``member`` may grant alone; ``None`` for an unknown employee.

        A member whose role ``[authority]`` does not know is refused with a
        :class:`~loopkit.ValidationError` at ``staff.ID.role``.
        """
        if member is None:
            return None
        limit = self.authority.limit_for(member.role)
        if limit is None:
            raise ValidationError(
                f"staff.{member.id}.role",
                f"one of the roles in [authority] {sorted(self.authority.limits)}",
                repr(member.role),
            )
        return limit

    def budget_for(self, member: StaffMember | None, name: str | None = None) -> Budget | None:
        """The budget a grant draws on: the one named, else the first whose
        ``team`` is the member's, else ``None`` (the grant is recorded but no
        budget is counted)."""
        if name is not None:
            found = self.budgets.get(name)
            if found is None:
                raise ValidationError(
                    "budget", f"one of the budgets {sorted(self.budgets)}", repr(name)
                )
            return found
        if member is None or member.team is None:
            return None
        for budget in self.budgets.values():
            if budget.team == member.team:
                return budget
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "") -> Empowerment:
        """Read the ``staff``, ``authority``, ``budgets``, ``approvals`` and
        ``compensation`` sections of a policy document (other keys are ignored)."""
        r = Reader(data, path)
        staff = r.get("staff", Staff.from_dict, default=Staff())
        authority = r.get("authority", AuthorityLimits.from_dict, default=AuthorityLimits())
        budgets = r.get("budgets", _budgets, default={})
        approvals = r.get("approvals", ApprovalRules.from_dict, default=ApprovalRules())
        rules = r.items("compensation", CompensationRule.from_dict)
        r.raise_if_any()
        problems = staff.problems_with(authority, r.at("staff"))
        if problems:
            raise ValidationError.of(problems)
        return cls(
            staff=staff,
            authority=authority,
            budgets=budgets,
            approvals=approvals,
            rules=CompensationRules(rules),
        )


def _budgets(value: object, path: str) -> dict[str, Budget]:
    if not isinstance(value, Mapping):
        raise ValidationError(path, "a table of named tables", describe(value))
    out: dict[str, Budget] = {}
    problems: list[Problem] = []
    for name, table in value.items():
        try:
            check_id(name, f"{path}.{name}")
            out[name] = Budget.from_dict(name, table, f"{path}.{name}")
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise ValidationError.of(problems)
    return out
