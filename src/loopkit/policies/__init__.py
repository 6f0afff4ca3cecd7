"""Follow-up policies: policies, decisions, explanations (pure); the conditions
they test are :mod:`loopkit.conditions` (re-exported here)."""

from loopkit.conditions import OPERATORS, Condition, ConditionTrace

from .contact import ContactHistory, ContactRules
from .decide import PolicySet
from .decision import Decision, Explanation, PolicyTrace, ScheduledEscalation
from .policy import PRESENT_CHANNELS, Deadline, EscalationStep, FollowUpPolicy, Owner, Resurvey
from .questions import Question, questions_to_ask
from .recovery import RECOVERY_TOPIC, RecoveryAsk, RecoveryOwner, RecoveryPolicy
from .retention import RetentionRules
from .templates import PLACEHOLDERS, MessageTemplates, Template

__all__ = [
    "OPERATORS",
    "PLACEHOLDERS",
    "PRESENT_CHANNELS",
    "RECOVERY_TOPIC",
    "Condition",
    "ConditionTrace",
    "ContactHistory",
    "ContactRules",
    "Deadline",
    "Decision",
    "EscalationStep",
    "Explanation",
    "FollowUpPolicy",
    "MessageTemplates",
    "Owner",
    "PolicySet",
    "PolicyTrace",
    "Question",
    "RecoveryAsk",
    "RecoveryOwner",
    "RecoveryPolicy",
    "Resurvey",
    "RetentionRules",
    "ScheduledEscalation",
    "Template",
    "questions_to_ask",
]
