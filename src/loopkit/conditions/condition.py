"""The :class:`Condition` value: a condition table parsed, checked and
compiled once, that matches and explains itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from loopkit.model import Customer, Response, Touchpoint

from .compiler import Match, compile_match
from .parser import parse as parse_tree
from .trace import ConditionTrace, trace
from .tree import Leaf, Node

__all__ = ["Condition"]


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

    tree: Node
    spec: Any = attrs.field(repr=False)
    _fn: Match = attrs.field(repr=False, alias="fn")
    _signal_fn: Match | None = attrs.field(default=None, init=False, repr=False)

    @classmethod
    def parse(cls, data: object, path: str = "when") -> Condition:
        """Check and compile a condition table; every problem is reported at once,
        each with its path (``when.all[1].le``)."""
        tree = parse_tree(data, path)
        return cls(tree=tree, spec=_freeze(data), fn=compile_match(tree))

    @property
    def fields(self) -> frozenset[str]:
        """Every field path the condition reads."""
        out: set[str] = set()

        def walk(node: Node) -> None:
            if isinstance(node, Leaf):
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

    def _without_response(self) -> Match:
        """The condition compiled to also take no response, on first use."""
        fn = self._signal_fn
        if fn is None:
            fn = compile_match(self.tree, optional_response=True)
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
        return trace(self.tree, response, t, customer, now, shown)

    def __str__(self) -> str:
        return str(self.tree)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"Condition({str(self)!r})"


def _freeze(data: object) -> Any:
    if isinstance(data, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in data.items()))
    if isinstance(data, list | tuple):
        return tuple(_freeze(v) for v in data)
    return data
