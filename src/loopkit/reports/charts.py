"""Inline SVG charts for the HTML report: plain strings, no script, no external
asset. Every text that comes from data is escaped.

Each chart draws its data in a colour of its own (``COLOURS``), so a test (or
a person) can find it on a screenshot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Final

__all__ = [
    "COLOURS",
    "DEADLINE_COLOURS",
    "bars",
    "deadline_bars",
    "gauge",
    "horizontal_bars",
    "mix_bars",
    "trend",
]

COLOURS: Final[dict[str, str]] = {
    "band": "#dbe4ff",
    "line": "#3b5bdb",
    "promoter": "#12b886",
    "passive": "#ced4da",
    "detractor": "#f03e3e",
    "recovery": "#7048e8",
    "answered": "#b197fc",
    "spend": "#1098ad",
    "cause": "#d6336c",
}
"""The data colours: the NPS band and line, the category mix, the recovery
gauge, spending and root causes."""

DEADLINE_COLOURS: Final = ("#2f9e44", "#8ce99a", "#ffd43b", "#fab005", "#f76707", "#c92a2a")
"""The deadline bands' colours, from well in time to missed."""

_GRID: Final = "#e9ecef"
_INK: Final = "#343a40"
_MUTED: Final = "#868e96"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: Sequence[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 12,
    fill: str = _MUTED,
    anchor: str = "middle",
    weight: int = 400,
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{fill}" '
        f'text-anchor="{anchor}" font-weight="{weight}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, rx: float = 0) -> str:
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(0.0, w))}" '
        f'height="{_num(max(0.0, h))}" rx="{_num(rx)}" fill="{fill}"/>'
    )


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    stroke: str,
    width: float = 1,
    dash: str | None = None,
) -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{stroke}" stroke-width="{_num(width)}"{extra}/>'
    )


def empty(width: int, height: int, message: str) -> str:
    """A chart's place with ``message`` (``no data``, ``not given``)."""
    body = [
        _rect(0, 0, width, height, "#f8f9fa", 8),
        _text(width / 2, height / 2 + 5, message, size=14),
    ]
    return _svg(width, height, body, message)


def _ticks(low: float, high: float) -> list[float]:
    step = 10.0 if high - low <= 60 else 25.0 if high - low <= 120 else 50.0
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def trend(
    points: Sequence[tuple[str, float, float, float, int]], *, width: int = 1040, height: int = 300
) -> str:
    """The NPS per period (``label, score, low, high, n``) as a line over its
    interval band, on a scale that fits the band (within −100 to 100)."""
    if not points:
        return empty(width, height, "no NPS answers in this window")
    left, right, top, bottom = 48, 16, 28, 52
    lo = max(-100.0, math.floor((min(p[2] for p in points) - 5) / 10) * 10)
    hi = min(100.0, math.ceil((max(p[3] for p in points) + 5) / 10) * 10)
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / len(points)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    body = []
    for t in _ticks(lo, hi):
        body.append(_line(left, y(t), width - right, y(t), "#adb5bd" if t == 0 else _GRID))
        body.append(_text(left - 8, y(t) + 4, f"{t:+.0f}" if t else "0", anchor="end"))
    if len(points) == 1:
        body.append(
            _rect(
                x(0) - 18,
                y(points[0][3]),
                36,
                y(points[0][2]) - y(points[0][3]),
                COLOURS["band"],
                6,
            )
        )
    else:
        upper = [f"{_num(x(i))},{_num(y(p[3]))}" for i, p in enumerate(points)]
        lower = [f"{_num(x(i))},{_num(y(p[2]))}" for i, p in reversed(list(enumerate(points)))]
        body.append(f'<polygon points="{" ".join(upper + lower)}" fill="{COLOURS["band"]}"/>')
        path = " ".join(f"{_num(x(i))},{_num(y(p[1]))}" for i, p in enumerate(points))
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{COLOURS["line"]}" '
            'stroke-width="3" stroke-linejoin="round" stroke-linecap="round"/>'
        )
    every = max(1, math.ceil(len(points) / 12))
    dense = len(points) > 24  # small dots, and the value only at the labelled periods
    for i, (label, score, _low, _high, n) in enumerate(points):
        body.append(
            f'<circle cx="{_num(x(i))}" cy="{_num(y(score))}" r="{3 if dense else 5}" '
            f'fill="#fff" stroke="{COLOURS["line"]}" stroke-width="{2 if dense else 3}"/>'
        )
        if i % every == 0 or i == len(points) - 1:
            shown = f"{round(score):+d}" if round(score) else "0"
            if not dense or i == len(points) - 1:
                body.append(_text(x(i), y(score) - 12, shown, fill=_INK, weight=600))
            body.append(_text(x(i), height - bottom + 20, label, fill=_INK))
            body.append(_text(x(i), height - bottom + 36, f"n={n}", size=11))
    return _svg(width, height, body, "NPS by period with its interval band")


def mix_bars(rows: Sequence[tuple[str, int, int, int]], *, width: int = 500) -> str:
    """One 100% bar per row (``label, promoters, passives, detractors``), with
    a legend: the category mix."""
    rows = [r for r in rows if sum(r[1:]) > 0]
    if not rows:
        return empty(width, 120, "no NPS answers in this window")
    left, bar_h, gap, top = 120, 24, 14, 34
    height = top + len(rows) * (bar_h + gap) + 4
    body = []
    legend = (("promoters", "promoter"), ("passives", "passive"), ("detractors", "detractor"))
    for i, (name, key) in enumerate(legend):
        lx = left + i * 110
        body.append(_rect(lx, 6, 12, 12, COLOURS[key], 3))
        body.append(_text(lx + 18, 16, name, anchor="start", fill=_INK))
    span = width - left - 8
    for j, (label, *counts) in enumerate(rows):
        total = sum(counts)
        y = top + j * (bar_h + gap)
        body.append(_text(left - 10, y + bar_h / 2 + 4, label[:16], anchor="end", fill=_INK))
        x = float(left)
        for count, key in zip(counts, ("promoter", "passive", "detractor"), strict=True):
            w = span * count / total
            body.append(_rect(x, y, w, bar_h, COLOURS[key]))
            if w >= 34:
                ink = _INK if key == "passive" else "#fff"
                body.append(
                    _text(
                        x + w / 2,
                        y + bar_h / 2 + 4,
                        f"{100 * count / total:.0f}%",
                        fill=ink,
                        size=11,
                        weight=600,
                    )
                )
            x += w
    return _svg(width, height, body, "Promoters, passives and detractors")


def deadline_bars(bands: Sequence[str], counts: Sequence[int], *, width: int = 500) -> str:
    """How much of the allowed time the first contact used, one bar per band,
    with the deadline marked between the last band in time and ``late``."""
    height = 230
    if not sum(counts):
        return empty(width, height, "no case with a decided deadline")
    left, bottom, top = 12, 46, 22
    plot_h = height - top - bottom
    step = (width - 2 * left) / len(bands)
    peak = max(counts)
    body = [_line(left, height - bottom, width - left, height - bottom, "#adb5bd")]
    for i, (band, count) in enumerate(zip(bands, counts, strict=True)):
        h = plot_h * count / peak
        x = left + i * step + step * 0.15
        body.append(_rect(x, height - bottom - h, step * 0.7, h, DEADLINE_COLOURS[i], 4))
        body.append(
            _text(x + step * 0.35, height - bottom - h - 6, str(count), fill=_INK, weight=600)
        )
        body.append(_text(x + step * 0.35, height - bottom + 18, band, size=11, fill=_INK))
    mark = left + 4 * step
    body.append(_line(mark, top - 8, mark, height - bottom + 4, _INK, 1.5, "5 4"))
    body.append(_text(mark, height - 10, "deadline", size=11, fill=_INK, weight=600))
    return _svg(width, height, body, "First contact against the deadline")


def gauge(
    value: float,
    low: float,
    high: float,
    *,
    label: str,
    colour: str = COLOURS["recovery"],
    width: int = 500,
) -> str:
    """A share (0–100) as a bar on a track with its interval as a whisker."""
    height, left, right, y, h = 92, 12, 12, 34, 22
    span = width - left - right

    def x(v: float) -> float:
        return left + span * max(0.0, min(100.0, v)) / 100

    body = [
        _rect(left, y, span, h, "#f1f3f5", h / 2),
        _rect(left, y, x(value) - left, h, colour, h / 2),
        _line(x(low), y + h / 2, x(high), y + h / 2, _INK, 2),
        _line(x(low), y + 3, x(low), y + h - 3, _INK, 2),
        _line(x(high), y + 3, x(high), y + h - 3, _INK, 2),
        _text(x(value), y - 8, f"{value:.0f}%", size=14, fill=_INK, weight=700),
        _text(left, y + h + 20, "0%", size=11, anchor="start"),
        _text(width - right, y + h + 20, "100%", size=11, anchor="end"),
        _text(width / 2, y + h + 20, f"interval {low:.0f}–{high:.0f}%", size=11),
    ]
    return _svg(width, height, body, label)


def bars(rows: Sequence[tuple[str, float, str]], *, colour: str, width: int = 500) -> str:
    """Vertical bars (``label, value, value text``): spending per period."""
    height = 220
    if not rows:
        return empty(width, height, "nothing to show")
    left, bottom, top = 24, 30, 24
    plot_h = height - top - bottom
    step = (width - 2 * left) / max(len(rows), 4)
    peak = max((r[1] for r in rows), default=0) or 1
    body = [_line(left, height - bottom, width - left, height - bottom, "#adb5bd")]
    every = max(1, math.ceil(len(rows) / 8))
    for i, (label, value, shown) in enumerate(rows):
        h = plot_h * max(0.0, value) / peak
        x = left + i * step + step * 0.18
        body.append(_rect(x, height - bottom - h, step * 0.64, h, colour, 4))
        if step >= 36:  # room for the value over its bar
            body.append(_text(x + step * 0.32, height - bottom - h - 6, shown, size=11, fill=_INK))
        if i % every == 0:
            body.append(_text(x + step * 0.32, height - bottom + 18, label, size=11, fill=_INK))
    return _svg(width, height, body, "Compensation spent per period")


def horizontal_bars(
    rows: Sequence[tuple[str, int]], *, colour: str, width: int = 500, label: str
) -> str:
    """Horizontal bars (``label, count``), longest first: the top root causes."""
    if not rows:
        return empty(width, 120, "no root cause tagged on a closed case")
    left, bar_h, gap, top = 170, 20, 10, 6
    height = top + len(rows) * (bar_h + gap)
    peak = max(n for _, n in rows) or 1
    span = width - left - 48
    body = []
    for i, (name, n) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = span * n / peak
        body.append(_text(left - 10, y + bar_h / 2 + 4, name[:24], anchor="end", fill=_INK))
        body.append(_rect(left, y, w, bar_h, colour, 4))
        body.append(
            _text(left + w + 8, y + bar_h / 2 + 4, str(n), anchor="start", fill=_INK, weight=600)
        )
    return _svg(width, height, body, label)
