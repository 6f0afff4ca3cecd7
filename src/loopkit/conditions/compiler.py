"""Compiling: a condition tree turned into Python source and ``exec``'d once,
into a plain function ``(r, t, c, now) -> bool`` over a response, its
touchpoint, a customer and the time.

Nothing a policy file contains is ever written into that source: field paths
are only looked up in the fixed schema (:mod:`~loopkit.conditions.fields`),
operators in a fixed table, and every literal, attribute key and regular
expression is bound as a constant in the function's namespace (which has no
builtins).

>>> from loopkit.conditions.parser import parse
>>> from loopkit.testing import make_customer, make_response
>>> match = compile_match(parse({"field": "response.score", "le": 6}))
>>> match(make_response(score=3), None, make_customer(), None)
True
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from loopkit.model import Customer, Response, Touchpoint

from .fields import FieldKind, FieldSpec
from .patterns import MATCH_WINDOW
from .tree import Leaf, Node

if TYPE_CHECKING:
    from .condition import Condition

__all__ = ["Match", "compile_first_match", "compile_leaf", "compile_match"]

Match = Callable[[Response | None, Touchpoint | None, Customer | None, datetime | None], bool]
"""A compiled condition: ``(response, touchpoint, customer, now) -> bool``."""

_NEGATED: Final = {"not_equals": "equals", "not_in": "in"}


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

    def node(self, node: Node) -> str:
        if isinstance(node, Leaf):
            return self.leaf(node)
        if node.kind == "not":
            return f"(not {self.node(node.children[0])})"
        joiner = " and " if node.kind == "all" else " or "
        return "(" + joiner.join(self.node(c) for c in node.children) + ")"

    def leaf(self, leaf: Leaf) -> str:
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

    def test(self, leaf: Leaf) -> str:
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

    def _test_time(self, leaf: Leaf, read: str, v: str) -> str:
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


def _build(source: str, namespace: dict[str, Any], name: str) -> Any:
    code = compile(source, f"<loopkit condition {name}>", "exec")
    exec(code, namespace)
    return namespace[name]


def compile_first_match(
    conditions: Sequence[Condition],
    *,
    optional_response: bool = False,
    results: Sequence[Any] | None = None,
) -> Callable[..., Any]:
    """One function ``(r, t, c, now) -> index`` of the first condition that
    matches, or -1: the hot path of :meth:`PolicySet.decide`. With
    ``optional_response`` it also takes ``r = None`` (a touchpoint signal):
    response fields then read as missing. With ``results`` (one per condition)
    it returns the first match's result, or ``None``: one lookup and test
    fewer for the caller (:meth:`PolicySet.match`, 0.1 µs a call)."""
    compiler = _Compiler(optional_response=optional_response)
    lines = ["def _first(r, t, c, now):"]
    for i, cond in enumerate(conditions):
        lines.append(f"    if {compiler.node(cond.tree)}:")
        if results is None:
            lines.append(f"        return {i}")
        else:
            compiler.namespace[f"_result{i}"] = results[i]
            lines.append(f"        return _result{i}")
    lines.append("    return -1" if results is None else "    return None")
    return _build("\n".join(lines), compiler.namespace, "_first")  # type: ignore[no-any-return]


def compile_match(tree: Node, *, optional_response: bool = False) -> Match:
    """One function ``(r, t, c, now) -> bool`` for the whole tree. With
    ``optional_response`` it also takes ``r = None`` (a touchpoint signal):
    response fields then read as missing."""
    name = "_signal" if optional_response else "_match"
    compiler = _Compiler(optional_response=optional_response)
    source = f"def {name}(r, t, c, now):\n    return {compiler.node(tree)}"
    fn: Match = _build(source, compiler.namespace, name)
    return fn


def compile_leaf(leaf: Leaf) -> Match:
    """The leaf alone (explanations only; it also takes no response, for
    touchpoint signals)."""
    compiler = _Compiler(optional_response=True)
    source = f"def _leaf(r, t, c, now):\n    return {compiler.leaf(leaf)}"
    fn: Match = _build(source, compiler.namespace, "_leaf")
    return fn
