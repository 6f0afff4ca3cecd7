"""loopkit: close the loop with customers.

When a customer tells you a touchpoint went badly, loopkit decides who follows
up, through which channel, by when, what that employee may give on their own
authority, and whether the customer came back. Everything public is importable
from here.
"""

from loopkit._version import __version__
from loopkit.businesstime import BusinessCalendar, ContactWindow, format_duration, parse_duration
from loopkit.errors import (
    BusinessTimeError,
    ConflictError,
    IllegalTransition,
    LoopkitError,
    MissingStepError,
    PluginError,
    Problem,
    ValidationError,
)
from loopkit.model import (
    CES5,
    CES7,
    CSAT,
    MAX_COMMENT_LENGTH,
    NPS,
    CaseEvent,
    CaseOrigin,
    CaseState,
    Category,
    ContactPoint,
    ContactPreferences,
    Customer,
    DailyWindow,
    FollowUpCase,
    Response,
    Scale,
    SurveyKind,
    Touchpoint,
    Transition,
)

__all__ = [
    "CES5",
    "CES7",
    "CSAT",
    "MAX_COMMENT_LENGTH",
    "NPS",
    "BusinessCalendar",
    "BusinessTimeError",
    "CaseEvent",
    "CaseOrigin",
    "CaseState",
    "Category",
    "ConflictError",
    "ContactPoint",
    "ContactPreferences",
    "ContactWindow",
    "Customer",
    "DailyWindow",
    "FollowUpCase",
    "IllegalTransition",
    "LoopkitError",
    "MissingStepError",
    "PluginError",
    "Problem",
    "Response",
    "Scale",
    "SurveyKind",
    "Touchpoint",
    "Transition",
    "ValidationError",
    "__version__",
    "format_duration",
    "parse_duration",
]
