"""loopkit's exceptions: one hierarchy rooted at :class:`LoopkitError`.

Every message says what was wrong, where (a field path such as
``policies[2].when.all[1].le``) and what was expected. Messages never contain
personal data: values of personal fields are described by their type and
length only (see :func:`describe`).
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import attrs

__all__ = [
    "BusinessTimeError",
    "ConflictError",
    "IllegalTransition",
    "LoopkitError",
    "LoopkitWarning",
    "MissingStepError",
    "PluginError",
    "Problem",
    "UndeliverableChannelWarning",
    "UnknownCase",
    "UnknownCustomer",
    "ValidationError",
    "describe",
    "describe_input",
    "describe_key",
    "suggest",
]

_MAX_SHOWN: Final = 60


class LoopkitError(Exception):
    """The root of every error loopkit raises on purpose.

    >>> issubclass(ValidationError, LoopkitError)
    True
    """


def describe(value: object, *, personal: bool = False) -> str:
    """Describe ``value`` for an error message without leaking personal data.

    Personal values are shown as their type and length only; others as a
    shortened ``repr``. Never raises, whatever the value: a huge int, a list
    nested 10,000 deep, a list that contains itself, an object whose
    ``__repr__`` or ``__len__`` raises.

    >>> describe("six")
    "'six'"
    >>> describe("anna@example.com", personal=True)
    'a redacted str of 16 characters'
    >>> describe(10**5000)
    'an int of about 5001 digits'
    """
    try:
        if personal and value is not None:
            return _redacted(value)
        return _shown(value)
    except Exception:  # a hostile value: its type is all that is safe to say
        return f"a {_type_name(value)}"


@attrs.frozen
class Unreadable:
    """Stands in for an input value loopkit could not even read (an integer of
    more than 4,300 digits in a JSON line): no field accepts it, and an error
    about it says ``description`` (which holds no part of the value)."""

    description: str


def describe_input(value: object) -> str:
    """Describe a value from untrusted input (a record, a feed line, a plugin)
    that may hold personal data in the wrong place: ``None``, booleans and
    numbers below a million are shown; everything else (text above all: an
    e-mail address given as a channel, a whole record given as a string) is
    described by its type and length only.

    >>> describe_input(11)
    '11'
    >>> describe_input("anna@example.com")
    'a str of 16 characters'
    >>> describe_input({"email": "anna@example.com"})
    'a dict of 1 item'
    """
    try:
        if value is None or isinstance(value, bool):
            return repr(bool(value)) if value is not None else "None"
        if isinstance(value, Unreadable):
            return value.description
        if type(value) is int and -_SHOWN_NUMBER < value < _SHOWN_NUMBER:
            return int.__repr__(value)
        if type(value) is float and (value != value or -_SHOWN_NUMBER < value < _SHOWN_NUMBER):
            return float.__repr__(value)
        if type(value) is int:  # a long number such as a phone number
            return _int_text(value, shown=False)
        if type(value) is float:  # an infinity, or a long number such as a phone number
            return "an infinite float" if abs(value) == float("inf") else "a large float"
        return _redacted(value).replace("a redacted ", "a ", 1)
    except Exception:
        return f"a {_type_name(value)}"


_SHOWN_NUMBER: Final = 1_000_000
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,39}")


def describe_key(key: object) -> str:
    """A key of an input mapping as a path may show it: a name such as
    ``timezon`` or ``order_total`` as it is, anything else (an e-mail address
    used as a key, text with spaces) described by type and length.

    >>> describe_key("timezon"), describe_key("anna@example.com")
    ('timezon', '<a str key of 16 characters>')
    """
    if type(key) is str and _NAME.fullmatch(key):
        return key
    return f"<{describe_input(key).replace(' of ', ' key of ', 1)}>"


def _type_name(value: object) -> str:
    try:
        name = type(value).__name__
    except Exception:
        return "value"
    return name if isinstance(name, str) and _NAME.fullmatch(name) else "value"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _redacted(value: object) -> str:
    kind = _type_name(value)
    if isinstance(value, str):
        return f"a redacted {kind} of {_count(str.__len__(value), 'character')}"
    for base, length, unit in _SIZED:
        if isinstance(value, base):  # the base's own length: an override may raise
            return f"a redacted {kind} of {_count(length(value), unit)}"
    return f"a redacted {kind}"


_SIZED: Final[tuple[tuple[type, Callable[[Any], int], str], ...]] = (
    (bytes, bytes.__len__, "byte"),
    (bytearray, bytearray.__len__, "byte"),
    (list, list.__len__, "item"),
    (tuple, tuple.__len__, "item"),
    (dict, dict.__len__, "item"),
    (set, set.__len__, "item"),
    (frozenset, frozenset.__len__, "item"),
)


def _int_text(value: int, *, shown: bool = True) -> str:
    if shown and -(10**18) < value < 10**18:
        return int.__repr__(value)
    digits = len(int.__repr__(abs(value))) if value.bit_length() < 10_000 else None
    if digits is None:  # beyond the int-str conversion limit: estimate from the bits
        return f"an int of about {int(value.bit_length() * 0.30103) + 1} digits"
    return f"an int of {digits} digits"


class _SafeRepr(reprlib.Repr):
    """``reprlib`` with small limits, ints that never hit the int-str limit,
    and objects whose ``__repr__`` raises named by their type."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = _MAX_SHOWN
        self.maxother = _MAX_SHOWN
        self.maxlong = _MAX_SHOWN

    def repr_int(self, x: int, level: int) -> str:
        return _int_text(x)

    def repr_instance(self, x: object, level: int) -> str:
        try:
            if type(x).__repr__ is object.__repr__:  # names the type (and so its name)
                return f"<a {_type_name(x)}>"
            text = repr(x)
        except Exception:
            return f"<a {_type_name(x)}>"
        return text if len(text) <= self.maxother else text[: self.maxother - 3] + "..."


_REPR: Final = _SafeRepr()


def _shown(value: object) -> str:
    if type(value) is int:
        return _int_text(value)
    text = repr(value[: _MAX_SHOWN + 1]) if type(value) is str else _REPR.repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


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
    when the value was missing. ``line`` is the line of the file the value sat
    on (1-based), when it came from a file; ``None`` for a mapping.
    """

    path: str
    expected: str
    got: str | None = None
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = _printable(self.path) or "<root>"
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
        where = _printable(source) + ("" if self.line is None else f":{self.line}")
        return f"{where}: {self}"


def _printable(text: str) -> str:
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
        line: int | None = None,
    ) -> None:
        self._set((Problem(path, expected, got, hint, line),), source)

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
        lines = self.messages()
        if len(lines) == 1:
            return lines[0]
        head = f"{_printable(self.source)}: " if self.source else ""
        listed = (p.located(None) for p in self.problems)
        return f"{head}{len(lines)} problems:\n" + "\n".join(f"  {line}" for line in listed)

    def messages(self) -> tuple[str, ...]:
        """Every problem as one line, ``file:line: path: expected ..., got ...``
        (without ``file:line:`` when the input was not a file).

        >>> err = ValidationError.of([Problem("version", "1", "2", line=1)], source="p.toml")
        >>> err.messages()
        ('p.toml:1: version: expected 1, got 2',)
        """
        return tuple(p.located(self.source) for p in self.problems)

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


def _rebuild_with(
    cls: type[BaseException], args: tuple[object, ...], context: dict[str, object]
) -> BaseException:
    """Unpickle an error whose context is keyword arguments."""
    return cls(*args, **context)


class ConflictError(LoopkitError):
    """The same key was used again for different content (for example a
    response id ingested twice with different scores).

    ``key`` is the key or id that collided, ``kind`` what it names
    (``"response"``, ``"signal"``, ``"case"``, ``"promise"``, ``"grant"``,
    ``"reversal"``, ``"ledger entry"``); both are ``None`` when the code that
    raised did not say. Keys are ids loopkit checked (never an e-mail address
    or a phone number).

    >>> err = ConflictError(
    ...     "response 'r-1' was ingested before with other content; expected the same "
    ...     "content for the same response id", key="r-1", kind="response")
    >>> err.key, err.kind, err.response_id
    ('r-1', 'response', 'r-1')
    """

    def __init__(self, message: str, *, key: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.kind = kind

    @property
    def response_id(self) -> str | None:
        """The response id that collided (``None`` when the key was not a response's)."""
        return self.key if self.kind == "response" else None

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_with, (type(self), self.args, {"key": self.key, "kind": self.kind}))


class UnknownCustomer(LoopkitError, LookupError):
    """No customer was given and no ``loopkit_load_customer`` plugin knew the id.

    ``customer_id`` is the id looked for (``None`` when the code that raised
    did not say).

    >>> err = UnknownCustomer("customer 'c-9': expected a customer passed to the call or "
    ...     "found by a loopkit_load_customer plugin, found none", customer_id="c-9")
    >>> err.customer_id
    'c-9'
    """

    def __init__(self, message: str, *, customer_id: str | None = None) -> None:
        super().__init__(message)
        self.customer_id = customer_id

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_with, (type(self), self.args, {"customer_id": self.customer_id}))


class UnknownCase(LoopkitError, LookupError):
    """No case, promise or message has that id in the store.

    The id looked for is in ``case_id``, ``promise_id`` or ``message_id``
    (the others are ``None``; all are ``None`` when the code that raised did
    not say). An id that looks like personal data is never shown in the
    message, but is kept here as the caller gave it.

    >>> err = UnknownCase("case 'case-9': expected the id of a stored case", case_id="case-9")
    >>> err.case_id, err.promise_id
    ('case-9', None)
    """

    def __init__(
        self,
        message: str,
        *,
        case_id: str | None = None,
        promise_id: str | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.case_id = case_id
        self.promise_id = promise_id
        self.message_id = message_id

    def __reduce__(self) -> tuple[object, ...]:
        context = {
            "case_id": self.case_id,
            "promise_id": self.promise_id,
            "message_id": self.message_id,
        }
        return (_rebuild_with, (type(self), self.args, context))


class PluginError(LoopkitError):
    """A plugin broke its hook's contract (wrong return type, unknown name).

    ``hook`` names the hook (``"loopkit_load_customer"``), ``None`` when the
    error is not about one hook (a plugin implementing a hook loopkit does not
    have). A plugin's own exception, if it raised one, is the ``__cause__``.

    >>> err = PluginError("loopkit_holidays: expected an iterable of dates, got a str",
    ...     hook="loopkit_holidays")
    >>> err.hook
    'loopkit_holidays'
    """

    def __init__(self, message: str, *, hook: str | None = None) -> None:
        super().__init__(message)
        self.hook = hook

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_with, (type(self), self.args, {"hook": self.hook}))


class LoopkitWarning(UserWarning):
    """The root of the warnings loopkit gives (filter them by this class)."""


class UndeliverableChannelWarning(LoopkitWarning):
    """A :class:`~loopkit.Loop` was built whose playbook names channels no
    plugin registered: their messages would wait in the outbox and be
    dead-lettered by ``tick``. Pass ``check_channels=False`` to a loop that
    only ingests (its tick workers register the channels), or filter this
    warning class."""
