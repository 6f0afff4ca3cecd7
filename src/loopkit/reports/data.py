"""A report as data: a JSON-safe dict (:func:`to_dict`), JSON text, and CSV
(RFC 4180, CRLF line ends) with every cell that a spreadsheet would run as a
formula neutralised."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from loopkit.compensation import Money
from loopkit.metrics import NPS, Convention, Estimate, Interval

from .deadlines import BANDS
from .report import Report

__all__ = ["csv_cell", "render_csv", "render_json", "to_dict"]

_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as CSV cell text, with a ``'`` in front when it begins with a
    character that makes a spreadsheet read a formula (``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return): OWASP's advice against CSV injection.
    A negative number therefore reads ``'-12.5`` (a spreadsheet shows it as
    text; the JSON report keeps numbers as numbers).

    >>> csv_cell("=1+1"), csv_cell(-12.5), csv_cell("late_delivery"), csv_cell(None)
    ("'=1+1", "'-12.5", 'late_delivery', '')
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _interval(interval: Interval | None) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {"low": _round(interval.low), "high": _round(interval.high), "method": interval.method}


def _estimate(estimate: Estimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    return {
        "value": _round(estimate.value),
        "n": estimate.n,
        **(_interval(estimate.interval) or {}),
    }


def _nps(result: NPS, confidence: float) -> dict[str, Any]:
    return {
        "n": result.n,
        "promoters": result.promoters,
        "passives": result.passives,
        "detractors": result.detractors,
        "score": _round(result.score),
        "wald": _interval(result.interval(confidence)),
        "adjusted_wald": _interval(result.interval(confidence, "adjusted_wald")),
    }


def _money(amounts: tuple[Money, ...] | None) -> list[dict[str, str]] | None:
    if amounts is None:
        return None
    return [{"amount": f"{m.amount:.2f}", "currency": m.currency} for m in amounts]


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain data (numbers, strings, lists, dicts, ``None``):
    ``None`` where there is no data, never a zero standing in for it."""
    c = report.confidence
    m = report.cases
    median, p90 = m.time_to_first_contact(0.5), m.time_to_first_contact(0.9)
    recovery = report.recovery
    cost = report.compensation
    issues = report.issues
    return {
        "report": {
            "timezone": report.timezone,
            "period": report.period,
            "since": _instant(report.since),
            "until": _instant(report.until),
            "as_of": _instant(report.as_of),
            "confidence": c,
        },
        "nps": _nps(report.nps, c),
        "nps_trend": [{"period": d.isoformat(), **_nps(n, c)} for d, n in report.nps_trend],
        "by_touchpoint": [{"touchpoint": k, **_nps(n, c)} for k, n in report.by_touchpoint],
        "by_channel": [{"channel": k, **_nps(n, c)} for k, n in report.by_channel],
        "satisfaction": [
            {
                "scale": s.scale.name,
                "n": s.n,
                "top_box": _estimate(s.estimate(Convention.TOP_BOX, c)),
                "mean": _estimate(s.estimate(Convention.MEAN, c)),
            }
            for s in report.satisfaction
        ],
        "cases": {
            "opened": m.opened,
            "closed": m.closed,
            "escalated": m.escalated,
            "with_deadline": m.with_deadline,
            "in_time": m.in_time,
            "closure_rate": _estimate(m.closure_rate(c)),
            "sla_compliance": _estimate(m.sla_compliance(c)),
            "escalation_rate": _estimate(m.escalation_rate(c)),
            "time_to_first_contact_seconds": {
                "contacted": m.first_contact.n,
                "median": None if median is None else round(median.total_seconds()),
                "p90": None if p90 is None else round(p90.total_seconds()),
            },
        },
        "deadlines": {
            "bands": dict(zip(BANDS, report.deadlines.counts, strict=True)),
            "waiting": report.deadlines.waiting,
        },
        "root_causes": [{"cause": k, "cases": n} for k, n in report.causes.top(10)],
        "recovery": None
        if recovery is None
        else {
            "recovered": recovery.recovered,
            "not_recovered": recovery.not_recovered,
            "no_answer": recovery.no_answer,
            "pending": recovery.pending,
            "rate": _estimate(recovery.rate(c)),
            "answer_rate": _estimate(recovery.answer_rate(c)),
        },
        "compensation": None
        if cost is None
        else {
            "grants": cost.grants,
            "without_approval": cost.without_approval,
            "reversals": cost.reversals,
            "spent": _money(cost.spent()),
            "per_recovered": _money(
                cost.per_recovered(recovery.recovered) if recovery is not None else None
            ),
            "empowerment_share": _estimate(cost.empowerment_share(c)),
        },
        "spend_trend": [
            {"period": d.isoformat(), "spent": _money(s.spent())} for d, s in report.spend_trend
        ],
        "issues": None
        if issues is None
        else {
            "watched": issues.watched,
            "opened": issues.opened,
            "unresolved": issues.unresolved,
            "fixed": issues.fixed,
            "fixed_in_window": issues.fixed_in_window,
        },
    }


def render_json(report: Report) -> str:
    """The report as JSON text (UTF-8, indented, a newline at the end)."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


_HEADER: Final = ("section", "key", "metric", "value", "low", "high", "n")


def _rows(report: Report) -> Iterator[tuple[object, ...]]:
    data = to_dict(report)

    def nps_rows(section: str, key: str, n: dict[str, Any]) -> Iterator[tuple[object, ...]]:
        band = n["adjusted_wald"] or {}
        yield section, key, "nps", n["score"], band.get("low"), band.get("high"), n["n"]
        for name in ("promoters", "passives", "detractors"):
            yield section, key, name, n[name], None, None, n["n"]

    def est(section: str, key: str, metric: str, e: dict[str, Any] | None) -> tuple[object, ...]:
        e = e or {}
        return section, key, metric, e.get("value"), e.get("low"), e.get("high"), e.get("n")

    yield from nps_rows("nps", "all", data["nps"])
    for row in data["nps_trend"]:
        yield from nps_rows("nps_by_period", row["period"], row)
    for row in data["by_touchpoint"]:
        yield from nps_rows("nps_by_touchpoint", row["touchpoint"], row)
    for row in data["by_channel"]:
        yield from nps_rows("nps_by_channel", row["channel"], row)
    for row in data["satisfaction"]:
        yield est("satisfaction", row["scale"], "top_box", row["top_box"])
        yield est("satisfaction", row["scale"], "mean", row["mean"])
    cases = data["cases"]
    for name in ("opened", "closed", "escalated", "with_deadline", "in_time"):
        yield "cases", "all", name, cases[name], None, None, None
    for name in ("closure_rate", "sla_compliance", "escalation_rate"):
        yield est("cases", "all", name, cases[name])
    ttfc = cases["time_to_first_contact_seconds"]
    for name in ("median", "p90"):
        yield (
            "cases",
            "all",
            f"time_to_first_contact_{name}_s",
            ttfc[name],
            None,
            None,
            (ttfc["contacted"]),
        )
    for band, count in data["deadlines"]["bands"].items():
        yield "deadlines", band, "cases", count, None, None, None
    yield "deadlines", "waiting", "cases", data["deadlines"]["waiting"], None, None, None
    for row in data["root_causes"]:
        yield "root_causes", row["cause"], "cases", row["cases"], None, None, None
    if (recovery := data["recovery"]) is not None:
        for name in ("recovered", "not_recovered", "no_answer", "pending"):
            yield "recovery", "all", name, recovery[name], None, None, None
        yield est("recovery", "all", "rate", recovery["rate"])
        yield est("recovery", "all", "answer_rate", recovery["answer_rate"])
    if (cost := data["compensation"]) is not None:
        for name in ("grants", "without_approval", "reversals"):
            yield "compensation", "all", name, cost[name], None, None, None
        for money in cost["spent"]:
            yield "compensation", money["currency"], "spent", money["amount"], None, None, None
        for money in cost["per_recovered"] or ():
            yield (
                "compensation",
                money["currency"],
                "per_recovered",
                money["amount"],
                None,
                (None),
                None,
            )
        yield est("compensation", "all", "empowerment_share", cost["empowerment_share"])
    for row in data["spend_trend"]:
        for money in row["spent"]:
            yield (
                "spend_by_period",
                row["period"],
                f"spent_{money['currency']}",
                (money["amount"]),
                None,
                None,
                None,
            )
    if (issues := data["issues"]) is not None:
        for name, value in issues.items():
            yield "issues", "all", name, value, None, None, None


def render_csv(report: Report) -> str:
    """The report as one CSV table (RFC 4180: ``\\r\\n`` line ends, quoted where
    needed), one metric a row: ``section, key, metric, value, low, high, n``;
    an empty cell where there is no data."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_HEADER)
    for row in _rows(report):
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()
