"""What came of the follow-up: whether the customer was won back, and the root
causes that recur until the organisation fixes them (pure, like the policies)."""

from .issues import IssueEvent, IssueRules, IssueState, SystemicIssue, acknowledge, fix, note
from .recovery import RecoveryOutcome, recovery_outcome

__all__ = [
    "IssueEvent",
    "IssueRules",
    "IssueState",
    "RecoveryOutcome",
    "SystemicIssue",
    "acknowledge",
    "fix",
    "note",
    "recovery_outcome",
]
