"""Follow-up policies: conditions, policies, decisions, explanations (pure)."""

from .conditions import OPERATORS, Condition, ConditionTrace
from .decide import (
    ContactHistory,
    ContactRules,
    Decision,
    Explanation,
    FollowUpCap,
    PolicySet,
    PolicyTrace,
    ScheduledEscalation,
)
from .policy import Deadline, EscalationStep, FollowUpPolicy, Owner
from .questions import Question, questions_to_ask

__all__ = [
    "OPERATORS",
    "Condition",
    "ConditionTrace",
    "ContactHistory",
    "ContactRules",
    "Deadline",
    "Decision",
    "EscalationStep",
    "Explanation",
    "FollowUpCap",
    "FollowUpPolicy",
    "Owner",
    "PolicySet",
    "PolicyTrace",
    "Question",
    "ScheduledEscalation",
    "questions_to_ask",
]
