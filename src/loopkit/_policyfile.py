"""Reading a policy file's text safely, and finding the line of a field path.

``tomllib`` and ``json`` give parsed values without positions, and both recurse
(a file nested a few thousand levels deep raises ``RecursionError``) or refuse
huge integers with a bare ``ValueError``. This module stands in front of them:

* :func:`scan` tokenises the text once (strings, comments, brackets, keys),
  refuses nesting deeper than :data:`MAX_NESTING` and numbers longer than
  :data:`MAX_DIGITS` *before* the parser sees them, and records the line of
  every table header, key, inline-table key and array element, by the field
  path loopkit's errors use (``policies[1].when.all[1].le``);
* :func:`check_shape` bounds a parsed document (or a mapping handed to
  ``load_playbook``): nesting, size, integers;
* :class:`Lines` maps a problem's path to its line, falling back to the
  nearest enclosing table (a missing key is reported on its table's header).

The scanner is a locator, not a validator: it runs only on text the real
parser accepts (or to find where it refused), and whatever it cannot follow
just gets the nearest line it knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from loopkit.errors import Problem, ValidationError

__all__ = ["MAX_DIGITS", "MAX_FILE_BYTES", "MAX_NESTING", "MAX_VALUES", "Lines", "check_shape"]

MAX_FILE_BYTES: Final = 1_000_000
"""The largest policy file read (a real one is a few kilobytes)."""
MAX_NESTING: Final = 64
"""Deepest nesting of tables and lists in a policy document."""
MAX_VALUES: Final = 100_000
"""Most values (tables, lists, scalars) in one policy document."""
MAX_DIGITS: Final = 30
"""Longest run of digits in a number literal; integers are also bounded by :data:`MAX_INT`."""
MAX_INT: Final = 2**63
"""Integers in a policy document lie strictly between ``-MAX_INT`` and ``MAX_INT``."""

_TOKEN: Final = re.compile(
    r"""
      (?P<nl>\r?\n)
    | (?P<ws>[ \t\f\v]+)
    | (?P<comment>\#[^\n]*)
    | (?P<mstr>\"\"\"(?:[^\\]|\\.)*?\"\"\"\"{0,2}|'''.*?''''{0,2})
    | (?P<str>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')
    | (?P<punct>[\[\]{},=.:])
    | (?P<word>[^\s\[\]{},=.:"'\#]+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_DIGITS: Final = re.compile(r"\d{" + str(MAX_DIGITS + 1) + ",}")

Segment = str | int


class _Token:
    __slots__ = ("kind", "line", "text")

    def __init__(self, kind: str, text: str, line: int) -> None:
        self.kind = kind
        self.text = text
        self.line = line


def _tokens(text: str) -> tuple[list[_Token], ValidationError | None]:
    """The tokens of ``text``, and the first bound it breaks (nesting deeper than
    :data:`MAX_NESTING`, a number longer than :data:`MAX_DIGITS`), if any, with
    its line but not yet its path (the scanner finds that)."""
    out: list[_Token] = []
    line = 1
    depth = 0
    broken: ValidationError | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group()
        if kind not in ("ws", "comment"):
            out.append(_Token(kind, value, line))
        if kind == "punct" and value in "[{":
            depth += 1
            if depth > MAX_NESTING and broken is None:
                broken = _too_deep("", line)
        elif kind == "punct" and value in "]}":
            depth = max(0, depth - 1)
        elif kind == "word" and broken is None and _DIGITS.search(value):
            broken = _too_long("", value, line)
        line += value.count("\n")
    return out, broken


def _too_deep(path: str, line: int) -> ValidationError:
    return ValidationError(
        path, f"tables and lists nested at most {MAX_NESTING} deep", "deeper nesting", line=line
    )


def _too_long(path: str, word: str, line: int) -> ValidationError:
    return ValidationError(
        path, f"a number of at most {MAX_DIGITS} digits", f"{len(word)} characters", line=line
    )


def _path(segments: tuple[Segment, ...]) -> str:
    text = ""
    for seg in segments:
        if isinstance(seg, int):
            text += f"[{seg}]"
        else:
            text = f"{text}.{seg}" if text else seg
    return text


def _key_text(token: _Token) -> str:
    if token.kind == "str":
        inner = token.text[1:-1]
        if token.text.startswith('"'):
            return re.sub(r"\\(.)", r"\1", inner)
        return inner
    return token.text


class Lines:
    """Line numbers of field paths in one file's text.

    >>> lines = Lines.of_toml('version = 1\\n[[policies]]\\nname = "a"\\nwhen = { field = "x" }\\n')
    >>> lines.line("policies[0].when.field"), lines.line("policies[0].owner"), lines.line("")
    (4, 2, 1)
    """

    def __init__(self, found: Mapping[str, int], duplicates: Iterable[Problem] = ()) -> None:
        self._found = dict(found)
        self.duplicates = tuple(duplicates)
        """Keys a JSON object repeats (``json`` keeps the last one without a word)."""

    @classmethod
    def of_toml(cls, text: str) -> Lines:
        """Scan TOML text. Nesting deeper than :data:`MAX_NESTING` or a number
        longer than :data:`MAX_DIGITS` raises :class:`ValidationError` with its
        path and line, before any parser recurses into it."""
        return cls._scan(text, json=False)

    @classmethod
    def of_json(cls, text: str) -> Lines:
        """Scan JSON text, as :meth:`of_toml`."""
        return cls._scan(text, json=True)

    @classmethod
    def _scan(cls, text: str, *, json: bool) -> Lines:
        tokens, broken = _tokens(text)
        scanner = _TomlScanner(tokens)
        try:
            if json:
                scanner.skip_newlines()
                if scanner.pos < len(tokens):
                    scanner.value(())
            else:
                scanner.document()
        except (IndexError, ValueError, KeyError, AssertionError):
            pass  # not a document we can follow (the parser will say why): keep what we have
        if scanner.broken is not None:
            raise scanner.broken
        if broken is not None:
            raise broken
        return cls(scanner.found, scanner.duplicates)

    def line(self, path: str) -> int:
        """The line of ``path``, else of the nearest enclosing table or key; 1 for the root."""
        while path:
            found = self._found.get(path)
            if found is not None:
                return found
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return 1

    def locate(self, err: ValidationError) -> ValidationError:
        """``err`` with the line of each problem filled in (lines already set are kept)."""
        problems = [
            p if p.line is not None else _with_line(p, self.line(p.path)) for p in err.problems
        ]
        return type(err).of(problems, source=err.source)


def _with_line(problem: Problem, line: int) -> Problem:
    return Problem(problem.path, problem.expected, problem.got, problem.hint, line)


class _TomlScanner:
    """Walks the tokens of a TOML document (or a JSON value) and notes lines."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.found: dict[str, int] = {}
        self.broken: ValidationError | None = None
        self.duplicates: list[Problem] = []
        self.arrays: dict[tuple[str, ...], int] = {}

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def is_punct(self, text: str, offset: int = 0) -> bool:
        at = self.pos + offset
        return (
            at < len(self.tokens)
            and self.tokens[at].kind == "punct"
            and (self.tokens[at].text == text)
        )

    def skip_newlines(self) -> None:
        while self.pos < len(self.tokens) and self.tokens[self.pos].kind == "nl":
            self.pos += 1

    def note(self, segments: tuple[Segment, ...], line: int) -> None:
        self.found.setdefault(_path(segments), line)

    def key(self) -> list[str]:
        parts = [_key_text(self.take())]
        while self.is_punct("."):
            self.pos += 1
            parts.append(_key_text(self.take()))
        return parts

    def resolve(self, keys: list[str]) -> tuple[Segment, ...]:
        """A header's dotted key with the current index of each array of tables in it."""
        out: list[Segment] = []
        for i in range(len(keys)):
            out.append(keys[i])
            index = self.arrays.get(tuple(keys[: i + 1]))
            if index is not None and i < len(keys) - 1:
                out.append(index)
        return tuple(out)

    def document(self) -> None:
        table: tuple[Segment, ...] = ()
        while True:
            self.skip_newlines()
            token = self.peek()
            if token is None:
                return
            if self.is_punct("[") and self.is_punct("[", 1):
                self.pos += 2
                keys = self.key()
                self.pos += 2  # ]]
                name = tuple(keys)
                index = self.arrays.get(name, -1) + 1
                for other in [k for k in self.arrays if k[: len(name)] == name and k != name]:
                    del self.arrays[other]  # nested arrays restart under a new element
                self.arrays[name] = index
                table = (*self.resolve(keys), index)
                self.note(table[:-1], token.line)
                self.note(table, token.line)
            elif self.is_punct("["):
                self.pos += 1
                keys = self.key()
                self.pos += 1  # ]
                table = self.resolve(keys)
                for i in range(1, len(table) + 1):
                    self.note(table[:i], token.line)
            else:
                self.pair(table)

    def pair(self, table: tuple[Segment, ...], depth: int = 1) -> None:
        """``key = value`` (or JSON ``"key": value``) inside ``table``."""
        token = self.peek()
        assert token is not None
        keys = self.key()
        if self.take().text == ":":  # JSON: a key said twice is kept once, silently
            where = _path((*table, *keys))
            if where in self.found:
                self.duplicates.append(
                    Problem(where, "each key once in an object", "a repeated key", line=token.line)
                )
        for i in range(1, len(keys) + 1):
            self.note((*table, *keys[:i]), token.line)
        self.value((*table, *keys), depth)

    def value(self, at: tuple[Segment, ...], depth: int = 1) -> None:
        token = self.take()
        if token.kind == "punct" and token.text in "[{" and depth > MAX_NESTING:
            if self.broken is None:
                self.broken = _too_deep(_path(at), token.line)
            self.skip_group()
            return
        if token.kind == "punct" and token.text == "[":
            index = 0
            while True:
                self.skip_newlines()
                if self.is_punct("]"):
                    self.pos += 1
                    return
                item = self.peek()
                assert item is not None
                self.note((*at, index), item.line)
                self.value((*at, index), depth + 1)
                index += 1
                self.skip_newlines()
                if self.is_punct(","):
                    self.pos += 1
        elif token.kind == "punct" and token.text == "{":
            while True:
                self.skip_newlines()
                if self.is_punct("}"):
                    self.pos += 1
                    return
                self.pair(at, depth + 1)
                self.skip_newlines()
                if self.is_punct(","):
                    self.pos += 1
        else:  # a scalar: a string, or words such as 1.5 or 1979-05-27 07:32:00
            if token.kind == "word" and self.broken is None and _DIGITS.search(token.text):
                self.broken = _too_long(_path(at), token.text, token.line)
            while (nxt := self.peek()) is not None and not (
                nxt.kind == "nl" or (nxt.kind == "punct" and nxt.text in ",]}")
            ):
                if nxt.kind == "word" and self.broken is None and _DIGITS.search(nxt.text):
                    self.broken = _too_long(_path(at), nxt.text, nxt.line)
                self.pos += 1

    def skip_group(self) -> None:
        """Skip to the end of the list or table just opened (without recursing)."""
        depth = 1
        while depth and self.pos < len(self.tokens):
            token = self.take()
            if token.kind == "punct" and token.text in "[{":
                depth += 1
            elif token.kind == "punct" and token.text in "]}":
                depth -= 1


def check_shape(data: object) -> None:
    """Refuse a parsed document (or a mapping) nested deeper than
    :data:`MAX_NESTING`, holding more than :data:`MAX_VALUES` values, or
    integers beyond :data:`MAX_INT`, before anything recursive reads it. A
    mapping that contains itself is refused as too deep."""
    problems: list[Problem] = []
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    count = 0
    while stack:
        value, path, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            problems.append(Problem("", f"a policy document of at most {MAX_VALUES} values"))
            break
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not -MAX_INT < value < MAX_INT:
                problems.append(
                    Problem(
                        path, "an integer below 2**63", f"an integer of {value.bit_length()} bits"
                    )
                )
            continue
        if isinstance(value, Mapping | list | tuple):
            if depth >= MAX_NESTING:
                problems.append(
                    Problem(path, f"tables and lists nested at most {MAX_NESTING} deep", "deeper")
                )
                continue
            stack.extend(reversed(list(_children(value, path, depth + 1))))
    if problems:
        raise ValidationError.of(problems)


def _children(value: object, path: str, depth: int) -> Iterator[tuple[object, str, int]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = key if isinstance(key, str) else f"<{type(key).__name__} key>"
            yield item, (f"{path}.{name}" if path else name), depth
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield item, f"{path}[{i}]", depth
