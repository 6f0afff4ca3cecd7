"""Progress on standard error while ``ingest`` and ``run`` read a long feed: a
bar with the rate and the time left on a terminal, a plain line every so many
rows (or seconds) elsewhere, nothing with ``--quiet``, and never anything
from the feed itself."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from loopkit.cli import _progress, main
from loopkit.cli._progress import Progress, estimate_lines

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
EXPORT = ROOT / "examples" / "export.csv"
MAPPING = ROOT / "examples" / "export-mapping.toml"
NOW = "2026-11-20T21:30:00+01:00"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def _feed(tmp_path: Path, n: int) -> Path:
    rows = [json.loads(line) for line in FEED.read_text(encoding="utf-8").splitlines()]
    feed = tmp_path / "feed.jsonl"
    with feed.open("w", encoding="utf-8") as out:
        for i in range(n):
            row = rows[i % len(rows)]
            row["response"]["id"] = f"r-{i}"
            out.write(json.dumps(row) + "\n")
    return feed


def test_the_estimate_of_lines_comes_from_the_size_and_the_first_lines(tmp_path: Path) -> None:
    assert estimate_lines(str(FEED)) == len(FEED.read_bytes().splitlines())  # read whole
    big = _feed(tmp_path, 3000)
    exact = len(big.read_bytes().splitlines())
    guess = estimate_lines(str(big))
    assert guess is not None and abs(guess - exact) <= exact * 0.1
    assert estimate_lines("-") is None
    assert estimate_lines(str(tmp_path / "none")) is None


def test_on_a_terminal_a_bar_with_the_rate_and_the_time_left() -> None:
    screen, clock = _Terminal(), _Clock()
    progress = Progress("loopkit ingest", 1000, stream=screen, clock=clock)
    for line in range(1, 251):
        clock.at += 0.01  # 100 rows a second
        progress.row(line)
    progress.done()
    text = screen.getvalue()
    frames = text.split("\r")[1:]
    assert frames and text.endswith("\n")
    middle = frames[len(frames) // 2]
    rows = int(re.search(r"([\d,]+) rows,", middle).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert f"{rows * 100 // 1000:3d}%" in middle or f"{round(rows / 10):3d}%" in middle
    assert "100 rows/s" in middle
    left = (1000 - rows) / 100  # seconds at 100 rows a second
    assert f"about {round(left)}s left" in middle
    assert "[" + "#" * 24 + "] 100%" in frames[-1]  # done: the bar full


def test_elsewhere_a_line_every_so_many_rows_or_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    log, clock = io.StringIO(), _Clock()
    monkeypatch.setattr(_progress, "EVERY_ROWS", 400)
    progress = Progress("loopkit run", None, stream=log, clock=clock)
    for line in range(1, 1001):
        clock.at += 0.001
        progress.row(line)
    assert log.getvalue().splitlines() == [
        "loopkit run: 400 rows, 1,000 rows/s",
        "loopkit run: 800 rows, 1,000 rows/s",
    ]
    slow, clock = io.StringIO(), _Clock()
    progress = Progress("loopkit run", 1000, stream=slow, clock=clock)  # long: >= 400
    for line in range(1, 301):
        clock.at += 0.0625  # 16 rows a second: past 5 s at each 100th row (checked there)
        progress.row(line)
    short, clock = io.StringIO(), _Clock()
    progress = Progress("loopkit run", 399, stream=short, clock=clock)  # short: < 400
    for line in range(1, 300):
        clock.at += 0.0625
        progress.row(line)
    assert short.getvalue() == ""  # a short feed says nothing, however slow
    assert [line.split(",")[0] for line in slow.getvalue().splitlines()] == [
        "loopkit run: 100 rows",
        "loopkit run: 200 rows",
        "loopkit run: 300 rows",
    ]
    assert "\r" not in slow.getvalue() and "\x1b" not in slow.getvalue()


def test_ingest_and_run_say_how_far_they_are_unless_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_progress, "EVERY_ROWS", 100)
    feed = _feed(tmp_path, 250)
    argv = ["--policies", str(POLICIES), "--now", NOW]
    assert main(["ingest", *argv, "--db", str(tmp_path / "a.db"), str(feed)]) == 0
    err = capsys.readouterr().err
    assert re.findall(r"^loopkit ingest: (\d+) rows", err, re.M) == ["100", "200"]
    assert main(["ingest", *argv, "--db", str(tmp_path / "b.db"), "--quiet", str(feed)]) == 0
    assert capsys.readouterr().err == ""
    run = ["run", str(EXPORT), "--mapping", str(MAPPING), "--policies", str(POLICIES)]
    assert main([*run, "--db", str(tmp_path / "c.db"), "--until", "2026-11-04T00:00+01:00"]) == 0
    out, err = capsys.readouterr()
    assert re.findall(r"^loopkit run: (\d+) rows", err, re.M)[:2] == ["100", "200"]
    for name in ("Anna", "@example.com", "+46"):  # nothing from the feed
        assert name not in err
    assert "rows/s" not in out
