"""The engine: the only part of loopkit that calls hooks, opens store
transactions and sends through channels."""

from .clock import Clock, SystemClock
from .delivery import RetryPolicy
from .issues import IssueBoard
from .loop import Loop, UnknownCase, UnknownCustomer
from .results import BatchItem, ContactOutcome, IngestResult, SurveyGuard, TickReport

__all__ = [
    "BatchItem",
    "Clock",
    "ContactOutcome",
    "IngestResult",
    "IssueBoard",
    "Loop",
    "RetryPolicy",
    "SurveyGuard",
    "SystemClock",
    "TickReport",
    "UnknownCase",
    "UnknownCustomer",
]
