"""loopkit's exceptions: one hierarchy rooted at :class:`LoopkitError`.

Every message says what was wrong, where (a field path such as
``policies[2].when.all[1].le``) and what was expected. Messages never contain
personal data: values of personal fields are described by their type and
length only (see :func:`describe`).

This module is the public face and holds the hierarchy itself. Import
everything from here; the parts live in private modules by subject:
``_problem`` (:class:`Problem`, :func:`join_path`) and ``_describe`` (the safe
descriptions of values: :func:`describe`, :func:`describe_input`,
:func:`describe_key`, :class:`Unreadable`, :func:`suggest`).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._describe import Unreadable as Unreadable  # re-exported, outside __all__ as before
from ._describe import describe, describe_input, describe_key, suggest
from ._problem import Problem, printable
from ._problem import join_path as join_path  # re-exported, outside __all__ as before

__all__ = [
    "BusinessTimeError",
    "ConcurrentWriteError",
    "ConflictError",
    "IllegalTransition",
    "IncompatiblePlaybook",
    "LoopkitError",
    "LoopkitWarning",
    "MissingStepError",
    "PluginError",
    "Problem",
    "StoreConnectionError",
    "UndeliverableChannelWarning",
    "UnknownCase",
    "UnknownCustomer",
    "ValidationError",
    "describe",
    "describe_input",
    "describe_key",
    "suggest",
]


class LoopkitError(Exception):
    """The root of every error loopkit raises on purpose.

    >>> issubclass(ValidationError, LoopkitError)
    True
    """


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
        head = f"{printable(self.source)}: " if self.source else ""
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


# -- stores on a server (PostgreSQL) ---------------------------------------------


class StoreConnectionError(LoopkitError):
    """A store could not reach its database server (or lost it): the message
    says where it tried (host, port, database, user; never a password) and what
    to check.

    >>> str(StoreConnectionError("could not connect to PostgreSQL at 127.0.0.1:1"))
    'could not connect to PostgreSQL at 127.0.0.1:1'
    """


class ConcurrentWriteError(LoopkitError):
    """Another worker wrote the same rows at the same moment (the same response
    id, the same customer's open case, or a deadlock between two
    transactions), so this transaction was rolled back whole. Running it again
    is safe: ingesting is idempotent. :meth:`loopkit.Loop.ingest_many` and
    :meth:`loopkit.Loop.ingest` retry on their own before they raise it.

    >>> issubclass(ConcurrentWriteError, LoopkitError)
    True
    """


class IncompatiblePlaybook(LoopkitError):
    """A :class:`~loopkit.Loop` was built on a store holding open cases its
    playbook cannot carry on: cases of a policy the playbook no longer has
    (``missing``: policy names), or of a policy whose topic changed
    (``moved``: ``(policy, stored topic, playbook topic)``), which would open
    a second case for the same customer instead of attaching to the first.
    Names only, never personal data. What to do: use the playbook that opened
    them, or keep those policies (with their topics) until their cases close;
    ``check_store=False`` builds the loop anyway (to close them, say).

    >>> err = IncompatiblePlaybook("2 open cases", missing=("detractor",))
    >>> err.missing, err.moved
    (('detractor',), ())
    """

    def __init__(
        self,
        message: str,
        *,
        missing: tuple[str, ...] = (),
        moved: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.moved = moved

    def __reduce__(self) -> tuple[object, ...]:
        context = {"missing": self.missing, "moved": self.moved}
        return (_rebuild_with, (type(self), self.args, context))


class LoopkitWarning(UserWarning):
    """The root of the warnings loopkit gives (filter them by this class)."""


class UndeliverableChannelWarning(LoopkitWarning):
    """A :class:`~loopkit.Loop` was built whose playbook names channels no
    plugin registered: their messages would wait in the outbox and be
    dead-lettered by ``tick``. Pass ``check_channels=False`` to a loop that
    only ingests (its tick workers register the channels), or filter this
    warning class."""
