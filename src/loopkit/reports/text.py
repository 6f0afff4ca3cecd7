"""A report for the terminal: plain text, aligned columns, a sparkline of the NPS
trend, every estimate with its interval and its n."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from loopkit.metrics import NPS, Convention, Estimate

from .deadlines import BANDS
from .report import Report

__all__ = ["format_duration", "render_text"]

_SPARK: Final = "▁▂▃▄▅▆▇█"


def format_duration(d: timedelta | None) -> str:
    """``2h 05m``, ``3d 4h``, ``45s``; ``-`` for no data.

    >>> format_duration(timedelta(hours=2, minutes=5)), format_duration(None)
    ('2h 05m', '-')
    """
    if d is None:
        return "-"
    seconds = round(d.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _share(e: Estimate | None) -> str:
    if e is None:
        return "no data"
    return f"{e.value:.1f}%  [{e.interval.low:.1f}, {e.interval.high:.1f}]  n={e.n}"


def _nps(r: NPS, confidence: float) -> str:
    if r.score is None:
        return "no data"
    band = r.interval(confidence, "adjusted_wald")
    assert band is not None
    return f"{r.score:+.1f}  [{band.low:+.1f}, {band.high:+.1f}]  n={r.n}"


def _spark(values: list[float]) -> str:
    """One block per period, from the lowest score (▁) to the highest (█)."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    span = (high - low) or 1.0
    return "".join(_SPARK[min(7, int((v - low) / span * 8))] for v in values)


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def render_text(report: Report) -> str:
    """The report as text for a terminal (ends with a newline)."""
    c = report.confidence
    lines: list[str] = []
    since, until = report.since, report.until
    window = (
        "all time"
        if since is None and until is None
        else " to ".join(
            at.isoformat(timespec="minutes") if at is not None else "…" for at in (since, until)
        )
    )
    lines += [
        "loopkit report",
        f"  window: {window}   by {report.period} in {report.timezone}   "
        f"as of {report.as_of.isoformat(timespec='minutes')}",
        f"  intervals: {c:.0%} (NPS: adjusted Wald; shares: Wilson)",
        "",
        "How customers feel",
        f"  NPS           {_nps(report.nps, c)}",
    ]
    if report.nps.n:
        n = report.nps
        lines.append(
            f"  mix           {n.promoters} promoters, {n.passives} passive"
            f"{'' if n.passives == 1 else 's'}, {n.detractors} detractors"
        )
    for s in report.satisfaction:
        label = f"{s.scale.name.upper()} top box"
        lines.append(f"  {label:<13} {_share(s.estimate(Convention.TOP_BOX, c))}")
    if report.nps_trend:
        scores = [n.score for _, n in report.nps_trend if n.score is not None]
        lines += ["", f"NPS by {report.period}   {_spark(scores)}"]
        rows: list[tuple[str, ...]] = [("period", "NPS", "interval", "n")]
        for d, n in report.nps_trend:
            band = n.interval(c, "adjusted_wald")
            assert band is not None and n.score is not None
            rows.append(
                (d.isoformat(), f"{n.score:+.1f}", f"[{band.low:+.1f}, {band.high:+.1f}]", f"{n.n}")
            )
        lines += _table(rows)
    if report.by_touchpoint:
        lines += ["", "NPS by touchpoint"]
        rows = [("touchpoint", "NPS", "n")]
        rows += [
            (k, f"{n.score:+.1f}" if n.score is not None else "-", f"{n.n}")
            for k, n in report.by_touchpoint
        ]
        lines += _table(rows)
    m = report.cases
    lines += [
        "",
        "Did we close the loop",
        f"  cases opened  {m.opened}",
        f"  closed        {_share(m.closure_rate(c))}",
        f"  in time (SLA) {_share(m.sla_compliance(c))}",
        f"  escalated     {_share(m.escalation_rate(c))}",
        f"  first contact median {format_duration(m.time_to_first_contact(0.5))}, "
        f"p90 {format_duration(m.time_to_first_contact(0.9))} (n={m.first_contact.n})",
    ]
    use = report.deadlines
    if use.decided or use.waiting:
        bands = ", ".join(f"{b} {n}" for b, n in zip(BANDS, use.counts, strict=True))
        lines.append(f"  deadline used {bands}; waiting {use.waiting}")
    lines += ["", "Did it work"]
    r = report.recovery
    if r is None:
        lines.append("  recovery      not given")
    else:
        lines.append(f"  recovered     {_share(r.rate(c))}")
        lines.append(
            f"                {r.recovered} of {r.resurveyed} re-surveyed detractors; "
            f"{r.no_answer} did not answer, {r.pending} pending"
        )
    cost = report.compensation
    if cost is None:
        lines.append("  compensation  not given")
    else:
        spent = ", ".join(f"{x.amount:.2f} {x.currency}" for x in cost.spent()) or "nothing"
        lines.append(f"  spent         {spent} ({cost.grants} grants, {cost.reversals} reversed)")
        per = cost.per_recovered(r.recovered) if r is not None else None
        if per:
            each = ", ".join(f"{x.amount:.2f} {x.currency}" for x in per)
            lines.append(f"  per recovered {each}")
        lines.append(f"  no approval   {_share(cost.empowerment_share(c))}")
    i = report.issues
    if i is not None:
        lines.append(
            f"  issues        {i.opened} opened, {i.fixed} fixed "
            f"({i.fixed_in_window} in the window), {i.unresolved} unresolved"
        )
    if report.causes.counts:
        lines += ["", "Top root causes"]
        lines += _table([(k, str(n)) for k, n in report.causes.top(5)])
    return "\n".join(lines) + "\n"
