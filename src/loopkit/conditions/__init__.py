"""The condition language: ``all`` / ``any`` / ``not`` over typed fields, parsed
and checked when a policy file is loaded, compiled once into a plain Python
function, and able to explain themselves. Follow-up policies
(:mod:`loopkit.policies`) and compensation rules (:mod:`loopkit.compensation`)
both use it.

A condition is a table. A *leaf* names a field and one operator::

    { field = "response.score", le = 6 }

and ``all``, ``any`` and ``not`` combine conditions::

    { all = [ {...}, { any = [ {...}, {...} ] }, { not = {...} } ] }

The parts, one job each: :mod:`~loopkit.conditions.fields` (the fields a
condition may name), :mod:`~loopkit.conditions.tree` (the parsed nodes and the
operators), :mod:`~loopkit.conditions.parser` (tables to trees, every problem
with its path), :mod:`~loopkit.conditions.patterns` (the bounds on ``matches``
patterns), :mod:`~loopkit.conditions.compiler` (trees to Python functions),
:mod:`~loopkit.conditions.trace` (explanations) and
:mod:`~loopkit.conditions.condition` (the :class:`Condition` value).

Compiling turns the tree into Python source and ``exec``s it once. Nothing a
policy file contains is ever written into that source: field paths are only
looked up in the fixed schema (:mod:`loopkit.conditions.fields`), operators in
a fixed table, and every literal, attribute key and regular expression is
bound as a constant in the function's namespace (which has no builtins).

>>> cond = Condition.parse({"all": [
...     {"field": "response.category", "equals": "detractor"},
...     {"field": "touchpoint.kind", "in": ["purchase", "delivery"]},
... ]})
>>> str(cond)
"all(response.category equals 'detractor', touchpoint.kind in ['purchase', 'delivery'])"
"""

from .compiler import compile_first_match
from .condition import Condition
from .fields import FIELDS, FieldKind, FieldSpec, field_names, resolve_field, suggest_field
from .parser import MAX_CONDITION_DEPTH, MAX_CONDITION_LEAVES
from .patterns import MATCH_WINDOW, MAX_FANOUT, MAX_PATTERN_LENGTH, compile_pattern
from .trace import ConditionTrace
from .tree import OPERATORS

__all__ = [
    "FIELDS",
    "MATCH_WINDOW",
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_LEAVES",
    "MAX_FANOUT",
    "MAX_PATTERN_LENGTH",
    "OPERATORS",
    "Condition",
    "ConditionTrace",
    "FieldKind",
    "FieldSpec",
    "compile_first_match",
    "compile_pattern",
    "field_names",
    "resolve_field",
    "suggest_field",
]
