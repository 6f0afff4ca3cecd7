"""Regular expressions a policy file may use with ``matches``: bounded, checked at load.

Python's ``re`` backtracks: ``^(a+)+$`` on 41 characters runs for hours, and
``a.*b.*c`` is cubic in the length of the text. A policy file is written by
people, not attackers, but one careless pattern must not stall every ingest.
So a pattern is refused when the file loads if it

* is longer than :data:`MAX_PATTERN_LENGTH` characters;
* uses a backreference (``\\1``, ``(?P=name)``) or a conditional group;
* repeats something that itself contains a variable quantifier
  (``(a+)+``, ``(a?){20}``, ``(\\d{1,3}\\.){3}``; a fixed count such as
  ``(\\d{3}-){2}`` is fine);
* repeats alternatives that can start with the same character (``(a|ab)+``;
  ``(foo|bar)+`` is fine);
* has two variable quantifiers that can eat the same characters with nothing
  between them that the first cannot eat, followed by something that can fail
  (``\\d+\\d+x``, ``a.*b.*c``): the text could be split between them in
  quadratically many ways;
* has more than :data:`MAX_FANOUT` combinations of alternatives that start
  alike (``(a|a)(a|a)...``).

And matching looks at the first :data:`MATCH_WINDOW` characters of the value
only (``$`` matches at that point when the value is longer), which bounds
what any allowed pattern can cost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _parser as sre  # type: ignore[attr-defined]
from typing import Any, Final

from loopkit.errors import ValidationError, describe

__all__ = ["MATCH_WINDOW", "MAX_FANOUT", "MAX_PATTERN_LENGTH", "compile_pattern"]

MAX_PATTERN_LENGTH: Final = 200
"""Longest ``matches`` pattern accepted, in characters."""
MATCH_WINDOW: Final = 1000
"""``matches`` tests the first this many characters of a value."""
MAX_FANOUT: Final = 64
"""Most combinations of alike-starting alternatives in one pattern."""

_REPEATS: Final = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_BACKREFS: Final = (sre.GROUPREF, sre.GROUPREF_EXISTS)
_ZERO_WIDTH: Final = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_ALL_ASCII: Final = (1 << 128) - 1


class _Chars:
    """A conservative set of characters: ASCII as a bit mask, the rest as
    labels ("word", "digit", "space" or "any") of what it may include."""

    __slots__ = ("ascii", "other")

    def __init__(self, ascii: int = 0, other: frozenset[str] = frozenset()) -> None:
        self.ascii = ascii
        self.other = other

    def __or__(self, more: _Chars) -> _Chars:
        return _Chars(self.ascii | more.ascii, self.other | more.other)

    def overlaps(self, more: _Chars) -> bool:
        if self.ascii & more.ascii:
            return True
        a, b = self.other, more.other
        if not a or not b:
            return False
        if "any" in a or "any" in b or a & b:
            return True
        return bool({"word", "digit"} <= (a | b))

    def empty(self) -> bool:
        return not self.ascii and not self.other


_ANY: Final = _Chars(_ALL_ASCII, frozenset({"any"}))
_NOTHING: Final = _Chars()


def _ascii_where(test: Any) -> int:
    return sum(1 << c for c in range(128) if test(chr(c)))


_CATEGORIES: Final = {
    sre.CATEGORY_DIGIT: _Chars(_ascii_where(str.isdigit), frozenset({"digit"})),
    sre.CATEGORY_WORD: _Chars(_ascii_where(lambda c: c.isalnum() or c == "_"), frozenset({"word"})),
    sre.CATEGORY_SPACE: _Chars(_ascii_where(str.isspace), frozenset({"space"})),
}


def _literal(code: int) -> _Chars:
    if code < 128:
        char = chr(code)
        return _Chars(sum(1 << ord(c) for c in {char, char.lower(), char.upper()} if ord(c) < 128))
    return _Chars(0, frozenset({"word" if chr(code).isalnum() else "any"}))


def _in(items: list[tuple[Any, Any]]) -> _Chars:
    out = _Chars()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            out = out | _literal(av)
        elif op is sre.RANGE:
            low, high = av
            bits = sum(1 << c for c in range(low, min(high, 127) + 1))
            for c in range(low, min(high, 127) + 1):
                bits |= _literal(c).ascii
            out = out | _Chars(bits, frozenset({"any"}) if high >= 128 else frozenset())
        elif op is sre.CATEGORY and av in _CATEGORIES:
            out = out | _CATEGORIES[av]
        else:  # negated categories, anything unusual
            out = out | _ANY
    return _Chars(_ALL_ASCII & ~out.ascii, frozenset({"any"})) if negate else out


class _Refused(Exception):
    def __init__(self, expected: str) -> None:
        self.expected = expected


def _chars(seq: Iterable[tuple[Any, Any]]) -> _Chars:
    """Every character ``seq`` can consume."""
    out = _Chars()
    for op, av in seq:
        if op is sre.LITERAL:
            out = out | _literal(av)
        elif op is sre.NOT_LITERAL or op is sre.ANY:
            out = out | _ANY
        elif op is sre.IN:
            out = out | _in(av)
        elif op in _REPEATS:
            out = out | _chars(av[2])
        elif op is sre.SUBPATTERN:
            out = out | _chars(av[3])
        elif op is sre.ATOMIC_GROUP:
            out = out | _chars(av)
        elif op is sre.BRANCH:
            for alt in av[1]:
                out = out | _chars(alt)
    return out


def _min_width(seq: Iterable[tuple[Any, Any]]) -> int:
    width = 0
    for op, av in seq:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            width += 1
        elif op in _REPEATS:
            width += av[0] * _min_width(av[2])
        elif op is sre.SUBPATTERN:
            width += _min_width(av[3])
        elif op is sre.ATOMIC_GROUP:
            width += _min_width(av)
        elif op is sre.BRANCH:
            width += min(_min_width(alt) for alt in av[1])
    return width


def _first(seq: list[tuple[Any, Any]]) -> _Chars | None:
    """The characters ``seq`` can start with; ``None`` when it can match empty."""
    out = _Chars()
    for op, av in seq:
        if op in _ZERO_WIDTH:
            continue
        if op in _REPEATS:
            out = out | (_first(av[2]) or _ANY)
            if av[0] >= 1 and _min_width(av[2]) > 0:
                return out
            continue
        if op is sre.SUBPATTERN:
            inner = _first(av[3])
            if inner is not None:
                return out | inner
            out = out | _chars(av[3])
            continue
        if op is sre.BRANCH:
            alts = [_first(alt) for alt in av[1]]
            if any(a is None for a in alts):
                out = out | _ANY
                continue
            for a in alts:
                assert a is not None
                out = out | a
            return out
        return out | _chars([(op, av)])
    return None


def _variable(op: Any, av: Any) -> bool:
    return op in _REPEATS and av[0] != av[1]


def _contains_variable(seq: Iterable[tuple[Any, Any]]) -> bool:
    for op, av in seq:
        if _variable(op, av):
            return True
        if op in _REPEATS and _contains_variable(av[2]):
            return True
        if op is sre.SUBPATTERN and _contains_variable(av[3]):
            return True
        if op is sre.ATOMIC_GROUP and _contains_variable(av):
            return True
        if op is sre.BRANCH and any(_contains_variable(alt) for alt in av[1]):
            return True
        if op in (sre.ASSERT, sre.ASSERT_NOT) and _contains_variable(av[1]):
            return True
    return False


def _alike(alternatives: list[list[tuple[Any, Any]]]) -> bool:
    """Whether two alternatives can start with the same character (or one is empty)."""
    firsts = [_first(alt) for alt in alternatives]
    if any(f is None for f in firsts):
        return True
    for i, a in enumerate(firsts):
        for b in firsts[i + 1 :]:
            assert a is not None and b is not None
            if a.overlaps(b):
                return True
    return False


class _Checker:
    def __init__(self) -> None:
        self.fanout = 1

    def structure(self, seq: Iterable[tuple[Any, Any]], repeated: bool) -> None:
        """Backreferences, nested quantifiers, repeated alike alternatives, fan-out."""
        for op, av in seq:
            if op in _BACKREFS:
                raise _Refused("a pattern without backreferences or conditional groups")
            if op in _REPEATS:
                many = av[1] > 1
                if many and _contains_variable(av[2]):
                    raise _Refused(
                        "a pattern without nested quantifiers such as (a+)+ "
                        "(only a fixed count like {3} may sit inside a repeated group)"
                    )
                self.structure(av[2], repeated or many)
            elif op is sre.SUBPATTERN:
                self.structure(av[3], repeated)
            elif op is sre.ATOMIC_GROUP:
                self.structure(av, repeated)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                self.structure(av[1], repeated)
            elif op is sre.BRANCH:
                alts = av[1]
                if _alike(alts):
                    if repeated:
                        raise _Refused(
                            "a pattern without repeated alternatives that start alike, "
                            "such as (a|ab)+ (write a character class such as [ab]+)"
                        )
                    self.fanout *= len(alts)
                    if self.fanout > MAX_FANOUT:
                        raise _Refused(
                            f"a pattern with at most {MAX_FANOUT} combinations of "
                            "alternatives that start alike"
                        )
                for alt in alts:
                    self.structure(alt, repeated)

    def sequence(
        self, seq: list[tuple[Any, Any]], live: list[_Chars], then_can_fail: bool
    ) -> list[_Chars]:
        """Walk ``seq`` keeping the variable quantifiers that may still absorb
        what comes next (``live``); two that overlap, followed by something
        that can fail (in ``seq`` or after it: ``then_can_fail``), are refused."""
        seq = list(seq)
        while not then_can_fail and seq and _variable(*seq[-1]) and seq[-1][1][0] == 0:
            seq.pop()  # a trailing x* always succeeds: nothing backtracks into it
        for index, (op, av) in enumerate(seq):
            rest_can_fail = then_can_fail or _can_fail(seq[index + 1 :])
            if op in _ZERO_WIDTH:
                continue
            if op is sre.SUBPATTERN:
                live = self.sequence(av[3], live, rest_can_fail)
                continue
            if op is sre.ATOMIC_GROUP:
                live = []  # nothing backtracks into an atomic group
                continue
            if op is sre.BRANCH:
                merged: list[_Chars] = []
                for alt in av[1]:
                    merged.extend(self.sequence(alt, list(live), rest_can_fail))
                live = merged
                continue
            if op in _REPEATS:
                body = _chars(av[2])
                if av[0] >= 1:
                    live = [chars for chars in live if chars.overlaps(body)]
                if op is sre.POSSESSIVE_REPEAT:
                    live = []
                elif av[0] != av[1]:
                    if rest_can_fail and any(chars.overlaps(body) for chars in live):
                        raise _Refused(
                            "a pattern without two quantifiers that can take the same "
                            "characters one after the other, such as a.*b.*c or \\d+\\d+ "
                            "(matches searches anywhere: drop a leading or trailing .*)"
                        )
                    live = [*live, body]
                continue
            chars = _chars([(op, av)])
            live = [c for c in live if c.overlaps(chars)]
        return live


def _can_fail(rest: list[tuple[Any, Any]]) -> bool:
    return any(op not in _REPEATS or av[0] > 0 for op, av in rest)


def compile_pattern(value: object, path: str) -> re.Pattern[str]:
    """Check and compile a ``matches`` pattern (see the module's rules).

    >>> compile_pattern(r"(?i)\\brefund\\b", "when.matches").pattern
    '(?i)\\\\brefund\\\\b'
    >>> try:
    ...     compile_pattern("^(a+)+$", "when.matches")
    ... except ValidationError as err:
    ...     print(err.expected.split(" (")[0])
    a pattern without nested quantifiers such as
    """
    if not isinstance(value, str):
        raise ValidationError(path, "a regular expression (a string)", describe(value))
    if len(value) > MAX_PATTERN_LENGTH:
        raise ValidationError(
            path,
            f"a regular expression of at most {MAX_PATTERN_LENGTH} characters",
            f"{len(value)} characters",
        )
    try:
        compiled = re.compile(value)
        parsed = sre.parse(value)
    except (re.error, OverflowError, RecursionError, ValueError) as err:
        raise ValidationError(
            path, "a valid regular expression", describe(value), hint=str(err)[:120]
        ) from None
    checker = _Checker()
    try:
        items = list(parsed)
        checker.structure(items, repeated=False)
        checker.sequence(items, [], then_can_fail=False)
    except _Refused as why:
        raise ValidationError(
            path, why.expected, describe(value), hint="it could take forever on some text"
        ) from None
    return compiled
