"""Reading untrusted mappings into model values, collecting every problem.

``from_dict`` methods use a :class:`Reader`: it checks each key's type, notes
each problem with its full path, rejects unknown keys with a suggestion, and
raises one :class:`~loopkit.errors.ValidationError` listing them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from loopkit.errors import (
    BusinessTimeError,
    Problem,
    ValidationError,
    describe,
    describe_input,
    describe_key,
    join_path,
    suggest,
)

from .checks import check_number, check_storable, check_whole
from .trusted import builder

T = TypeVar("T")

REQUIRED: Final = object()

_PATHS: Final[dict[str, dict[str, str]]] = {}
"""Field paths already joined, by the reader's path then the key: a feed's
lines name the same few dozen fields, so each path is built once, not once a
line (at most :data:`_MAX_PATHS` readers' paths are kept)."""
_MAX_PATHS: Final = 1024

_NAMES: Final[Mapping[type, str]] = {
    str: "a string",
    bool: "true or false",
    list: "a list",
    dict: "a table (mapping)",
}


class Reader:
    """Reads one mapping found at ``path`` in the input."""

    def __init__(self, data: object, path: str) -> None:
        self.path = path
        paths = _PATHS.get(path)
        if paths is None:
            if len(_PATHS) >= _MAX_PATHS:
                _PATHS.clear()
            paths = _PATHS[path] = {}
        self._paths = paths
        self.problems: list[Problem] = []
        self._seen: set[str] = set()
        self._time_problems = 0
        self._is_mapping = True
        if type(data) is dict or isinstance(data, Mapping):  # a dict: no ABC check
            self.data: Mapping[str, Any] = data
        else:
            self._is_mapping = False
            self.data = {}
            # Described, never shown: a whole record given as a string
            # ("Anna, anna@example.com") is personal data.
            self.problems.append(Problem(path, "a table (mapping)", describe_input(data)))

    def at(self, key: str) -> str:
        found = self._paths.get(key)
        if found is None:
            found = join_path(self.path, key)
            if len(self._paths) < 256:  # known keys; a feed's stray keys are not kept
                self._paths[key] = found
        return found

    def note(self, err: ValidationError) -> None:
        self.problems.extend(err.problems)
        if isinstance(err, BusinessTimeError):
            self._time_problems += len(err.problems)

    def get(
        self,
        key: str,
        kind: type[T] | Callable[[Any, str], T],
        *,
        default: Any = REQUIRED,
        personal: bool = False,
    ) -> Any:
        """The value at ``key`` checked against ``kind`` (a type or a
        ``check(value, path)`` function); ``default`` when absent or null."""
        self._seen.add(key)
        value = self.data.get(key)
        if value is None:
            if default is REQUIRED:
                if self._is_mapping:  # else the one problem is the input's type
                    self.problems.append(Problem(self.at(key), "a value (this field is required)"))
                return None
            return default
        path = self._paths.get(key) or self.at(key)
        try:
            if not isinstance(kind, type):  # a check(value, path): the most common
                return kind(value, path)
            if kind is int:  # the caller's validator checks the range (and 64 bits)
                return check_whole(value, path)
            if kind is float:
                return check_number(value, path)
            if isinstance(kind, type):
                ok = isinstance(value, Mapping) if kind is dict else isinstance(value, kind)
                if kind is list:
                    ok = isinstance(value, list | tuple)
                if not ok or (kind is not bool and isinstance(value, bool)):
                    expected = _NAMES.get(kind, kind.__name__)
                    got = describe(value, personal=True) if personal else describe_input(value)
                    raise ValidationError(path, expected, got)
                if kind is str:
                    return check_storable(value, path)
            return value
        except ValidationError as err:
            self.note(err)
            return None

    def items(self, key: str, read: Callable[[Any, str], T], *, default: Any = ()) -> tuple[T, ...]:
        """A list at ``key`` whose entries are read with ``read(value, path)``."""
        values = self.get(key, list, default=None)
        if values is None:
            return default if default is not REQUIRED else ()
        out: list[T] = []
        for i, value in enumerate(values):
            try:
                out.append(read(value, self.at(key) + f"[{i}]"))
            except ValidationError as err:
                self.note(err)
        return tuple(out)

    def finish(self) -> None:
        """Note every key that was not read as unknown, with a suggestion."""
        if self._seen.issuperset(self.data):
            return  # every key was read: the common case, one C call
        for key in self.data:
            if key in self._seen:
                continue
            name = describe_key(key)  # a key that is not a name may be personal data
            near = suggest(key, self._seen) if isinstance(key, str) else None
            self.problems.append(
                Problem(
                    self.at(name),
                    f"one of the known keys {sorted(self._seen)}",
                    "an unknown key",
                    hint=f"did you mean {near!r}?" if near else None,
                )
            )

    def raise_if_any(self) -> None:
        """Raise every problem noted; a :class:`BusinessTimeError` when they all
        are (a timestamp without an offset), so callers can tell the two apart."""
        if self.problems:
            only_time = self._time_problems == len(self.problems)
            raise (BusinessTimeError if only_time else ValidationError).of(self.problems)

    def build(self, cls: Callable[..., T], kwargs: Mapping[str, Any]) -> T:
        """Construct ``cls(**kwargs)``, or raise every problem noted so far.

        Problems found by the class's own validators are re-pathed from
        ``ClassName.field`` to where the field sat in the input.
        """
        self.raise_if_any()
        try:
            return cls(**kwargs)
        except ValidationError as err:
            raise err.under(self.path, strip=getattr(cls, "__name__", None)) from None

    def build_checked(self, cls: Callable[..., T], kwargs: Mapping[str, Any]) -> T:
        """Construct ``cls`` from ``kwargs`` whose every field this reader has
        already checked as strictly as ``cls``'s validators would, and converted
        as its converters would (so they are not run again: "checked once");
        or raise every problem noted so far. Only for a ``from_dict`` whose
        checks are those of its class (the tests of bad input hold it to the
        same errors); ``__attrs_post_init__`` is not run."""
        self.raise_if_any()
        return builder(cls)(**kwargs)  # type: ignore[arg-type]
