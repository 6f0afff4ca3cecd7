"""Reports people would rather look at: every metric loopkit keeps, over a window
of time, as text for the terminal, JSON, CSV and one self-contained HTML file.

Pure: a :class:`Report` is built from iterables (responses, cases and, when the
host has them, ledger entries, recovery outcomes and systemic issues) and
rendered to a string; writing it anywhere is the caller's business. A report
holds counts only, never personal data. See ``docs/howto-reports.md``.

>>> from datetime import datetime, timezone
>>> from loopkit.testing import make_response
>>> report = build_report(responses=[make_response(9), make_response(10, id="r-2")],
...                       cases=[], now=datetime(2026, 12, 1, tzinfo=timezone.utc))
>>> render_text(report).splitlines()[5]
'  NPS           +100.0  [-24.4, +100.0]  n=2'
"""

from .data import csv_cell, render_csv, render_json, to_dict
from .deadlines import BANDS, DeadlineUse, deadline_use
from .html import render_html
from .report import Report, build_report
from .text import render_text

__all__ = [
    "BANDS",
    "DeadlineUse",
    "Report",
    "build_report",
    "csv_cell",
    "deadline_use",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "to_dict",
]
