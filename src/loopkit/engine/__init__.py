"""The engine: the only part of loopkit that calls hooks, opens store
transactions and sends through channels."""

from .clock import Clock, SystemClock
from .compensation import BudgetUse, CompensationDesk
from .delivery import RetryPolicy
from .issues import IssueBoard
from .loop import Loop, UnknownCase, UnknownCustomer
from .personal_data import PersonalData
from .results import BatchItem, ContactOutcome, IngestResult, SurveyGuard, TickReport

__all__ = [
    "BatchItem",
    "BudgetUse",
    "Clock",
    "CompensationDesk",
    "ContactOutcome",
    "IngestResult",
    "IssueBoard",
    "Loop",
    "PersonalData",
    "RetryPolicy",
    "SurveyGuard",
    "SystemClock",
    "TickReport",
    "UnknownCase",
    "UnknownCustomer",
]
