"""Reports: built from what the store holds, rendered as text, JSON, CSV (no cell a
spreadsheet would run) and one HTML file that loads nothing from outside."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.metrics import NPS, CompensationCost, case_metrics, nps
from loopkit.reports import (
    build_report,
    csv_cell,
    deadline_use,
    render_csv,
    render_html,
    render_json,
    render_text,
    to_dict,
)
from loopkit.testing import make_response


def _load_sample() -> ModuleType:
    path = Path(__file__).with_name("report_sample.py")
    spec = importlib.util.spec_from_file_location("report_sample", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = _load_sample()
FORMULA = ("=", "+", "-", "@", "\t", "\r")

# -- the report value ----------------------------------------------------------------------


def test_the_report_counts_what_the_metrics_count_and_its_trend_adds_up() -> None:
    answers = sample.responses()
    report = sample.full_report()
    nps_scores = [r.score for r in answers if r.scale == loopkit.NPS]
    assert report.nps == nps(nps_scores)
    assert sum((n for _, n in report.nps_trend), NPS()) == report.nps
    assert sum((n for _, n in report.by_touchpoint), NPS()) == report.nps
    assert report.compensation is not None
    assert sum((c for _, c in report.spend_trend), CompensationCost()) == report.compensation
    assert report.cases.opened == 120 and report.deadlines.decided + report.deadlines.waiting == 120
    assert [d.weekday() for d, _ in report.nps_trend] == [0] * len(report.nps_trend)


def test_the_window_filters_answers_cases_and_entries_by_their_own_time() -> None:
    since = sample.START + timedelta(weeks=4)
    until = sample.START + timedelta(weeks=8)
    report = sample.full_report(since=since, until=until, period_kind="month")
    inside = [
        r.score
        for r in sample.responses()
        if r.scale == loopkit.NPS and since <= r.answered_at < until
    ]
    assert report.nps == nps(inside)
    assert report.cases.opened == sum(1 for c in sample.cases() if since <= c.opened_at < until)
    assert all(d.day == 1 for d, _ in report.nps_trend)
    with pytest.raises(loopkit.ValidationError):
        build_report(responses=[], cases=[], now=sample.NOW, since=until, until=since)
    with pytest.raises(loopkit.ValidationError):
        build_report(responses=[], cases=[], now=sample.NOW, timezone="Mars/Olympus")


def test_missing_inputs_are_not_given_and_empty_inputs_are_no_data() -> None:
    report = build_report(responses=[], cases=[], now=sample.NOW)
    data = to_dict(report)
    assert data["recovery"] is None and data["compensation"] is None and data["issues"] is None
    assert data["nps"]["score"] is None and data["nps"]["wald"] is None
    assert data["cases"]["closure_rate"] is None
    text = render_text(report)
    assert "no data" in text and "not given" in text
    for render in (render_csv, render_html, render_json):
        assert render(report)  # every renderer copes with nothing


@given(
    st.lists(
        st.tuples(st.none() | st.integers(0, 60), st.integers(1, 48), st.integers(0, 72)),
        max_size=40,
    ),
    st.integers(0, 40),
)
def test_deadline_use_of_parts_adds_up_and_agrees_with_sla_compliance(
    rows: list[tuple[int | None, int, int]], cut: int
) -> None:
    t = datetime(2026, 11, 2, 9, tzinfo=UTC)
    cases = []
    for i, (reached, due, opened) in enumerate(rows):
        at = t + timedelta(hours=opened)
        case = loopkit.FollowUpCase.open(
            id=f"k-{i}", customer_id=f"c-{i}", at=at, by="loopkit", due_at=at + timedelta(hours=due)
        )
        if reached is not None:
            case = case.contact(at=at + timedelta(hours=reached), by="e")
        cases.append(case)
    now = t + timedelta(days=2)
    whole = deadline_use(cases, now=now)
    assert deadline_use(cases[:cut], now=now) + deadline_use(cases[cut:], now=now) == whole
    metrics = case_metrics(cases, now=now)
    assert (whole.in_time, whole.decided) == (metrics.in_time, metrics.with_deadline)


# -- text and JSON -------------------------------------------------------------------------


def test_text_shows_every_estimate_with_its_interval_and_n() -> None:
    text = render_text(sample.full_report())
    nps_line = next(line for line in text.splitlines() if line.strip().startswith("NPS  "))
    assert re.search(r"[+-]\d+\.\d  \[[+-]\d+\.\d, [+-]\d+\.\d\]  n=540", nps_line)
    assert "recovered     70.0%" in text and "14 of 20 re-surveyed" in text
    assert "5200.00 SEK" in text and "late_delivery" in text


def test_json_is_plain_data_with_numbers_as_numbers() -> None:
    report = sample.full_report()
    data = json.loads(render_json(report))
    assert data == json.loads(json.dumps(to_dict(report)))
    assert data["nps"]["n"] == 540 and isinstance(data["nps"]["score"], float)
    assert data["recovery"]["rate"]["value"] == 70.0
    assert data["compensation"]["spent"] == [{"amount": "5200.00", "currency": "SEK"}]
    assert data["compensation"]["per_recovered"] == [{"amount": "371.43", "currency": "SEK"}]
    assert data["issues"]["opened"] == 3 and data["issues"]["fixed_in_window"] == 1


def test_no_personal_data_reaches_any_rendering() -> None:
    secret = "Anna Svensson, call me on +46701234567"
    answers = [
        make_response(2, id="r-pii-1", customer_id="c-anna-svensson", comment=secret),
        make_response(10, id="r-pii-2", customer_id="c-anna-svensson"),
    ]
    case = loopkit.FollowUpCase.open(
        id="k-pii", customer_id="c-anna-svensson", at=sample.START, by="loopkit"
    ).add_note(secret, at=sample.START, by="emp-7")
    report = build_report(responses=answers, cases=[case], now=sample.NOW)
    for render in (render_text, render_json, render_csv, render_html):
        out = render(report)
        assert "anna" not in out.lower() and "4670" not in out and "r-pii" not in out


# -- CSV -------------------------------------------------------------------------------------


def test_csv_is_rfc_4180_with_crlf_line_ends() -> None:
    report = sample.full_report()
    out = render_csv(report)
    assert out.endswith("\r\n") and "\n" not in out.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["section", "key", "metric", "value", "low", "high", "n"]
    assert all(len(row) == 7 for row in rows)
    promoters = ["nps", "all", "promoters", str(report.nps.promoters), "", "", "540"]
    assert promoters in rows


@given(st.text(max_size=20))
def test_a_cell_never_starts_with_a_formula_character(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA)
    assert cell in (text, "'" + text)


slug = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10), slug, st.integers(0, 60)), max_size=30),
    st.lists(st.sets(slug, max_size=2), max_size=8),
)
def test_csv_output_never_starts_a_cell_with_a_formula_character(
    answers: list[tuple[int, str, int]], causes: list[set[str]]
) -> None:
    t = datetime(2026, 11, 2, 9, tzinfo=UTC)
    responses = [
        make_response(score, id=f"r-{i}", kind=kind, answered_at=t + timedelta(days=day))
        for i, (score, kind, day) in enumerate(answers)
    ]
    cases = [
        loopkit.FollowUpCase.open(id=f"k-{i}", customer_id=f"c-{i}", at=t, by="loopkit")
        .fail(at=t, by="e")
        .close(at=t, by="e", root_causes=tags)
        for i, tags in enumerate(causes)
    ]
    report = build_report(responses=responses, cases=cases, now=t + timedelta(days=90))
    for row in csv.reader(io.StringIO(render_csv(report), newline="")):
        for cell in row:
            assert not cell.startswith(FORMULA), cell


# -- HTML: one file, nothing loaded from outside -----------------------------------------


class _Refs(HTMLParser):
    """Every tag, every attribute that can load something, and the style text."""

    LOADING: ClassVar = {
        "src",
        "href",
        "xlink:href",
        "srcset",
        "poster",
        "data",
        "action",
        "background",
    }

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in self.LOADING:
                self.refs.append(value or "")
            if name == "style":
                self.styles.append(value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _offline_problems(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    problems = [
        f"<{t}>"
        for t in parser.tags
        if t in {"link", "script", "iframe", "img", "object", "embed", "image", "use", "base"}
    ]
    problems += [ref for ref in parser.refs if ref]  # nothing is loaded by attribute at all
    for style in parser.styles:
        problems += re.findall(r"url\s*\(|@import|@font-face", style, re.I)
    problems += re.findall(r"(?:https?:)?//[\w.-]+\.\w", page)
    return problems


def test_the_html_report_is_one_file_that_loads_nothing_from_outside() -> None:
    page = render_html(sample.full_report())
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 6
    assert _offline_problems(page) == []


def test_the_offline_check_catches_what_it_looks_for() -> None:
    for bad in (
        '<link rel="stylesheet" href="https://cdn.example/x.css">',
        '<script src="//cdn.example/x.js"></script>',
        "<style>body{background:url(https://example.com/a.png)}</style>",
        "<style>@import 'x.css';</style>",
        '<img src="http://example.com/pixel.gif">',
        '<svg><image href="https://example.com/a.png"/></svg>',
    ):
        assert _offline_problems(bad), bad


def test_text_from_the_data_is_escaped_in_the_html() -> None:
    t = datetime(2026, 11, 2, 9, tzinfo=UTC)
    case = (
        loopkit.FollowUpCase.open(id="k-1", customer_id="c-1", at=t, by="loopkit")
        .fail(at=t, by="e")
        .close(at=t, by="e", root_causes={"late_delivery"})
    )
    report = build_report(responses=[], cases=[case], now=t, timezone="Europe/Stockholm")
    page = render_html(report)
    assert "late_delivery" in page and "<script" not in page
