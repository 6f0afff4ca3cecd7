"""Conditions: ``all`` / ``any`` / ``not`` over typed fields, parsed and checked
when a policy file is loaded, compiled once into a plain Python function, and
able to explain themselves.

A condition is a table. A *leaf* names a field and one operator::

    { field = "response.score", le = 6 }

and ``all``, ``any`` and ``not`` combine conditions::

    { all = [ {...}, { any = [ {...}, {...} ] }, { not = {...} } ] }

Compiling turns the tree into Python source and ``exec``s it once. Nothing a
policy file contains is ever written into that source: field paths are only
looked up in the fixed schema (:mod:`loopkit.policies.fields`), operators in
a fixed table, and every literal, attribute key and regular expression is
bound as a constant in the function's namespace (which has no builtins).

>>> cond = Condition.parse({"all": [
...     {"field": "response.category", "equals": "detractor"},
...     {"field": "touchpoint.kind", "in": ["purchase", "delivery"]},
... ]})
>>> str(cond)
"all(response.category equals 'detractor', touchpoint.kind in ['purchase', 'delivery'])"
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from loopkit._input.instants import parse_instant
from loopkit.businesstime import format_duration, parse_duration
from loopkit.errors import Problem, ValidationError, describe, join_path, suggest
from loopkit.model import Customer, Response, Touchpoint

from ._patterns import MATCH_WINDOW, compile_pattern
from .fields import FieldKind, FieldSpec, field_names, resolve_field, show, suggest_field

__all__ = [
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_LEAVES",
    "OPERATORS",
    "Condition",
    "ConditionTrace",
]

OPERATORS: Final = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "lt",
    "le",
    "gt",
    "ge",
    "between",
    "exists",
    "contains",
    "matches",
    "within",
)
"""Every leaf operator, in the order the reference documents them."""

_COMBINERS: Final = ("all", "any", "not")
_NEGATED: Final = {"not_equals": "equals", "not_in": "in"}
_ORDERED: Final = frozenset({FieldKind.INTEGER, FieldKind.NUMBER, FieldKind.TIME, FieldKind.ANY})
_TEXTUAL: Final = frozenset({FieldKind.TEXT, FieldKind.ANY, FieldKind.NAMES})
_SCALAR: Final = frozenset(FieldKind) - {FieldKind.NAMES}

_OPS_FOR: Final[Mapping[FieldKind, frozenset[str]]] = {
    kind: frozenset(
        op
        for op in OPERATORS
        if op == "exists"
        or (op in ("equals", "not_equals", "in", "not_in") and kind in _SCALAR)
        or (op in ("lt", "le", "gt", "ge", "between") and kind in _ORDERED)
        or (op in ("contains",) and kind in _TEXTUAL)
        or (op == "matches" and kind in (FieldKind.TEXT, FieldKind.ANY))
        or (op == "within" and kind is FieldKind.TIME)
    )
    for kind in FieldKind
}


# -- the tree --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Leaf:
    at: str
    field: FieldSpec
    op: str
    written: Any  # the literal as written, for display
    value: Any  # the literal as compared
    since: FieldSpec | None = None
    compiled: Any = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        if self.op == "exists":
            return f"{self.field.path} {'exists' if self.value else 'is missing'}"
        if self.op == "within":
            tail = f" since {self.since.path}" if self.since else " before now"
            return f"{self.field.path} within {self.written!r}{tail}"
        return f"{self.field.path} {self.op} {_written(self.written)}"


def _written(value: object) -> str:
    """A literal as the policy file wrote it (lists as lists, times in ISO form)."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_written(v) for v in value) + "]"
    if isinstance(value, datetime):
        return repr(value.isoformat())
    return repr(value)


@attrs.frozen(kw_only=True)
class _Group:
    at: str
    kind: str  # "all", "any" or "not"
    children: tuple[_Node, ...]

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(str(c) for c in self.children)})"


_Node = _Leaf | _Group


# -- parsing ---------------------------------------------------------------------


MAX_CONDITION_DEPTH: Final = 16
"""Deepest nesting of ``all`` / ``any`` / ``not`` in one condition."""
MAX_CONDITION_LEAVES: Final = 500
"""Most leaves (``{ field = ..., op = ... }``) in one condition."""


class _Parser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.leaves = 0

    def node(self, data: object, path: str, at: str, depth: int = 0) -> _Node | None:
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
        combiners = [k for k in data if k in _COMBINERS]
        others = [k for k in data if k not in _COMBINERS]
        for key in others:
            name = key if isinstance(key, str) else repr(key)
            near = suggest(name, (*_COMBINERS, "field"))
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
            return None if child is None else _Group(at=at, kind="not", children=(child,))
        if not isinstance(value, list | tuple) or not value:
            self.problems.append(Problem(sub, "a non-empty list of conditions", describe(value)))
            return None
        children = [
            self.node(v, f"{sub}[{i}]", f"{sub_at}[{i}]", depth + 1) for i, v in enumerate(value)
        ]
        if any(c is None for c in children):
            return None
        return _Group(at=at, kind=kind, children=tuple(c for c in children if c is not None))

    def leaf(self, data: Mapping[str, Any], path: str, at: str) -> _Leaf | None:
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
        if op not in _OPS_FOR[spec.kind]:
            allowed = [o for o in OPERATORS if o in _OPS_FOR[spec.kind]]
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
        return _Leaf(at=at, field=spec, op=op, written=written, value=value, since=since)

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


# -- compiling -------------------------------------------------------------------


def _tag(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _any_eq(value: object, literal: object) -> bool:
    return _tag(value) == _tag(literal) and value == literal


def _any_in(value: object, literals: tuple[object, ...]) -> bool:
    return any(_any_eq(value, x) for x in literals)


def _any_num(value: object) -> int | float | Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return value


def _any_contains(value: object, needle: str) -> bool:
    if isinstance(value, str):
        return needle in value.casefold()
    if isinstance(value, tuple):
        return any(isinstance(v, str) and v.casefold() == needle for v in value)
    return False


def _any_matches(value: object, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.search(value, 0, MATCH_WINDOW) is not None


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, tuple):
        return bool(value)
    return True


_HELPERS: Final[Mapping[str, object]] = {
    "_any_eq": _any_eq,
    "_any_in": _any_in,
    "_any_num": _any_num,
    "_any_contains": _any_contains,
    "_any_matches": _any_matches,
    "_present": _present,
}


class _Compiler:
    """Writes one function's source; literals go to ``namespace`` as ``_kN``.

    With ``optional_response`` the function also takes ``r = None`` (a
    touchpoint signal, with no survey answer): every leaf that reads a response
    field is then guarded by ``r is not None``, exactly as a touchpoint leaf is
    by ``t is not None``. The normal matcher is compiled without the guard (a
    response is always there), so the response hot path pays nothing for it.
    """

    def __init__(self, *, optional_response: bool = False) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS}
        self._names = itertools.count()
        self._optional_response = optional_response

    def const(self, value: object) -> str:
        name = f"_k{next(self._names)}"
        self.namespace[name] = value
        return name

    def var(self) -> str:
        return f"_v{next(self._names)}"

    def read(self, spec: FieldSpec) -> str:
        if spec.key is not None:
            return spec.expr.format(key=self.const(spec.key))
        return spec.expr

    def node(self, node: _Node) -> str:
        if isinstance(node, _Leaf):
            return self.leaf(node)
        if node.kind == "not":
            return f"(not {self.node(node.children[0])})"
        joiner = " and " if node.kind == "all" else " or "
        return "(" + joiner.join(self.node(c) for c in node.children) + ")"

    def leaf(self, leaf: _Leaf) -> str:
        op = leaf.op
        if op in _NEGATED:
            positive = attrs.evolve(leaf, op=_NEGATED[op])
            return f"(not {self.leaf(positive)})"
        if op == "exists" and not leaf.value:
            return f"(not {self.leaf(attrs.evolve(leaf, value=True))})"
        test = self.test(leaf)
        roots = {leaf.field.root} | ({leaf.since.root} if leaf.since else set())
        if "touchpoint" in roots:
            test = f"(t is not None and {test})"
        if "response" in roots and self._optional_response:
            test = f"(r is not None and {test})"
        return test

    def test(self, leaf: _Leaf) -> str:
        spec, op, value = leaf.field, leaf.op, leaf.value
        read = self.read(spec)
        kind = spec.kind
        v = self.var()
        if kind is FieldKind.ANY:
            return self._test_any(op, read, value, v)
        if op == "exists":
            if kind in (FieldKind.TEXT, FieldKind.NAMES):
                return f"_present({read})"
            return f"({read} is not None)"
        if kind is FieldKind.TIME:
            return self._test_time(leaf, read, v)
        if op == "equals":
            if kind in (FieldKind.CHOICE, FieldKind.BOOLEAN):
                return f"({read} is {self.const(value)})"
            return f"({read} == {self.const(value)})"
        if op == "in":
            return f"({read} in {self.const(frozenset(value))})"
        if op == "contains":
            if kind is FieldKind.NAMES:
                return f"({self.const(value)} in {read})"
            return f"(({v} := {read}) is not None and {self.const(value)} in {v}.casefold())"
        if op == "matches":
            search = self.const(value.search)
            window = self.const(MATCH_WINDOW)
            return f"(({v} := {read}) is not None and {search}({v}, 0, {window}) is not None)"
        guard = "" if spec.path == "response.score" else f"({v} := {read}) is not None and "
        subject = v if guard else read
        if op == "between":
            low, high = value
            return f"({guard}{self.const(low)} <= {subject} <= {self.const(high)})"
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"({guard}{subject} {symbol} {self.const(value)})"

    def _test_time(self, leaf: _Leaf, read: str, v: str) -> str:
        op, value = leaf.op, leaf.value
        if op == "within":
            limit = self.const(value.total_seconds())
            if leaf.since is None:
                start = "now.timestamp()"
                return (
                    f"(({v} := {read}) is not None and 0.0 <= {start} - {v}.timestamp() <= {limit})"
                )
            s = self.var()
            since = self.read(leaf.since)
            return (
                f"(({v} := {read}) is not None and ({s} := {since}) is not None and "
                f"0.0 <= {v}.timestamp() - {s}.timestamp() <= {limit})"
            )
        stamp = f"{v}.timestamp()"
        guard = f"({v} := {read}) is not None and "
        if op == "equals":
            return f"({guard}{stamp} == {self.const(value.timestamp())})"
        if op == "in":
            return f"({guard}{stamp} in {self.const(frozenset(x.timestamp() for x in value))})"
        if op == "between":
            low, high = (self.const(x.timestamp()) for x in value)
            return f"({guard}{low} <= {stamp} <= {high})"
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"({guard}{stamp} {symbol} {self.const(value.timestamp())})"

    def _test_any(self, op: str, read: str, value: Any, v: str) -> str:
        if op == "exists":
            return f"_present({read})"
        if op == "equals":
            return f"_any_eq({read}, {self.const(value)})"
        if op == "in":
            return f"_any_in({read}, {self.const(tuple(value))})"
        if op == "contains":
            return f"_any_contains({read}, {self.const(value)})"
        if op == "matches":
            return f"_any_matches({read}, {self.const(value)})"
        if op == "between":
            low, high = (self.const(x) for x in value)
            return f"(({v} := _any_num({read})) is not None and {low} <= {v} <= {high})"
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"(({v} := _any_num({read})) is not None and {v} {symbol} {self.const(value)})"


_Match = Callable[[Response | None, Touchpoint | None, Customer | None, datetime | None], bool]


def _build(source: str, namespace: dict[str, Any], name: str) -> Any:
    code = compile(source, f"<loopkit condition {name}>", "exec")
    exec(code, namespace)
    return namespace[name]


def compile_first_match(
    conditions: Sequence[Condition], *, optional_response: bool = False
) -> Callable[..., int]:
    """One function ``(r, t, c, now) -> index`` of the first condition that
    matches, or -1: the hot path of :meth:`PolicySet.decide`. With
    ``optional_response`` it also takes ``r = None`` (a touchpoint signal):
    response fields then read as missing."""
    compiler = _Compiler(optional_response=optional_response)
    lines = ["def _first(r, t, c, now):"]
    for i, cond in enumerate(conditions):
        lines.append(f"    if {compiler.node(cond.tree)}:")
        lines.append(f"        return {i}")
    lines.append("    return -1")
    return _build("\n".join(lines), compiler.namespace, "_first")  # type: ignore[no-any-return]


# -- the public value ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConditionTrace:
    """Whether a condition matched and, if not, the first part that failed.

    ``failed`` is that part as text (``response.score le 6``), ``at`` where it
    sits (``when.all[1]``) and ``saw`` the value(s) it was tested on, with
    personal data redacted.
    """

    matched: bool
    failed: str | None = None
    at: str | None = None
    saw: str | None = None


@attrs.frozen(eq=False)
class Condition:
    """A checked, compiled condition. Build it with :meth:`parse`.

    Call :meth:`matches` on a response (its touchpoint is the response's
    unless given) and a customer; :meth:`explain` says why it did or did not
    match. Two conditions are equal when they were written the same.

    >>> from loopkit.testing import make_customer, make_response
    >>> cond = Condition.parse({"field": "response.score", "le": 6})
    >>> cond.matches(make_response(score=3), make_customer())
    True
    >>> cond.explain(make_response(score=9), make_customer()).saw
    'response.score = 9'
    """

    tree: _Node
    spec: Any = attrs.field(repr=False)
    _fn: _Match = attrs.field(repr=False, alias="fn")
    _signal_fn: _Match | None = attrs.field(default=None, init=False, repr=False)

    @classmethod
    def parse(cls, data: object, path: str = "when") -> Condition:
        """Check and compile a condition table; every problem is reported at once,
        each with its path (``when.all[1].le``)."""
        parser = _Parser()
        tree = parser.node(data, path, _relative(path))
        if parser.problems or tree is None:
            raise ValidationError.of(parser.problems or [Problem(path, "a condition")])
        compiler = _Compiler()
        source = f"def _match(r, t, c, now):\n    return {compiler.node(tree)}"
        fn = _build(source, compiler.namespace, "_match")
        return cls(tree=tree, spec=_freeze(data), fn=fn)

    @property
    def fields(self) -> frozenset[str]:
        """Every field path the condition reads."""
        out: set[str] = set()

        def walk(node: _Node) -> None:
            if isinstance(node, _Leaf):
                out.add(node.field.path)
                if node.since is not None:
                    out.add(node.since.path)
            else:
                for child in node.children:
                    walk(child)

        walk(self.tree)
        return frozenset(out)

    def matches(
        self,
        response: Response | None,
        customer: Customer | None,
        *,
        touchpoint: Touchpoint | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Whether the condition holds. ``touchpoint`` defaults to the
        response's; ``now`` (for ``within`` without ``since``) to the
        response's answer time.

        With no response (a touchpoint signal), response fields are missing:
        a positive test on one is false, a negated one (``not_equals``,
        ``not_in``, ``exists = false``, ``not``) true, as for a missing
        touchpoint; ``now`` then defaults to the touchpoint's time.
        """
        if response is None:
            if now is None and touchpoint is not None:
                now = touchpoint.occurred_at
            return bool(self._without_response()(None, touchpoint, customer, now))
        t = touchpoint if touchpoint is not None else response.touchpoint
        if now is None:
            now = response.answered_at
        return bool(self._fn(response, t, customer, now))

    def _without_response(self) -> _Match:
        """The condition compiled to also take no response, on first use."""
        fn = self._signal_fn
        if fn is None:
            compiler = _Compiler(optional_response=True)
            source = f"def _signal(r, t, c, now):\n    return {compiler.node(self.tree)}"
            fn = _build(source, compiler.namespace, "_signal")
            object.__setattr__(self, "_signal_fn", fn)
        return fn

    def explain(
        self,
        response: Response | None,
        customer: Customer | None,
        *,
        touchpoint: Touchpoint | None = None,
        now: datetime | None = None,
        shown: frozenset[str] = frozenset(),
    ) -> ConditionTrace:
        """Evaluate the tree part by part, and say which part failed first.
        With no response, response fields are missing (see :meth:`matches`).

        Values of personal fields and free attributes are described, never
        shown, except the attribute fields named in ``shown`` (the playbook's
        ``privacy.shown_attributes``)."""
        t = touchpoint if touchpoint is not None or response is None else response.touchpoint
        if now is None and response is not None:
            now = response.answered_at
        elif now is None and t is not None:
            now = t.occurred_at
        return _trace(self.tree, response, t, customer, now, shown)

    def __str__(self) -> str:
        return str(self.tree)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"Condition({str(self)!r})"


def _relative(path: str) -> str:
    """``policies[0].when`` -> ``when``: traces name the place inside the rule."""
    return path.rsplit("].", 1)[-1].rsplit(".", 1)[-1]


def _freeze(data: object) -> Any:
    if isinstance(data, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in data.items()))
    if isinstance(data, list | tuple):
        return tuple(_freeze(v) for v in data)
    return data


def _leaf_fn(leaf: _Leaf) -> _Match:
    """The leaf alone, compiled once on first use (explanations only; it also
    takes no response, for touchpoint signals)."""
    if leaf.compiled is None:
        compiler = _Compiler(optional_response=True)
        source = f"def _leaf(r, t, c, now):\n    return {compiler.leaf(leaf)}"
        object.__setattr__(leaf, "compiled", _build(source, compiler.namespace, "_leaf"))
    fn: _Match = leaf.compiled
    return fn


def _hidden(field: FieldSpec, shown: frozenset[str]) -> bool:
    """Whether an explanation describes the field's value instead of showing
    it: personal fields, and free attributes (they may hold anything) unless
    the playbook names them as shown."""
    return field.personal or (field.key is not None and field.path not in shown)


def _saw(
    leaf: _Leaf,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    shown: frozenset[str],
) -> str:
    value = show(leaf.field.get(r, t, c), personal=_hidden(leaf.field, shown))
    parts = [f"{leaf.field.path} = {value}"]
    if leaf.since is not None:
        value = show(leaf.since.get(r, t, c), personal=_hidden(leaf.since, shown))
        parts.append(f"{leaf.since.path} = {value}")
    if leaf.field.root == "touchpoint" and t is None:
        parts = ["no touchpoint"]
    if leaf.field.root == "response" and r is None:
        parts = ["no response"]
    return ", ".join(parts)


def _trace(
    node: _Node,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    now: datetime | None,
    shown: frozenset[str],
) -> ConditionTrace:
    if isinstance(node, _Leaf):
        if _leaf_fn(node)(r, t, c, now):
            return ConditionTrace(matched=True)
        saw = _saw(node, r, t, c, shown)
        return ConditionTrace(matched=False, failed=str(node), at=node.at, saw=saw)
    if node.kind == "all":
        for child in node.children:
            trace = _trace(child, r, t, c, now, shown)
            if not trace.matched:
                return trace
        return ConditionTrace(matched=True)
    if node.kind == "any":
        traces = [_trace(child, r, t, c, now, shown) for child in node.children]
        if any(tr.matched for tr in traces):
            return ConditionTrace(matched=True)
        saw = "; ".join(dict.fromkeys(tr.saw for tr in traces if tr.saw))
        return ConditionTrace(matched=False, failed=str(node), at=node.at, saw=saw)
    inner = _trace(node.children[0], r, t, c, now, shown)
    if not inner.matched:
        return ConditionTrace(matched=True)
    saw = _values(node.children[0], r, t, c, shown)
    return ConditionTrace(matched=False, failed=str(node), at=node.at, saw=saw)


def _values(
    node: _Node,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    shown: frozenset[str],
) -> str:
    if isinstance(node, _Leaf):
        return _saw(node, r, t, c, shown)
    return "; ".join(dict.fromkeys(_values(child, r, t, c, shown) for child in node.children))


def format_within(value: timedelta) -> str:
    """A ``within`` duration as written in a policy file."""
    return format_duration(value)
