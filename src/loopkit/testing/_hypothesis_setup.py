"""loopkit's strategies registered with hypothesis, so that ``st.from_type``
and ``st.builds`` draw valid loopkit values for the model types.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (the
``hypothesis`` entry point in loopkit's packaging; ``HYPOTHESIS_NO_PLUGINS=1``
turns it off). Each strategy is deferred: hypothesis may be imported while
:mod:`loopkit.testing.strategies` is itself still importing it.

>>> from hypothesis import find, strategies as st
>>> import loopkit
>>> type(find(st.from_type(loopkit.Customer), lambda customer: True)).__name__
'Customer'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["REGISTERED", "_hypothesis_setup_hook"]

REGISTERED: tuple[str, ...] = (
    "CaseEvent",
    "ContactPoint",
    "ContactPreferences",
    "Customer",
    "DailyWindow",
    "FollowUpCase",
    "Message",
    "Promise",
    "Response",
    "Scale",
    "Touchpoint",
)
"""The loopkit types hypothesis draws with loopkit's strategies."""

_STRATEGY: dict[str, str] = {
    "CaseEvent": "case_events",
    "ContactPoint": "contact_points",
    "ContactPreferences": "contact_preferences",
    "Customer": "customers",
    "DailyWindow": "daily_windows",
    "FollowUpCase": "cases",
    "Message": "messages",
    "Promise": "promises",
    "Response": "responses",
    "Scale": "scales",
    "Touchpoint": "touchpoints",
}


def _deferred(name: str) -> Callable[[], Any]:
    def strategy() -> Any:
        from . import strategies

        return getattr(strategies, name)()

    return strategy


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each type in :data:`REGISTERED`."""
    from hypothesis import strategies as st

    from loopkit import model

    for type_name in REGISTERED:
        st.register_type_strategy(
            getattr(model, type_name), st.deferred(_deferred(_STRATEGY[type_name]))
        )
