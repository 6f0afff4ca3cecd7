"""Honest metrics: NPS, CSAT and CES with their intervals, and whether the loop was
closed (closure rate, SLA compliance, time to first contact, escalations).

Pure functions over what the store holds (or any iterable), consumed once in
constant memory; every result for parts merges into the result for the whole.
The formulas and their sources are in ``docs/metrics.md``.
"""

from .cases import CaseMetrics, Durations, case_metrics
from .nps import NPS, compare_nps, nps
from .satisfaction import Convention, Estimate, ScoreCounts, ces, csat, score_counts
from .slices import case_metrics_by, nps_by, period
from .stats import Interval, TwoSidedTest, wilson, z_for

__all__ = [
    "NPS",
    "CaseMetrics",
    "Convention",
    "Durations",
    "Estimate",
    "Interval",
    "ScoreCounts",
    "TwoSidedTest",
    "case_metrics",
    "case_metrics_by",
    "ces",
    "compare_nps",
    "csat",
    "nps",
    "nps_by",
    "period",
    "score_counts",
    "wilson",
    "z_for",
]
