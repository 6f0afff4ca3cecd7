"""Compensation: money, authority limits, budgets and offer rules (pure values)."""

from .values import (
    AuthorityLimits,
    Budget,
    BudgetPeriod,
    CompensationRule,
    CompensationRules,
    CustomerCap,
    Money,
    Offer,
    OfferKind,
)

__all__ = [
    "AuthorityLimits",
    "Budget",
    "BudgetPeriod",
    "CompensationRule",
    "CompensationRules",
    "CustomerCap",
    "Money",
    "Offer",
    "OfferKind",
]
