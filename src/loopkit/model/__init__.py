"""The domain model: immutable values only (no I/O, no clock)."""

from .cap import Cap, CapCondition
from .case import CaseEvent, CaseOrigin, CaseState, FollowUpCase, Transition
from .customer import ContactPoint, ContactPreferences, Customer
from .erasure import (
    Erasure,
    erased_case,
    erased_customer,
    erased_message,
    erased_response,
    erased_touchpoint,
)
from .promise import Message, MessageStatus, Promise, PromiseStatus
from .response import MAX_COMMENT_LENGTH, Response, SurveyKind
from .scales import CES5, CES7, CSAT, NPS, Category, Scale
from .touchpoint import CHANNELS, TOUCHPOINT_KINDS, Touchpoint
from .window import DailyWindow

__all__ = [
    "CES5",
    "CES7",
    "CHANNELS",
    "CSAT",
    "MAX_COMMENT_LENGTH",
    "NPS",
    "TOUCHPOINT_KINDS",
    "Cap",
    "CapCondition",
    "CaseEvent",
    "CaseOrigin",
    "CaseState",
    "Category",
    "ContactPoint",
    "ContactPreferences",
    "Customer",
    "DailyWindow",
    "Erasure",
    "FollowUpCase",
    "Message",
    "MessageStatus",
    "Promise",
    "PromiseStatus",
    "Response",
    "Scale",
    "SurveyKind",
    "Touchpoint",
    "Transition",
    "erased_case",
    "erased_customer",
    "erased_message",
    "erased_response",
    "erased_touchpoint",
]
