"""The playbook: loading — calendars, contact rules, policies, compensation — from
a TOML file, a JSON file or a mapping, reporting every problem at once."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path, PurePath
from typing import Any

import attrs

from loopkit._input.names import check_name
from loopkit._input.reader import Reader
from loopkit._policyfile import MAX_FILE_BYTES, Lines, check_shape
from loopkit.businesstime import BusinessCalendar
from loopkit.compensation import (
    ApprovalRules,
    AuthorityLimits,
    Budget,
    CompensationRule,
    CompensationRules,
    Empowerment,
    Staff,
)
from loopkit.errors import Problem, ValidationError, describe, suggest
from loopkit.outcomes import IssueRules
from loopkit.policies import (
    ContactRules,
    FollowUpPolicy,
    MessageTemplates,
    PolicySet,
    RecoveryPolicy,
    RetentionRules,
)
from loopkit.policies.privacy import check_shown_attributes

__all__ = ["SUPPORTED_VERSIONS", "Playbook", "load_playbook", "load_policies"]

SUPPORTED_VERSIONS = frozenset({1})
"""Policy-file format versions this release reads."""


@attrs.frozen(kw_only=True)
class Playbook:
    """Everything a customer-experience team configures, loaded and checked.

    ``policies`` is the :class:`PolicySet` that decides follow-ups (it carries
    the calendars and contact rules it needs); ``authority``, ``budgets`` and
    ``compensation`` hold the compensation section; ``issues`` says when a
    recurring root cause becomes a systemic issue; ``templates`` render
    messages people can read; ``retention`` says how long personal data is
    kept after a case closes.
    """

    version: int
    policies: PolicySet
    authority: AuthorityLimits = attrs.field(factory=AuthorityLimits)
    budgets: Mapping[str, Budget] = attrs.field(factory=dict)
    compensation: CompensationRules = attrs.field(factory=CompensationRules)
    staff: Staff = attrs.field(factory=Staff)
    approvals: ApprovalRules = attrs.field(factory=ApprovalRules)
    issues: IssueRules = attrs.field(factory=IssueRules)
    templates: MessageTemplates = attrs.field(factory=MessageTemplates)
    retention: RetentionRules = attrs.field(factory=RetentionRules)

    @property
    def empowerment(self) -> Empowerment:
        """Staff, authority, budgets, approvals and rules: what grants are decided by."""
        return Empowerment(
            staff=self.staff,
            authority=self.authority,
            budgets=self.budgets,
            approvals=self.approvals,
            rules=self.compensation,
        )

    @property
    def calendars(self) -> Mapping[str, BusinessCalendar]:
        return self.policies.calendars

    @property
    def contact(self) -> ContactRules:
        return self.policies.contact

    def with_calendars(self, calendars: Mapping[str, BusinessCalendar]) -> Playbook:
        """The same playbook with other calendars (for example with a host's holidays)."""
        return attrs.evolve(self, policies=self.policies.with_calendars(calendars))

    @classmethod
    def from_dict(cls, data: object, path: str = "") -> Playbook:
        """Read a whole policy document (the parsed TOML or JSON)."""
        r = Reader(data, path)
        version = r.get("version", _version)
        calendars = r.get("calendars", _calendars, default={})
        contact = r.get("contact", ContactRules.from_dict, default=ContactRules())
        indexed: list[tuple[int, FollowUpPolicy]] = []

        def read_policy(value: object, at: str) -> FollowUpPolicy:
            policy = FollowUpPolicy.from_dict(value, at)
            indexed.append((int(at.rsplit("[", 1)[1][:-1]), policy))
            return policy

        policies = r.items("policies", read_policy)
        authority = r.get("authority", AuthorityLimits.from_dict, default=AuthorityLimits())
        budgets = r.get("budgets", _budgets, default={})
        compensation = r.items("compensation", CompensationRule.from_dict)
        recovery = r.get("recovery", RecoveryPolicy.from_dict, default=RecoveryPolicy())
        staff = r.get("staff", Staff.from_dict, default=Staff())
        approvals = r.get("approvals", ApprovalRules.from_dict, default=ApprovalRules())
        issues = r.get("issues", IssueRules.from_dict, default=IssueRules())
        templates = r.get("templates", MessageTemplates.from_dict, default=MessageTemplates())
        shown = r.get("privacy", _privacy, default=frozenset())
        retention = r.get("retention", RetentionRules.from_dict, default=RetentionRules())
        r.finish()
        if "policies" not in r.data:
            r.problems.append(Problem(r.at("policies"), "at least one [[policies]] table"))
        elif isinstance(r.data["policies"], list | tuple) and not r.data["policies"]:
            r.problems.append(
                Problem(
                    r.at("policies"),
                    "at least one [[policies]] table",
                    "an empty list",
                    hint="a playbook without policies never opens a case",
                )
            )
        # A calendar that failed to load is reported once, not again by every
        # policy that names it: check against the names declared in the file.
        _cross_check(r, indexed, calendars if calendars is not None else _declared(r.data))
        if isinstance(staff, Staff) and isinstance(authority, AuthorityLimits):
            r.problems.extend(staff.problems_with(authority, r.at("staff")))
        r.raise_if_any()
        try:
            policy_set = PolicySet(
                policies=policies,
                calendars=calendars or {},
                contact=contact,
                recovery=recovery if isinstance(recovery, RecoveryPolicy) else RecoveryPolicy(),
                shown_attributes=shown or frozenset(),
            )
        except ValidationError as err:
            raise err.under(path) from None
        return cls(
            version=version,
            policies=policy_set,
            authority=authority,
            budgets=budgets,
            compensation=CompensationRules(compensation),
            staff=staff,
            approvals=approvals,
            issues=issues,
            templates=templates,
            retention=retention,
        )


def _privacy(value: object, path: str) -> frozenset[str]:
    """The ``[privacy]`` table: ``shown_attributes``, the free attributes whose
    values explanations may show (all others are described, never shown)."""
    r = Reader(value, path)
    shown = r.get("shown_attributes", check_shown_attributes, default=frozenset())
    r.finish()
    r.raise_if_any()
    return shown or frozenset()


def _version(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SUPPORTED_VERSIONS:
        raise ValidationError(
            path, f"a supported version {sorted(SUPPORTED_VERSIONS)}", describe(value)
        )
    return int(value)


def _named_tables(value: object, path: str, read: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path, "a table of named tables", describe(value))
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, table in value.items():
        try:
            check_name(name, f"{path}.{name}" if isinstance(name, str) else path)
            out[name] = read(name, table, f"{path}.{name}")
        except ValidationError as err:
            problems.extend(err.problems)
    if problems:
        raise ValidationError.of(problems)
    return out


def _calendars(value: object, path: str) -> dict[str, BusinessCalendar]:
    def read(name: str, table: Any, at: str) -> BusinessCalendar:
        calendar = BusinessCalendar.from_dict(table, at)
        return calendar if calendar.name else attrs.evolve(calendar, name=name)

    return _named_tables(value, path, read)


def _budgets(value: object, path: str) -> dict[str, Budget]:
    return _named_tables(value, path, Budget.from_dict)


def _declared(data: Mapping[str, Any]) -> frozenset[str] | None:
    """The calendar names a document declares (``None`` when ``calendars`` is
    not even a table: then no policy's calendar can be checked)."""
    tables = data.get("calendars", {})
    return (
        frozenset(k for k in tables if isinstance(k, str)) if isinstance(tables, Mapping) else None
    )


def _cross_check(
    r: Reader,
    policies: list[tuple[int, FollowUpPolicy]],
    calendars: Collection[str] | None,
) -> None:
    """Checks across tables, each policy named by its index in the file."""
    seen: dict[str, int] = {}
    for i, policy in policies:
        at = r.at(f"policies[{i}]")
        if policy.name in seen:
            r.problems.append(
                Problem(
                    f"{at}.name",
                    "a name no other policy has",
                    repr(policy.name),
                    hint=f"policies[{seen[policy.name]}] has it too",
                )
            )
        seen.setdefault(policy.name, i)
        if calendars is None:
            continue
        if policy.deadline is not None and policy.deadline.calendar not in calendars:
            near = suggest(policy.deadline.calendar, calendars)
            r.problems.append(
                Problem(
                    f"{at}.deadline.calendar",
                    f"one of the calendars {sorted(calendars)}",
                    repr(policy.deadline.calendar),
                    hint=f"did you mean {near!r}?" if near else None,
                )
            )


def load_playbook(source: str | Path | Mapping[str, Any]) -> Playbook:
    """Load a playbook from a ``.toml`` or ``.json`` file, or from a mapping.

    Every problem in the input is reported in one :class:`~loopkit.ValidationError`,
    each with its exact path (``policies[2].when.all[1].le``) and, for a file,
    the file's name in ``source`` and the line in each problem's ``line``
    (``err.messages()`` gives ``file:line: path: ...``). Anything else, such
    as ``None``, is a :class:`~loopkit.ValidationError` too, never a ``TypeError``.

    >>> playbook = load_playbook("examples/policies.toml")
    >>> [p.name for p in playbook.policies][:2]
    ['complaint-in-person', 'support-detractor-callback']

    ``load_policies`` is the same function under its old name.
    """
    if isinstance(source, Mapping):
        check_shape(source)
        return Playbook.from_dict(source)
    if not isinstance(source, str | PurePath):
        raise ValidationError(
            "", "a path to a .toml or .json policy file, or a mapping", describe(source)
        )
    path = Path(source)
    data, lines = _read_file(path)
    try:
        check_shape(data)
        return Playbook.from_dict(data)
    except ValidationError as err:
        raise lines.locate(err.in_source(str(path))) from None


load_policies = load_playbook
"""The old name of :func:`load_playbook` (the same function), kept so code
written against it keeps working; new code should call ``load_playbook``."""


def _read_file(path: Path) -> tuple[Any, Lines]:
    """The parsed document and the lines of its paths; every failure is a
    :class:`ValidationError` naming the file (and the line, where known)."""
    name = str(path)
    is_json = path.suffix.lower() == ".json"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as err:
        why = f"{type(err).__name__} ({getattr(err, 'strerror', None) or 'unreadable'})"
        raise ValidationError("", "a readable policy file", why, source=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(
            "", f"a policy file of at most {MAX_FILE_BYTES} bytes", "a larger file", source=name
        )
    language = "JSON" if is_json else "TOML"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValidationError(
            "",
            "a UTF-8 text file",
            f"a byte that is not UTF-8 on line {line}",
            source=name,
            line=line,
        ) from None
    try:
        lines = Lines.of_json(text) if is_json else Lines.of_toml(text)
    except ValidationError as err:
        raise err.in_source(name) from None
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as err:
        raise ValidationError("", "valid JSON", err.msg, source=name, line=err.lineno) from None
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"\(at line (\d+), column \d+\)", str(err))
        line = int(found.group(1)) if found else text.count("\n") + 1  # "at end of document"
        raise ValidationError("", "valid TOML", str(err), source=name, line=line) from None
    except (ValueError, RecursionError) as err:  # huge integers, nesting the scan let through
        raise ValidationError(
            "", f"valid {language}", type(err).__name__, source=name, line=1
        ) from None
    if lines.duplicates:
        raise ValidationError.of(lines.duplicates, source=name)
    return data, lines
