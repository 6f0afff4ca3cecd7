"""One problem with an input (:class:`Problem`: where, what was expected,
what was seen) and the field paths problems are found at (:func:`join_path`).
Re-exported by :mod:`loopkit.errors`."""

from __future__ import annotations

import attrs

__all__ = ["Problem", "join_path", "printable"]


@attrs.frozen
class Problem:
    """One thing wrong with an input: where, what was expected, what was seen.

    ``got`` is already a safe description (see :func:`describe`), or ``None``
    when the value was missing. ``line`` is the line of the file the value sat
    on (1-based), when it came from a file; ``None`` for a mapping.
    """

    path: str
    expected: str
    got: str | None = None
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = printable(self.path) or "<root>"
        text = f"{where}: expected {self.expected}"
        if self.got is not None:
            text += f", got {self.got}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def under(self, prefix: str) -> Problem:
        """The same problem, with its path placed under ``prefix``."""
        return attrs.evolve(self, path=join_path(prefix, self.path))

    def located(self, source: str | None) -> str:
        """The problem as one line a person (or an editor) can jump to:
        ``policies.toml:37: policies[1].when.all[1].le: expected ...``.

        >>> Problem("a.b", "a number", "'8'", line=37).located("policies.toml")
        "policies.toml:37: a.b: expected a number, got '8'"
        """
        if source is None:
            return str(self) if self.line is None else f"line {self.line}: {self}"
        where = printable(source) + ("" if self.line is None else f":{self.line}")
        return f"{where}: {self}"


def printable(text: str) -> str:
    """``text`` with control and format characters (ANSI escapes, NUL, bidi
    overrides) written as escapes: a key taken from a file cannot drive the
    terminal that shows the error."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def join_path(prefix: str, path: str) -> str:
    """Join two field paths: ``join_path("a", "b") == "a.b"``, ``"a" + "[0]"``."""
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"
