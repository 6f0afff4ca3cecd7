"""loopkit's exceptions: one hierarchy rooted at :class:`LoopkitError`.

Every message says what was wrong, where (a field path such as
``policies[2].when.all[1].le``) and what was expected. Messages never contain
personal data: values of personal fields are described by their type and
length only (see :func:`describe`).
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

__all__ = [
    "BusinessTimeError",
    "ConflictError",
    "IllegalTransition",
    "LoopkitError",
    "MissingStepError",
    "PluginError",
    "Problem",
    "ValidationError",
    "describe",
    "suggest",
]

_MAX_SHOWN: Final = 60


class _ShortRepr(reprlib.Repr):
    """``reprlib`` a few levels deep, with integers too long to print described."""

    def repr_int(self, x: int, level: int) -> str:
        return _big_int(x) if x.bit_length() > 64 else super().repr_int(x, level)


def _big_int(value: int) -> str:
    return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"


_REPR: Final = _ShortRepr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = _MAX_SHOWN


class LoopkitError(Exception):
    """The root of every error loopkit raises on purpose.

    >>> issubclass(ValidationError, LoopkitError)
    True
    """


def describe(value: object, *, personal: bool = False) -> str:
    """Describe ``value`` for an error message without leaking personal data.

    Personal values are shown as their type and length only; others as a
    shortened ``repr``.

    >>> describe("six")
    "'six'"
    >>> describe("anna@example.com", personal=True)
    'a redacted str of 16 characters'
    """
    if personal and value is not None:
        if isinstance(value, str):
            return f"a redacted str of {len(value)} characters"
        return f"a redacted {type(value).__name__}"
    text = _short_repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def _short_repr(value: object) -> str:
    """``repr`` of at most about ``_MAX_SHOWN`` characters, safe for any input:
    a huge string is cut before it is escaped, containers are shown a few
    levels and items deep (never a RecursionError on deeply nested input), and
    an integer too long to print is described by its size."""
    if isinstance(value, str):
        return repr(value[:_MAX_SHOWN])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return _big_int(value)
    try:
        if isinstance(value, list | tuple | dict | set | frozenset):
            return _REPR.repr(value)
        return repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest of ``choices`` to ``word``, if any is close enough.

    >>> suggest("chanels", ["channels", "owner"])
    'channels'
    """
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None


@attrs.frozen
class Problem:
    """One thing wrong with an input: where, what was expected, what was seen.

    ``got`` is already a safe description (see :func:`describe`), or ``None``
    when the value was missing.
    """

    path: str
    expected: str
    got: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = self.path or "<root>"
        text = f"{where}: expected {self.expected}"
        if self.got is not None:
            text += f", got {self.got}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def under(self, prefix: str) -> Problem:
        """The same problem, with its path placed under ``prefix``."""
        return attrs.evolve(self, path=join_path(prefix, self.path))


def join_path(prefix: str, path: str) -> str:
    """Join two field paths: ``join_path("a", "b") == "a.b"``, ``"a" + "[0]"``."""
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


class ValidationError(LoopkitError, ValueError):
    """Input that does not have the expected form.

    Carries every problem found (``problems``), each with its field path; the
    first one is also available as ``path``, ``expected`` and ``got``.
    ``source`` names the file the input came from, when there was one.

    >>> err = ValidationError("response.score", "an integer from 0 to 10", got="11")
    >>> str(err)
    'response.score: expected an integer from 0 to 10, got 11'
    >>> err.path
    'response.score'
    """

    problems: tuple[Problem, ...]
    source: str | None

    def __init__(
        self,
        path: str,
        expected: str,
        got: str | None = None,
        *,
        hint: str | None = None,
        source: str | None = None,
    ) -> None:
        self._set((Problem(path, expected, got, hint),), source)

    def _set(self, problems: Sequence[Problem], source: str | None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self._message())

    @classmethod
    def of(cls, problems: Sequence[Problem], *, source: str | None = None) -> ValidationError:
        """An error carrying several problems at once (at least one)."""
        if not problems:
            raise ValueError("ValidationError.of needs at least one problem")
        err = cls.__new__(cls)
        err._set(problems, source)
        return err

    def _message(self) -> str:
        lines = [str(p) for p in self.problems]
        head = f"{self.source}: " if self.source else ""
        if len(lines) == 1:
            return head + lines[0]
        return f"{head}{len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.problems, self.source))

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def expected(self) -> str:
        return self.problems[0].expected

    @property
    def got(self) -> str | None:
        return self.problems[0].got

    def under(self, prefix: str, *, strip: str | None = None) -> ValidationError:
        """The same error with every path placed under ``prefix``.

        ``strip`` removes a leading ``"ClassName."`` first: validators name the
        class a field belongs to, and a loader replaces that with where the
        value sat in the input.
        """
        moved = []
        for p in self.problems:
            path = p.path
            if strip and (path == strip or path.startswith(strip + ".")):
                path = path[len(strip) + 1 :]
            moved.append(attrs.evolve(p, path=join_path(prefix, path)))
        return type(self).of(moved, source=self.source)

    def in_source(self, source: str) -> ValidationError:
        """The same error, saying which file it came from."""
        return type(self).of(self.problems, source=source)


def _rebuild(
    cls: type[ValidationError], problems: tuple[Problem, ...], source: str | None
) -> ValidationError:
    return cls.of(problems, source=source)


class BusinessTimeError(ValidationError):
    """Business-time input that cannot be used: a naive datetime, a calendar
    with no opening time at all, a duration that cannot be parsed."""


class IllegalTransition(LoopkitError):
    """A case was asked to make a move its lifecycle does not allow.

    >>> err = IllegalTransition("closed", "contact")
    >>> str(err)
    "cannot contact a case that is closed; allowed from closed: ['reopen']"
    """

    def __init__(self, state: str, transition: str, allowed: Sequence[str] = ("reopen",)) -> None:
        self.state = state
        self.transition = transition
        self.allowed = tuple(allowed)
        super().__init__(
            f"cannot {transition} a case that is {state}; "
            f"allowed from {state}: {sorted(self.allowed)}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.state, self.transition, self.allowed))


class MissingStepError(IllegalTransition):
    """A case may not be resolved before the steps its policy requires
    (for example an apology) have been recorded."""

    def __init__(self, state: str, transition: str, missing: Sequence[str]) -> None:
        self.missing = tuple(sorted(missing))
        LoopkitError.__init__(
            self,
            f"cannot {transition} a case before its required steps are done; "
            f"missing: {list(self.missing)}",
        )
        self.state = state
        self.transition = transition
        self.allowed = ()

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.state, self.transition, self.missing))


class ConflictError(LoopkitError):
    """The same key was used again for different content (for example a
    response id ingested twice with different scores)."""


class PluginError(LoopkitError):
    """A plugin broke its hook's contract (wrong return type, unknown name)."""


class LoopkitWarning(UserWarning):
    """The root of the warnings loopkit gives (filter them by this class)."""


class UndeliverableChannelWarning(LoopkitWarning):
    """A :class:`~loopkit.Loop` was built whose playbook names channels no
    plugin registered: their messages would wait in the outbox and be
    dead-lettered by ``tick``. Pass ``check_channels=False`` to a loop that
    only ingests (its tick workers register the channels), or filter this
    warning class."""
