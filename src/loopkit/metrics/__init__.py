"""Honest metrics: NPS, CSAT and CES with their intervals, and whether the loop was
closed (closure rate, SLA compliance, time to first contact, escalations) and
whether it worked (recovery rate, compensation cost, empowerment share, systemic
issues opened and fixed, root causes).

Pure functions over what the store holds (or any iterable), consumed once in
constant memory; every result for parts merges into the result for the whole.
The formulas and their sources are in ``docs/metrics.md``.
"""

from .cases import CaseMetrics, Durations, case_metrics
from .issues import CauseCounts, IssueCounts, cause_counts, issue_counts
from .nps import NPS, compare_nps, nps
from .recovery import RecoveryRate, recovery_rate
from .satisfaction import Convention, Estimate, ScoreCounts, ces, csat, score_counts
from .slices import case_metrics_by, nps_by, period
from .spending import CompensationCost, compensation_cost
from .stats import Interval, TwoSidedTest, wilson, z_for

__all__ = [
    "NPS",
    "CaseMetrics",
    "CauseCounts",
    "CompensationCost",
    "Convention",
    "Durations",
    "Estimate",
    "Interval",
    "IssueCounts",
    "RecoveryRate",
    "ScoreCounts",
    "TwoSidedTest",
    "case_metrics",
    "case_metrics_by",
    "cause_counts",
    "ces",
    "compare_nps",
    "compensation_cost",
    "csat",
    "issue_counts",
    "nps",
    "nps_by",
    "period",
    "recovery_rate",
    "score_counts",
    "wilson",
    "z_for",
]
