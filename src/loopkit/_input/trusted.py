"""Constructors for values whose parts were already checked.

"Validate at the edge, trust inside": the engine's hot path and the stores
build values from parts that passed the checks when they came in, and skip the
attrs validators and converters. Never for values from outside loopkit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A function taking ``cls``'s init fields as keywords (with their
    defaults) that sets them on a bare instance, skipping converters and
    validators; generated once per class. For values made of parts that were
    already checked (the engine's hot path: "validate at the edge, trust
    inside"); never for values from outside loopkit.

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int = attrs.field(validator=attrs.validators.gt(0))
    ...     y: int = 0
    >>> builder(Point)(x=-1)
    Point(x=-1, y=0)
    """
    found = _BUILDERS.get(cls)
    if found is None:
        found = _BUILDERS[cls] = _make_builder(cls)
    return found


_BUILDERS: Final[dict[type, Callable[..., Any]]] = {}


def _make_builder(cls: Any) -> Callable[..., Any]:
    import attrs

    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    for i, field in enumerate(attrs.fields(cls)):
        if not field.init:
            continue
        name = field.name
        arg = field.alias or name  # the keyword, as in ``__init__`` (``_x`` is ``x``)
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"_f{i}"] = field.default.factory
            made = f"_f{i}(obj)" if field.default.takes_self else f"_f{i}()"
            params.append(f"{arg}=_MISSING")
            body.append(f"    _set(obj, {name!r}, {made} if {arg} is _MISSING else {arg})")
        else:
            if field.default is not attrs.NOTHING:
                namespace[f"_d{i}"] = field.default
                params.append(f"{arg}=_d{i}")
            else:
                params.append(arg)
            body.append(f"    _set(obj, {name!r}, {arg})")
    namespace["_MISSING"] = _MISSING_FIELD
    source = (
        f"def build(*, {', '.join(params)}):\n    obj = _new(_cls)\n"
        + "\n".join(body)
        + "\n    return obj\n"
    )
    exec(compile(source, f"<loopkit builder {cls.__qualname__}>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


_MISSING_FIELD: Final = object()
