"""Explanations: a condition evaluated part by part, saying which part failed
first and on what values, with personal data described, never shown.

>>> from loopkit.conditions.parser import parse
>>> from loopkit.testing import make_customer, make_response
>>> r = make_response(score=9)
>>> trace(parse({"field": "response.score", "le": 6}), r, r.touchpoint, make_customer(), None)
ConditionTrace(matched=False, failed='response.score le 6', at='when', saw='response.score = 9')
"""

from __future__ import annotations

from datetime import datetime

import attrs

from loopkit.model import Customer, Response, Touchpoint

from .compiler import Match, compile_leaf
from .fields import FieldSpec, show
from .tree import Leaf, Node

__all__ = ["ConditionTrace", "trace"]


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


def _leaf_fn(leaf: Leaf) -> Match:
    """The leaf alone, compiled once on first use (explanations only; it also
    takes no response, for touchpoint signals)."""
    if leaf.compiled is None:
        object.__setattr__(leaf, "compiled", compile_leaf(leaf))
    fn: Match = leaf.compiled
    return fn


def _hidden(field: FieldSpec, shown: frozenset[str]) -> bool:
    """Whether an explanation describes the field's value instead of showing
    it: personal fields, and free attributes (they may hold anything) unless
    the playbook names them as shown."""
    return field.personal or (field.key is not None and field.path not in shown)


def _saw(
    leaf: Leaf,
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
    node: Node,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    now: datetime | None,
    shown: frozenset[str],
) -> ConditionTrace:
    if isinstance(node, Leaf):
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
    node: Node,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    shown: frozenset[str],
) -> str:
    if isinstance(node, Leaf):
        return _saw(node, r, t, c, shown)
    return "; ".join(dict.fromkeys(_values(child, r, t, c, shown) for child in node.children))


def trace(
    node: Node,
    r: Response | None,
    t: Touchpoint | None,
    c: Customer | None,
    now: datetime | None,
    shown: frozenset[str] = frozenset(),
) -> ConditionTrace:
    """Whether ``node`` holds on these values and, if not, the first part that
    failed; fields in ``shown`` are free attributes the playbook lets
    explanations show."""
    return _trace(node, r, t, c, now, shown)
