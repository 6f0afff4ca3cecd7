"""Readers generated once per class: the fast path of a ``from_dict``.

A feed's lines are almost all valid, and a :class:`~.reader.Reader` pays on
every one of them for what only a bad one needs: the field paths, the list of
problems, the unknown-key suggestions. :func:`compile_reader` writes, once per
class, a function that takes a plain ``dict`` and checks each field exactly
once (inline for the common checks, see :func:`guard`), builds no path, and
constructs the frozen value without running its validators again
(:func:`~.trusted.builder`). At the first thing it does not accept, it gives
up and returns :data:`SLOW`: the class's ``from_dict`` then reads the same
mapping with its :class:`~.reader.Reader`, which accepts it or names every
problem with its path, as it always did. So the fast path decides nothing on
its own: a value it returns is one the reader would have returned (the tests
compare the two on valid and corrupted input), and every error still comes
from the reader.

Measured on the simulate benchmark's lines (a response with its touchpoint,
a customer with two contact points), ``cli._feed.read_line`` of a parsed
line: 24.5 us of CPU (271k instructions) with the Reader alone, 8.3 us (95k)
with these readers in front; ``json.loads`` of the line is 4.4 us.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

from .checks import _PLAIN_ID, _SLUG, KNOWN_ZONES, check_id, check_optional_id, check_timezone
from .instants import parse_instant
from .trusted import field_setter

__all__ = ["SLOW", "Each", "Slow", "compile_reader", "convert", "guard", "lookup", "plain_text"]

T = TypeVar("T")


class Slow(enum.Enum):
    """What a generated reader returns when the mapping needs the full reader."""

    SLOW = "slow"


SLOW: Final = Slow.SLOW


class Each:
    """A field holding a list of ``cls`` values (``Reader.items``): read each
    with ``cls``'s generated reader; absent or null is ``()``."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


_GUARDS: Final[dict[Callable[..., Any], str]] = {}
_READERS: Final[dict[type, Callable[[object], Any]]] = {}

ID: Final = "type({v}) is str and _PLAIN_ID.fullmatch({v}) is not None"
"""An id :func:`~.checks.check_id` passes as it is (letters, digits, ``_.:/-``)."""
SLUG: Final = "type({v}) is str and _SLUG.fullmatch({v}) is not None"
"""A name :func:`~.checks.check_slug` passes as it is."""


def plain_text(longest: int) -> str:
    """Text of at most ``longest`` characters that :func:`~.checks.check_text`
    passes as it is (ASCII, no NUL); longer or other text goes to the full check."""
    return f"{_STORABLE} and len({{v}}) <= {longest}"


_STORABLE: Final = "type({v}) is str and {v}.isascii() and '\\x00' not in {v}"


def guard(check: Callable[..., Any], template: str) -> None:
    """Say that a value ``v`` for which ``template`` (a Python expression
    with ``{v}``) is true passes ``check`` unchanged: the generated readers
    test it inline instead of calling ``check`` (a call and its isinstance
    tests cost more than the test). A value it is false for is not refused:
    it goes to the full reader. Names the template may use: ``_PLAIN_ID``,
    ``_SLUG`` and those in :func:`compile_reader`'s ``names``. (The guards
    of the benchmark's lines save 16k of the 111k instructions reading one
    with every check called.)"""
    _GUARDS[check] = template


guard(check_id, ID)
guard(check_optional_id, ID)  # null is the field's default: never checked
# a zone name check_timezone passed before: a set lookup, 50 ns for its 350
guard(check_timezone, "type({v}) is str and {v} in _ZONES")


def convert(check: Callable[..., Any], template: str, **names: object) -> None:
    """Say that ``template`` (Python statements reading ``{v}`` into ``{a}``,
    or ``return _SLOW``) gives what ``check`` returns for every value it does
    not send to the full reader: the generated readers run it inline. The
    ``names`` are those it uses."""
    _CONVERTS[check] = template
    _NAMES.update(names)


def lookup(check: Callable[..., Any], table: Mapping[str, object]) -> None:
    """Say that ``check`` returns ``table[v]`` for a string ``v`` in
    ``table`` (a built-in scale by name, a window already parsed): the
    generated readers look it up instead of calling ``check``, and send any
    other value to the full reader."""
    name = f"_T{len(_NAMES)}"
    convert(check, f"{{a}} = {name}.get({{v}}) if type({{v}}) is str else None\n"
            f"if {{a}} is None:\n    return _SLOW", **{name: table})  # fmt: skip


_CONVERTS: Final[dict[Callable[..., Any], str]] = {}
_NAMES: Final[dict[str, object]] = {}

# parse_instant, inline: no call, and no isinstance(value, datetime) first
# (two a line: 4.7k of the 101k instructions reading one)
convert(
    parse_instant,
    "if type({v}) is not str:\n    return _SLOW\n"
    "{a} = _fromiso({v}[:-1] + '+00:00' if {v}.endswith(('Z', 'z')) else {v})\n"
    "if {a}.tzinfo is None:\n    return _SLOW",
    _fromiso=datetime.fromisoformat,
)


def compile_reader(
    cls: type[T],
    fields: Mapping[str, tuple[Any, Any]],
    *,
    post: Callable[[T], T | Slow] | None = None,
    names: Mapping[str, object] | None = None,
) -> Callable[[object], T | Slow]:
    """A function reading a plain ``dict`` into ``cls``, or :data:`SLOW`.

    ``fields`` maps each key (also ``cls``'s init keyword) to ``(how,
    default)``: ``how`` is a ``check(value, path)`` returning the field's
    value (called with an empty path: the reader names it only if
    something is wrong), ``int``, ``bool`` or ``str`` as for
    ``Reader.get``, a class with a generated reader of its own (nested),
    or :class:`Each` of one; ``default`` is the value when the key is
    absent or null, or :data:`~.reader.REQUIRED`. ``post(value)`` finishes
    the value (may raise, which means :data:`SLOW`). Anything that raises
    in the fast path means :data:`SLOW`, never an error of its own.

    Gains measured on the benchmark's lines, in instructions a line (callgrind):
    271k with the Reader alone; 123k with a reader generated per class
    calling :func:`~.trusted.builder`; 101k constructing inline
    (:func:`_construct`); 95k with ``parse_instant`` inline and the scale
    and quiet-hours window looked up.
    """
    from .reader import REQUIRED

    namespace: dict[str, Any] = {
        "_SLOW": SLOW,
        "_PLAIN_ID": _PLAIN_ID,
        "_SLUG": _SLUG,
        "_ZONES": KNOWN_ZONES,
        **_NAMES,
        "_KEYS": frozenset(fields),
        "_new": object.__new__,
        "_cls": cls,
        "_post": post,
        **(names or {}),
    }
    lines = [
        "def read(data):",
        "    if type(data) is not dict or not _KEYS.issuperset(data):",
        "        return _SLOW",
        "    get = data.get",
        "    try:",
    ]
    for i, (key, (how, default)) in enumerate(fields.items()):
        a = f"a{i}"
        lines.append(f"        v = get({key!r})")
        if default is REQUIRED:
            lines.append("        if v is None:\n            return _SLOW")
        else:
            namespace[f"_d{i}"] = default
            lines.append(f"        if v is None:\n            {a} = _d{i}\n        else:")
        pad = "        " if default is REQUIRED else "            "
        for chunk in _read_one(how, a, i, namespace):
            lines += [pad + line for line in chunk.split("\n")]
    lines += _construct(cls, fields, namespace)
    lines += [
        "        return made if _post is None else _post(made)",
        "    except Exception:  # whatever it is, the full reader says it",
        "        return _SLOW",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<loopkit reader {cls.__qualname__}>", "exec"), namespace)
    read: Callable[[object], T | Slow] = namespace["read"]
    _READERS[cls] = read
    return read


def _construct(cls: type, fields: Mapping[str, Any], namespace: dict[str, Any]) -> list[str]:
    """The lines that make ``made``: a bare instance whose every init field is
    set from the values read (``a0``, ``a1``, ...), converters and validators
    not run (each field was checked once, above), as
    :func:`~.trusted.builder` does, without its call and keywords: through
    each slot's own descriptor rather than ``object.__setattr__``, which
    looks it up by name (on the benchmark's lines, 60 ns less a field and
    0.1 us less a value: 2.5 us a line of 11)."""
    import attrs

    keys = list(fields)
    lines = ["        made = _new(_cls)"]
    for field in attrs.fields(cls):
        if not field.init:
            continue  # set by ``post``, as ``__attrs_post_init__`` would
        key = field.alias or field.name
        if key not in fields:
            raise TypeError(f"{cls.__qualname__}: no way to read the field {key!r}")
        i = keys.index(key)
        namespace[f"_s{i}"] = field_setter(cls, field.name)
        lines.append(f"        _s{i}(made, a{i})")
    if set(fields) - {f.alias or f.name for f in attrs.fields(cls) if f.init}:
        raise TypeError(f"{cls.__qualname__}: fields read that it does not have")
    return lines


_KINDS: Final[Mapping[type, str]] = {
    int: "type({v}) is int",  # Reader.get's check_whole: bools refused
    bool: "type({v}) is bool",
    str: _STORABLE,  # check_storable
}


def _read_one(how: Any, a: str, i: int, namespace: dict[str, Any]) -> list[str]:
    """The lines that read ``v`` into ``a`` (or return ``_SLOW``)."""
    if isinstance(how, Each):
        namespace[f"_r{i}"] = _READERS[how.cls]
        return [
            f"if type(v) is not list:\n    return _SLOW\n{a} = []",
            f"for item in v:\n    x = _r{i}(item)\n    if x is _SLOW:\n        return _SLOW",
            f"    {a}.append(x)\n{a} = tuple({a})",
        ]
    if isinstance(how, type) and how in _READERS:
        namespace[f"_r{i}"] = _READERS[how]
        return [f"{a} = _r{i}(v)\nif {a} is _SLOW:\n    return _SLOW"]
    converted = None if isinstance(how, type) else _CONVERTS.get(how)
    if converted is not None:
        return [converted.format(v="v", a=a)]
    template = _KINDS.get(how) if isinstance(how, type) else _GUARDS.get(how)
    if template is not None:
        return [f"if not ({template.format(v='v')}):\n    return _SLOW\n{a} = v"]
    if isinstance(how, type):
        raise TypeError(f"no generated reading for {how.__name__}: give a check function")
    namespace[f"_c{i}"] = how
    return [f"{a} = _c{i}(v, '')"]
