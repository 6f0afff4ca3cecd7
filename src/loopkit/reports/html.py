"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no
script, no font, image or style sheet loaded from anywhere; it opens the same
offline, from an e-mail attachment or a shared drive.

What it shows: the headline figures, the NPS trend with its interval band, the
category mix, the first contact against the deadline, the recovery rate,
compensation spent and the top root causes.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Final

from loopkit.metrics import NPS, Estimate

from . import charts
from .deadlines import BANDS
from .report import Report
from .text import format_duration

__all__ = ["render_html"]

_CSS: Final = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f9;color:#212529;
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;margin-bottom:18px}
h1{font-size:24px;margin:0;letter-spacing:-.01em}
h2{font-size:15px;margin:0 0 2px;font-weight:650}
.sub{color:#868e96;font-size:12.5px;margin:0 0 12px}
.meta{color:#868e96;font-size:12.5px;text-align:right}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:16px}
.kpi{background:#fff;border-radius:12px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.kpi .label{color:#868e96;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:26px;font-weight:700;margin-top:2px;font-variant-numeric:tabular-nums}
.kpi .range{color:#868e96;font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.card{background:#fff;border-radius:12px;padding:18px 20px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.wide{grid-column:1/-1}
.note{color:#868e96;font-size:12px;margin:8px 0 0}
svg text{font-family:inherit}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #f1f3f5}
th{color:#868e96;font-weight:600;font-size:12px}
td.n{text-align:right}
.facts{display:flex;gap:24px;margin-top:8px;color:#495057;font-size:13px}
.facts b{color:#212529}
"""


def _pct(e: Estimate | None) -> tuple[str, str]:
    if e is None:
        return "–", "no data"
    return f"{e.value:.0f}%", f"{e.interval.low:.0f}–{e.interval.high:.0f}%, n={e.n}"


def _duration(d: timedelta | None) -> str:
    return "–" if d is None else format_duration(d)


def _kpi(label: str, value: str, detail: str) -> str:
    return (
        f'<div class="kpi"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="range">{escape(detail)}</div></div>'
    )


def _card(title: str, subtitle: str, body: str, *, wide: bool = False, note: str = "") -> str:
    cls = "card wide" if wide else "card"
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return (
        f'<section class="{cls}"><h2>{escape(title)}</h2>'
        f'<p class="sub">{escape(subtitle)}</p>{body}{extra}</section>'
    )


def _signed(x: float) -> str:
    """``+12``, ``-3``, ``0``: rounded first, so never ``-0``."""
    n = round(x)
    return f"{n:+d}" if n else "0"


def _nps_value(r: NPS) -> str:
    return "–" if r.score is None else _signed(r.score)


def _kpis(report: Report) -> str:
    c = report.confidence
    band = report.nps.interval(c, "adjusted_wald")
    nps_detail = "no answers" if band is None else f"{_signed(band.low)} to {_signed(band.high)}"
    m = report.cases
    tiles = [
        _kpi("NPS", _nps_value(report.nps), f"{nps_detail}, n={report.nps.n}"),
        _kpi("Cases closed", *_pct(m.closure_rate(c))),
        _kpi("Reached in time", *_pct(m.sla_compliance(c))),
        _kpi(
            "First contact",
            _duration(m.time_to_first_contact(0.5)),
            f"median; p90 {_duration(m.time_to_first_contact(0.9))}",
        ),
    ]
    r = report.recovery
    tiles.append(_kpi("Recovered", *(_pct(r.rate(c)) if r else ("–", "not given"))))
    cost = report.compensation
    if cost is None or not cost.spent():
        tiles.append(_kpi("Compensation", "–", "not given" if cost is None else "nothing spent"))
    else:
        first, *more = cost.spent()
        extra = f" +{len(more)} more" if more else ""
        detail = f"{first.currency}{extra} · {cost.grants} grants"
        tiles.append(_kpi("Compensation", f"{first.amount:,.0f}", detail))
    return '<div class="kpis">' + "".join(tiles) + "</div>"


def _trend(report: Report) -> str:
    c = report.confidence
    points = []
    for day, n in report.nps_trend:
        band = n.interval(c, "adjusted_wald")
        assert band is not None and n.score is not None
        points.append((day.strftime("%d %b"), n.score, band.low, band.high, n.n))
    return _card(
        f"NPS by {report.period}",
        f"score per {report.period} ({report.timezone}) with its {c:.0%} interval "
        "(adjusted Wald): a change inside the band may be noise",
        charts.trend(points),
        wide=True,
    )


def _mix(report: Report) -> str:
    n = report.nps
    rows = [("All", n.promoters, n.passives, n.detractors)]
    rows += [(k, r.promoters, r.passives, r.detractors) for k, r in report.by_touchpoint[:6]]
    return _card("Category mix", "overall and by touchpoint", charts.mix_bars(rows))


def _deadlines(report: Report) -> str:
    d, m = report.deadlines, report.cases
    note = (
        f"median first contact {format_duration(m.time_to_first_contact(0.5))}, "
        f"p90 {format_duration(m.time_to_first_contact(0.9))}; "
        f"{d.waiting} still inside their deadline"
    )
    return _card(
        "First contact against the deadline",
        "share of the allowed time used before the customer was reached",
        charts.deadline_bars(BANDS, d.counts),
        note=note,
    )


def _recovery(report: Report) -> str:
    r, c = report.recovery, report.confidence
    rate = r.rate(c) if r is not None else None
    if r is None:
        body = charts.empty(500, 92, "recovery outcomes not given")
    elif rate is None:
        body = charts.empty(500, 92, "no detractor answered again yet")
    else:
        body = charts.gauge(
            rate.value, rate.interval.low, rate.interval.high, label="Recovery rate"
        )
        answered = r.answer_rate(c)
        if answered is not None:
            body += '<p class="sub">answered the re-survey, of those whose window ended</p>'
            body += charts.gauge(
                answered.value,
                answered.interval.low,
                answered.interval.high,
                label="Answer rate",
                colour=charts.COLOURS["answered"],
            )
    facts = ""
    if r is not None:
        facts = (
            f'<div class="facts"><span><b>{r.recovered}</b> recovered</span>'
            f"<span><b>{r.not_recovered}</b> still unhappy</span>"
            f"<span><b>{r.no_answer}</b> no answer</span>"
            f"<span><b>{r.pending}</b> pending</span></div>"
        )
    return _card(
        "Recovery rate",
        "detractors who answered again as passive or promoter, with Wilson's interval",
        body + facts,
    )


def _spending(report: Report) -> str:
    cost = report.compensation
    if cost is None:
        return _card("Compensation spent", "per period", charts.empty(500, 220, "not given"))
    spent = cost.spent()
    currency = max(spent, key=lambda m: abs(m.amount)).currency if spent else None
    rows = []
    for day, part in report.spend_trend:
        amount = next((m.amount for m in part.spent() if m.currency == currency), None)
        if amount is not None:
            rows.append((day.strftime("%d %b"), float(amount), f"{amount:,.0f}"))
    share = cost.empowerment_share(report.confidence)
    r = report.recovery
    per = cost.per_recovered(r.recovered) if r is not None else None
    facts = [f"<span><b>{cost.grants}</b> grants, <b>{cost.reversals}</b> reversed</span>"]
    if share is not None:
        facts.append(f"<span><b>{share.value:.0f}%</b> without approval</span>")
    if per:
        each = ", ".join(f"{m.amount:,.2f} {m.currency}" for m in per)
        facts.append(f"<span><b>{escape(each)}</b> per recovered customer</span>")
    unit = f" in {currency}" if currency else ""
    return _card(
        "Compensation spent",
        f"posted less reversed, per {report.period}{unit}",
        charts.bars(rows, colour=charts.COLOURS["spend"])
        + '<div class="facts">'
        + "".join(facts)
        + "</div>",
    )


def _causes(report: Report) -> str:
    i = report.issues
    note = ""
    if i is not None:
        note = (
            f"systemic issues: {i.opened} opened, {i.fixed} fixed "
            f"({i.fixed_in_window} in this window), {i.unresolved} unresolved"
        )
    return _card(
        "Top root causes",
        "tags on closed cases",
        charts.horizontal_bars(
            report.causes.top(8), colour=charts.COLOURS["cause"], label="Top root causes"
        ),
        note=note,
    )


def _touchpoints(report: Report) -> str:
    c = report.confidence
    rows = ["<tr><th>touchpoint</th><th>NPS</th><th>interval</th><th>n</th></tr>"]
    for kind, r in report.by_touchpoint[:10]:
        band = r.interval(c, "adjusted_wald")
        shown = "–" if band is None else f"{_signed(band.low)} to {_signed(band.high)}"
        rows.append(
            f"<tr><td>{escape(kind)}</td><td>{_nps_value(r)}</td><td>{shown}</td>"
            f'<td class="n">{r.n}</td></tr>'
        )
    note = "small n means a wide interval: compare touchpoints by their intervals"
    return _card("NPS by touchpoint", "", "<table>" + "".join(rows) + "</table>", note=note)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    since, until = report.since, report.until
    window = (
        "all time"
        if since is None and until is None
        else " – ".join(
            at.strftime("%Y-%m-%d %H:%M %Z") if at is not None else "…" for at in (since, until)
        )
    )
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>loopkit report</title>"
        f"<style>{_CSS}</style></head><body><main>"
        '<header><div><h1>Closing the loop</h1><div class="sub">how customers feel, '
        "whether we followed up, and whether it worked</div></div>"
        f'<div class="meta">window {escape(window)}<br>as of '
        f"{escape(report.as_of.isoformat(timespec='minutes'))} · {report.responses} answers"
        "</div></header>"
    )
    cards = [
        _trend(report),
        _mix(report),
        _deadlines(report),
        _recovery(report),
        _spending(report),
        _causes(report),
        _touchpoints(report),
    ]
    return (
        head
        + _kpis(report)
        + '<div class="grid">'
        + "".join(cards)
        + "</div></main></body></html>\n"
    )
