"""Parsing: a condition table (from a dict, TOML or JSON) checked and turned
into the tree, every problem reported at once with its path
(``policies[2].when.all[1].le: expected a number``).

Field paths are looked up in the schema (:mod:`~loopkit.conditions.fields`),
operators in :data:`~loopkit.conditions.tree.OPERATORS`, and every literal is
checked against its field's kind and format, so a tree that parses can only
compare known fields with values they could hold.

>>> str(parse({"field": "response.score", "le": 6}))
'response.score le 6'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from loopkit._input.instants import parse_instant
from loopkit.businesstime import parse_duration
from loopkit.errors import Problem, ValidationError, describe, join_path, suggest

from .fields import FieldKind, FieldSpec, field_names, resolve_field, suggest_field
from .patterns import compile_pattern
from .tree import COMBINERS, OPERATORS, OPS_FOR, Group, Leaf, Node

__all__ = ["MAX_CONDITION_DEPTH", "MAX_CONDITION_LEAVES", "parse"]


MAX_CONDITION_DEPTH: Final = 16
"""Deepest nesting of ``all`` / ``any`` / ``not`` in one condition."""
MAX_CONDITION_LEAVES: Final = 500
"""Most leaves (``{ field = ..., op = ... }``) in one condition."""


class _Parser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.leaves = 0

    def node(self, data: object, path: str, at: str, depth: int = 0) -> Node | None:
        if depth > MAX_CONDITION_DEPTH:
            self.problems.append(
                Problem(
                    path,
                    f"conditions nested at most {MAX_CONDITION_DEPTH} deep (all / any / not)",
                    "deeper nesting",
                )
            )
            return None
        if isinstance(data, Mapping) and "field" in data:
            self.leaves += 1
            if self.leaves == MAX_CONDITION_LEAVES + 1:
                self.problems.append(
                    Problem(path, f"a condition of at most {MAX_CONDITION_LEAVES} tests", "more")
                )
            if self.leaves > MAX_CONDITION_LEAVES:
                return None
        if not isinstance(data, Mapping):
            self.problems.append(
                Problem(
                    path, "a condition table such as { field = ..., equals = ... }", describe(data)
                )
            )
            return None
        if "field" in data:
            return self.leaf(data, path, at)
        combiners = [k for k in data if k in COMBINERS]
        others = [k for k in data if k not in COMBINERS]
        for key in others:
            name = key if isinstance(key, str) else repr(key)
            near = suggest(name, (*COMBINERS, "field"))
            hint = f"did you mean {near!r}?" if near else None
            if near is None and name in OPERATORS:
                hint = "an operator needs a field: { field = ..., " + name + " = ... }"
            self.problems.append(
                Problem(
                    join_path(path, name),
                    "one of 'all', 'any', 'not' or 'field'",
                    "an unknown key",
                    hint=hint,
                )
            )
        if len(combiners) != 1:
            if not others:
                self.problems.append(
                    Problem(
                        path,
                        "exactly one of 'all', 'any', 'not', or a leaf with 'field'",
                        describe(sorted(str(k) for k in data)) if data else "an empty table",
                    )
                )
            return None
        kind = combiners[0]
        sub, sub_at = join_path(path, kind), join_path(at, kind)
        value = data[kind]
        if kind == "not":
            child = self.node(value, sub, sub_at, depth + 1)
            return None if child is None else Group(at=at, kind="not", children=(child,))
        if not isinstance(value, list | tuple) or not value:
            self.problems.append(Problem(sub, "a non-empty list of conditions", describe(value)))
            return None
        children = [
            self.node(v, f"{sub}[{i}]", f"{sub_at}[{i}]", depth + 1) for i, v in enumerate(value)
        ]
        if any(c is None for c in children):
            return None
        return Group(at=at, kind=kind, children=tuple(c for c in children if c is not None))

    def leaf(self, data: Mapping[str, Any], path: str, at: str) -> Leaf | None:
        ok = True
        raw_field = data["field"]
        spec = resolve_field(raw_field)
        if spec is None:
            ok = False
            near = suggest_field(raw_field) if isinstance(raw_field, str) else None
            self.problems.append(
                Problem(
                    join_path(path, "field"),
                    "a known field such as 'response.score' or 'customer.attributes.NAME'",
                    describe(raw_field),
                    hint=f"did you mean {near!r}?" if near else None,
                )
            )
        ops = [k for k in data if k in OPERATORS]
        for key in data:
            if key == "field" or key in OPERATORS or (key == "since" and "within" in data):
                continue
            name = key if isinstance(key, str) else repr(key)
            known = (*OPERATORS, "field", "since")
            near = suggest(name, known)
            self.problems.append(
                Problem(
                    join_path(path, name),
                    "an operator (" + ", ".join(OPERATORS) + ")"
                    if name != "since"
                    else "'since' only together with 'within'",
                    "an unknown key" if name != "since" else "'since' without 'within'",
                    hint=f"did you mean {near!r}?" if near and near != name else None,
                )
            )
            ok = False
        if not ops and not ok:
            return None  # the unknown key (a misspelt operator) is the problem
        if len(ops) != 1:
            self.problems.append(
                Problem(
                    path,
                    "exactly one operator (" + ", ".join(OPERATORS) + ")",
                    "none" if not ops else "several: " + ", ".join(ops),
                )
            )
            return None
        op = ops[0]
        if spec is None or not ok:
            return None
        if op not in OPS_FOR[spec.kind]:
            allowed = [o for o in OPERATORS if o in OPS_FOR[spec.kind]]
            self.problems.append(
                Problem(
                    join_path(path, op),
                    f"an operator that applies to {spec.path} ({spec.kind.value}): "
                    + ", ".join(allowed),
                    repr(op),
                )
            )
            return None
        where = join_path(path, op)
        before = len(self.problems)
        written = data[op]
        value = self.literal(spec, op, written, where)
        since: FieldSpec | None = None
        if op == "within" and "since" in data:
            since = resolve_field(data["since"])
            if since is None or since.kind is not FieldKind.TIME:
                near = (
                    suggest_field(
                        data["since"], tuple(p for p in field_names() if p.endswith("_at"))
                    )
                    if isinstance(data["since"], str)
                    else None
                )
                self.problems.append(
                    Problem(
                        join_path(path, "since"),
                        "a time field such as 'touchpoint.occurred_at'",
                        describe(data["since"]),
                        hint=f"did you mean {near!r}?" if near else None,
                    )
                )
        if len(self.problems) > before:
            return None
        if isinstance(written, list):
            written = tuple(written)
        return Leaf(at=at, field=spec, op=op, written=written, value=value, since=since)

    # -- literals ------------------------------------------------------------

    def literal(self, spec: FieldSpec, op: str, value: object, path: str) -> Any:
        try:
            return _literal(spec, op, value, path)
        except ValidationError as err:
            self.problems.extend(err.problems)
            return None


def _scalar(spec: FieldSpec, value: object, path: str) -> Any:
    """One literal compared with a field by equals / in / lt / ... ."""
    kind = spec.kind
    if kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            raise ValidationError(path, "a number", describe(value))
        if kind is FieldKind.NUMBER:
            return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return value
    if kind is FieldKind.TIME:
        return parse_instant(value, path)
    if kind is FieldKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError(path, "true or false", describe(value))
        return value
    if kind is FieldKind.CHOICE:
        assert spec.choices is not None
        names = [m.value for m in spec.choices]
        if not isinstance(value, str) or value not in names:
            near = suggest(value, names) if isinstance(value, str) else None
            raise ValidationError(
                path,
                f"one of {names}",
                describe(value),
                hint=f"did you mean {near!r}?" if near else None,
            )
        return spec.choices(value)
    if kind is FieldKind.ANY:
        if isinstance(value, str):
            _no_control(value, path)
        if isinstance(value, bool | str) or (isinstance(value, int | float) and _finite(value)):
            return value
        raise ValidationError(path, "a string, number or true/false", describe(value))
    if not isinstance(value, str):
        raise ValidationError(path, "a string", describe(value))
    _no_control(value, path)
    if spec.format is not None:
        _check_format(spec, value, path)
    return value


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str, path: str) -> None:
    """Text literals hold no control characters (NUL, ANSI escapes): in a
    policy file they are junk, and in a report they would drive the terminal."""
    if _CONTROL.search(value):
        raise ValidationError(path, "text without control characters", describe(value))


def _check_format(spec: FieldSpec, value: str, path: str) -> None:
    """A literal the field's values can never equal is a mistake: refuse it,
    saying the format (``touchpoint.kind equals "Offboarding"``: kinds are
    lowercase slugs), with the fixed-up literal when there is one."""
    assert spec.format is not None
    try:
        spec.format(value, path)
    except ValidationError as err:
        fixed = value.strip().lower().replace(" ", "_")
        try:
            spec.format(fixed, path)
        except ValidationError:
            fixed = ""
        problem = err.problems[0]
        raise ValidationError(
            path,
            f"{problem.expected} (the only form {spec.path} takes)",
            problem.got,
            hint=f"did you mean {fixed!r}?" if fixed and fixed != value else None,
        ) from None


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _literal(spec: FieldSpec, op: str, value: object, path: str) -> Any:
    kind = spec.kind
    if op == "exists":
        if not isinstance(value, bool):
            raise ValidationError(path, "true or false", describe(value))
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise ValidationError(path, "a non-empty list of values", describe(value))
        problems: list[Problem] = []
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_scalar(spec, item, f"{path}[{i}]"))
            except ValidationError as err:
                problems.extend(err.problems)
        if problems:
            raise ValidationError.of(problems)
        return tuple(out)
    if op in ("lt", "le", "gt", "ge"):
        if kind is FieldKind.ANY:
            number = attrs.evolve(spec, kind=FieldKind.NUMBER)
            return _scalar(number, value, path)
        return _scalar(spec, value, path)
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValidationError(path, "a list of two values [lowest, highest]", describe(value))
        target = attrs.evolve(spec, kind=FieldKind.NUMBER) if kind is FieldKind.ANY else spec
        low = _scalar(target, value[0], f"{path}[0]")
        high = _scalar(target, value[1], f"{path}[1]")
        if high < low:
            raise ValidationError(path, "lowest <= highest", describe(value))
        return (low, high)
    if op == "contains":
        if not isinstance(value, str) or not value:
            raise ValidationError(path, "a non-empty string", describe(value))
        _no_control(value, path)
        if kind is FieldKind.NAMES and spec.format is not None:
            spec.format(value.casefold(), path)
        return value.casefold()
    if op == "matches":
        return compile_pattern(value, path)
    if op == "within":
        duration = parse_duration(value, path)
        if duration <= timedelta(0):
            raise ValidationError(path, "a positive duration", describe(value))
        return duration
    return _scalar(spec, value, path)  # equals, not_equals


def parse(data: object, path: str = "when") -> Node:
    """Check a condition table and build its tree; every problem is reported at
    once, each with its path (``when.all[1].le``)."""
    parser = _Parser()
    tree = parser.node(data, path, _relative(path))
    if parser.problems or tree is None:
        raise ValidationError.of(parser.problems or [Problem(path, "a condition")])
    return tree


def _relative(path: str) -> str:
    """``policies[0].when`` -> ``when``: traces name the place inside the rule."""
    return path.rsplit("].", 1)[-1].rsplit(".", 1)[-1]
