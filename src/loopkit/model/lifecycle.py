"""The case lifecycle: the states a follow-up case can be in, the moves
(transitions) between them, and which move is allowed from which state.
:class:`~loopkit.FollowUpCase` applies them; :mod:`loopkit.model` re-exports
:class:`CaseState` and :class:`Transition`."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

__all__ = ["ACTIVE_STATES", "MOVES", "CaseState", "Transition"]


class CaseState(enum.StrEnum):
    """Where a case is in its life. See :class:`Transition` for the moves."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    CLOSED = "closed"


class Transition(enum.StrEnum):
    """The moves a case can make. ``escalate`` keeps the state and raises the
    escalation level; the others change state:

    ===============  ===========================================  ============
    transition       from                                         to
    ===============  ===========================================  ============
    start            open                                         in_progress
    contact          open, in_progress, contacted                 contacted
    resolve          contacted                                    resolved
    fail             open, in_progress, contacted                 unresolved
    close            resolved, unresolved                         closed
    reopen           resolved, unresolved, closed                 open
    escalate         open, in_progress, contacted                 (unchanged)
    ===============  ===========================================  ============
    """

    START = "start"
    CONTACT = "contact"
    RESOLVE = "resolve"
    FAIL = "fail"
    CLOSE = "close"
    REOPEN = "reopen"
    ESCALATE = "escalate"


_S = CaseState
ACTIVE_STATES: Final = frozenset({_S.OPEN, _S.IN_PROGRESS, _S.CONTACTED})
"""Open, in progress or contacted: someone still has work to do."""
MOVES: Final[Mapping[Transition, tuple[frozenset[CaseState], CaseState | None]]] = {
    Transition.START: (frozenset({_S.OPEN}), _S.IN_PROGRESS),
    Transition.CONTACT: (ACTIVE_STATES, _S.CONTACTED),
    Transition.RESOLVE: (frozenset({_S.CONTACTED}), _S.RESOLVED),
    Transition.FAIL: (ACTIVE_STATES, _S.UNRESOLVED),
    Transition.CLOSE: (frozenset({_S.RESOLVED, _S.UNRESOLVED}), _S.CLOSED),
    Transition.REOPEN: (frozenset({_S.RESOLVED, _S.UNRESOLVED, _S.CLOSED}), _S.OPEN),
    Transition.ESCALATE: (ACTIVE_STATES, None),
}
"""Each transition: the states it may start from, and the state it leads to
(``None``: the state is unchanged, as for ``escalate``)."""
