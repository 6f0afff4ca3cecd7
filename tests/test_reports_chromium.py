"""The HTML report, drawn by a real browser: headless Chromium takes a screenshot
and every chart is found on it by its data colour, drawn where a chart should be.

Skips when /usr/bin/chromium is missing, unless LOOPKIT_REQUIRE_CHROMIUM=1 (set
by .ci/run, which installs Debian's chromium): then it fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import zlib
from pathlib import Path
from types import ModuleType

import pytest

from loopkit.reports import render_html
from loopkit.reports.charts import COLOURS, DEADLINE_COLOURS

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1200, 2000


def _load_sample() -> ModuleType:
    path = Path(__file__).with_name("report_sample.py")
    spec = importlib.util.spec_from_file_location("report_sample", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- a tiny PNG decoder (8-bit RGB or RGBA, not interlaced): enough for a screenshot ----


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """``(width, height, bytes per pixel, rows)`` of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                if i >= bpp:
                    row[i] = (row[i] + _paeth(row[i - bpp], prev[i], prev[i - bpp])) & 0xFF
                else:
                    row[i] = (row[i] + prev[i]) & 0xFF
        rows.append(bytes(row))
        prev = row
    return width, height, bpp, rows


def test_the_decoder_reads_a_png_it_wrote_itself() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    pixels = [bytes([10 * x, 20 * y, 30, 255]) for y in range(3) for x in range(4)]
    rows = [b"".join(pixels[y * 4 : y * 4 + 4]) for y in range(3)]
    # rows filtered None, Sub and Up, as an encoder may choose
    sub = bytes([rows[1][0], rows[1][1], rows[1][2], rows[1][3]]) + bytes(
        (rows[1][i] - rows[1][i - 4]) & 0xFF for i in range(4, 16)
    )
    up = bytes((rows[2][i] - rows[1][i]) & 0xFF for i in range(16))
    raw = b"\x00" + rows[0] + b"\x01" + sub + b"\x02" + up
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert decode_png(png) == (4, 3, 4, rows)


# -- the screenshot --------------------------------------------------------------------------


def _rgb(colour: str) -> bytes:
    return bytes.fromhex(colour.lstrip("#"))


def _where(rows: list[bytes], bpp: int, colour: str) -> tuple[int, tuple[int, int, int, int]]:
    """How many pixels have exactly ``colour``, and their bounding box."""
    pattern = _rgb(colour) + (b"\xff" if bpp == 4 else b"")
    count, xs, ys = 0, [], []
    for y, row in enumerate(rows):
        i = row.find(pattern)
        while i >= 0:
            if i % bpp == 0:
                count += 1
                xs.append(i // bpp)
                ys.append(y)
            i = row.find(pattern, i + 1)
    if not count:
        return 0, (0, 0, 0, 0)
    return count, (min(xs), min(ys), max(xs), max(ys))


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[bytes]]:
    if not CHROMIUM.exists():
        if os.environ.get("LOOPKIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LOOPKIT_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing")
        pytest.skip("/usr/bin/chromium is not installed")
    work = tmp_path_factory.mktemp("chromium")
    page, shot = work / "report.html", work / "report.png"
    page.write_text(render_html(_load_sample().full_report()), encoding="utf-8")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        f"--user-data-dir={work / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    width, height, bpp, rows = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    return bpp, rows


CHARTS = {
    "NPS trend band": (COLOURS["band"], 20_000),
    "NPS trend line": (COLOURS["line"], 500),
    "category mix: promoters": (COLOURS["promoter"], 3_000),
    "category mix: passives": (COLOURS["passive"], 1_000),
    "category mix: detractors": (COLOURS["detractor"], 2_000),
    "deadline: well in time": (DEADLINE_COLOURS[0], 1_500),
    "deadline: missed": (DEADLINE_COLOURS[5], 500),
    "recovery rate": (COLOURS["recovery"], 1_500),
    "compensation spent": (COLOURS["spend"], 3_000),
    "root causes": (COLOURS["cause"], 1_500),
}


@pytest.mark.parametrize("chart", list(CHARTS))
def test_each_chart_is_drawn_on_the_screenshot(
    chart: str, screenshot: tuple[int, list[bytes]]
) -> None:
    bpp, rows = screenshot
    colour, at_least = CHARTS[chart]
    count, (x0, y0, x1, y1) = _where(rows, bpp, colour)
    assert count >= at_least, f"{chart}: {count} pixels of {colour}"
    assert x1 - x0 >= 20 and y1 - y0 >= 10, f"{chart}: drawn in a sliver {x0, y0, x1, y1}"
    assert x0 >= 0 and x1 < WIDTH and y1 < HEIGHT


def test_the_charts_stand_where_the_layout_puts_them(screenshot: tuple[int, list[bytes]]) -> None:
    bpp, rows = screenshot
    box = {name: _where(rows, bpp, colour)[1] for name, (colour, _) in CHARTS.items()}
    trend, mix = box["NPS trend band"], box["category mix: promoters"]
    deadline, spend = box["deadline: well in time"], box["compensation spent"]
    assert trend[2] - trend[0] > WIDTH * 0.6  # the trend spans the page
    assert trend[3] < mix[1] and trend[3] < deadline[1]  # the pairs come below it
    assert mix[2] < WIDTH / 2 < deadline[0]  # side by side
    assert box["recovery rate"][2] < WIDTH / 2 < spend[0]
    assert box["root causes"][1] > spend[3]  # the last row
