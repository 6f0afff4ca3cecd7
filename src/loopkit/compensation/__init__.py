"""Compensation: money, authority, staff, budgets and their periods, offer
rules and proposals, and the ledger with the pure decisions on it (grant,
approve, reject, expire, reverse)."""

from .accounts import budget_effect, ledger_excerpt
from .grants import GrantOutcome, approve, expire, grant, reject, reverse
from .ledger import (
    ApprovalRequest,
    EntryKind,
    GrantStatus,
    Ledger,
    LedgerEntry,
    OfferSource,
    SourceKind,
)
from .periods import Period, period_of
from .proposals import Dropped, Proposal, Proposals, propose_offers
from .refusals import (
    ApprovalError,
    BudgetExceeded,
    NotEnoughAuthority,
    OfferNotEligible,
    RequestSettled,
    SelfApproval,
)
from .staff import ApprovalRules, Empowerment, Staff, StaffMember
from .values import (
    AuthorityLimits,
    Budget,
    BudgetPeriod,
    CompensationRule,
    CompensationRules,
    Money,
    Offer,
    OfferKind,
)

__all__ = [
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalRules",
    "AuthorityLimits",
    "Budget",
    "BudgetExceeded",
    "BudgetPeriod",
    "CompensationRule",
    "CompensationRules",
    "Dropped",
    "Empowerment",
    "EntryKind",
    "GrantOutcome",
    "GrantStatus",
    "Ledger",
    "LedgerEntry",
    "Money",
    "NotEnoughAuthority",
    "Offer",
    "OfferKind",
    "OfferNotEligible",
    "OfferSource",
    "Period",
    "Proposal",
    "Proposals",
    "RequestSettled",
    "SelfApproval",
    "SourceKind",
    "Staff",
    "StaffMember",
    "approve",
    "budget_effect",
    "expire",
    "grant",
    "ledger_excerpt",
    "period_of",
    "propose_offers",
    "reject",
    "reverse",
]
