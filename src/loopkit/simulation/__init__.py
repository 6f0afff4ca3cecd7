"""Trying a playbook on past answers (pure): what would have happened, with
no store and nothing sent. :mod:`.replay` decides and counts each answer;
:mod:`.capacity` says how many deadlines a number of people could have met.
"""

from __future__ import annotations

from .capacity import DEFAULT_PER_CONTACT, Team, contacts_made
from .replay import Simulation, SimulationResult, simulate

__all__ = [
    "DEFAULT_PER_CONTACT",
    "Simulation",
    "SimulationResult",
    "Team",
    "contacts_made",
    "simulate",
]
