"""``loopkit ingest`` on CSV exports: a column mapping, a stated default time
zone, a rejects file with every bad row's line and reason, and every good
row ingested whatever the bad ones hold (bytes that are not UTF-8, missing
cells, a truncated last line, a comment of 100 MB)."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
EXPORT = ROOT / "examples" / "survey-export.csv"
MAPPING = ROOT / "examples" / "survey-mapping.toml"
NOW = "2026-11-20T21:30:00+01:00"
HEADER = [
    "Response ID",
    "Submitted At",
    "Customer",
    "Time zone",
    "Tier",
    "Email",
    "Phone",
    "Score",
    "Comment",
    "Ticket",
    "Touchpoint",
    "Channel",
    "Agent",
]
SECRET = "Anna Secret-Person, anna.secret@example.com"


def _ingest(db: Path, feed: Path | str, *options: str) -> int:
    argv = ["ingest", "--policies", str(POLICIES), "--db", str(db), "--now", NOW]
    return main([*argv, *options, str(feed)])


def _row(n: int, *, comment: str = "", score: int | None = None) -> list[str]:
    """A good row of the export: response R-n, customer c-(n % 40)."""
    return [
        f"R-{n}",
        f"2026-11-{1 + n % 19:02d} {8 + n % 10:02d}:{n % 60:02d}",
        f"c-{n % 40}",
        "Europe/Stockholm" if n % 3 else "",  # empty: the mapping's value
        ("Gold", "Silver", "")[n % 3],
        f"customer{n}@example.com",
        f"+4670{n:07d}",
        str(n % 11 if score is None else score),
        comment,
        f"T-{n}",
        ("Support call", "Web order", "Cancellation")[n % 3],
        ("Phone", "Web")[n % 2],
        f"emp-{n % 7}",
    ]


def _line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode("utf-8")


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _printed_ids(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if re.match(r"R-\d+ ", line)]


def test_the_example_export_goes_in_through_its_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    assert _ingest(db, EXPORT, "--mapping", str(MAPPING)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == (
        f"times without an offset are read as Europe/Stockholm (the mapping {MAPPING})"
    )
    assert lines[1].split() == ["R-5001", "opened", "case-1", "support-detractor-callback"]
    assert lines[2].split() == ["R-5002", "opened", "case-2", "purchase-detractor-email"]
    assert lines[-2] == "5 responses ingested: 3 opened, 2 no_follow_up; 0 replayed, 0 failed"
    assert lines[-1] == "5 times without an offset read as Europe/Stockholm"
    assert not (EXPORT.parent / "survey-export.rejects.csv").exists()
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        records = {r.response_id: r for r in tx.ingests()}
        two = records["R-5002"].response
        assert two is not None and two.comment is not None
        assert two.comment.endswith("wrong size.\nI had ordered a medium.")  # a quoted newline
        five = records["R-5005"].response
        assert five is not None and five.comment == 'Quick and friendly, "as always".'
        assert two.touchpoint is not None
        assert (two.touchpoint.kind, two.touchpoint.channel) == ("purchase", "web")
        assert two.answered_at.isoformat() == "2026-11-20T16:05:00+01:00"
        bo = tx.get_customer("c-bo")
        assert bo is not None and bo.timezone == "Europe/Stockholm"  # the mapping's value
        assert bo.segment == "silver" and [p.channel for p in bo.contact.channels] == ["email"]
        anna = tx.get_customer("c-anna")
        assert anna is not None
        assert [p.channel for p in anna.contact.channels] == ["phone", "email"]


def test_every_good_row_goes_in_and_every_bad_one_is_in_the_rejects_file_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "export.csv"
    huge = 100 * (1 << 20)  # a comment of 100 MB, written and read a piece at a time
    bad: dict[int, str] = {}  # line -> what its reason says
    good: list[str] = []
    line = 1
    with feed.open("wb") as stream:
        stream.write(b"\xef\xbb\xbf" + _line(HEADER))  # a BOM, as Excel writes
        for n in range(1, 1_301):
            line += 1
            if n == 150:  # Latin-1 (an e acute in one byte) in a UTF-8 file
                stream.write(
                    _line(_row(n, comment="Caf\u00e9")).replace("\u00e9".encode(), b"\xe9")
                )
                bad[line] = f"expected UTF-8 text, got an invalid byte at line {line}, column"
                continue
            if n == 400:  # two cells short
                stream.write(_line(_row(n)[:-2]))
                bad[line] = "expected 13 cells, as the header has, got 11"
                continue
            if n == 500:  # a score the scale does not have; the comment is personal
                stream.write(_line(_row(n, score=11, comment=SECRET)))
                bad[line] = "column 'Score' (response.score): expected an integer from 0 to 10"
                continue
            if n == 600:  # a time the clocks skip in Stockholm
                cells = _row(n, comment=SECRET)
                cells[1] = "2026-03-29 02:30"
                stream.write(_line(cells))
                bad[line] = "expected a time that exists in Europe/Stockholm"
                continue
            if n == 700:  # a required cell left empty
                cells = _row(n)
                cells[2] = ""
                stream.write(_line(cells))
                bad[line] = "column 'Customer' (customer.id): expected a value"
                continue
            if n == 800:  # a comment of 100 MB, with line ends and quotes in it
                stream.write(b'R-800,2026-11-20 10:00,c-1,,,,,3,"')
                piece = (b"x" * 1000 + b'\n""quoted""\n') * 1000
                for _ in range(huge // len(piece)):
                    stream.write(piece)
                stream.write(b'",T-800,Support call,Phone,emp-1\n')
                bad[line] = "expected a row of at most 1,048,576 bytes, got a longer one (lines"
                line += 2 * (huge // len(piece)) * 1000
                continue
            if n == 900:  # a comment with line ends: one row over three lines
                stream.write(_line(_row(n, comment='first\nsecond, "quoted"\nthird')))
                good.append(f"R-{n}")
                line += 2
                continue
            stream.write(_line(_row(n, comment="Slow delivery" if n % 5 == 0 else "")))
            good.append(f"R-{n}")
        line += 1
        stream.write(_line(_row(1_301, comment="cut off in the mid")).rstrip(b"\n")[:-20])
        bad[line] = "the file ends inside this row (truncated?)"

    db = tmp_path / "loop.db"
    tracemalloc.start()
    try:
        code = _ingest(db, feed, "--mapping", str(MAPPING), "--timezone", "Europe/Stockholm")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert code == 1
    assert peak < 40 * (1 << 20), f"peak {peak:,} bytes: a row was held whole"
    assert (
        out.splitlines()[0] == "times without an offset are read as Europe/Stockholm (--timezone)"
    )
    assert sorted(_printed_ids(out)) == sorted(good)  # every good row, once
    summary = out.splitlines()[-2]
    assert summary.startswith(f"{len(good)} responses ingested")
    rejects_file = tmp_path / "export.rejects.csv"
    assert summary.endswith(f"; 0 replayed, {len(bad)} failed (rejected rows in {rejects_file})")

    rejected = _rejects(rejects_file)
    assert [int(r["line"]) for r in rejected] == sorted(bad)
    for row in rejected:
        assert bad[int(row["line"])] in row["reason"], row
        assert f"{feed}:{row['line']}: " in err
    assert {r["id"] for r in rejected if r["id"]} == {"R-500", "R-600", "R-700"}
    for text in (err, rejects_file.read_text(encoding="utf-8")):
        assert "Secret" not in text and "example.com" not in text and "xxxx" not in text

    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        assert sorted(r.response_id or "" for r in tx.ingests()) == sorted(good)
        nine = tx.get_ingest("R-900")
        assert nine is not None and nine.response is not None
        assert nine.response.comment == 'first\nsecond, "quoted"\nthird'


def test_without_a_time_zone_a_time_without_an_offset_is_a_rejected_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "export.csv"
    rows = [HEADER, _row(1), _row(2)]
    rows[2][1] = "2026-11-20T15:30:00+01:00"  # this one says its offset
    feed.write_bytes(b"".join(_line(r) for r in rows))
    mapping = tmp_path / "mapping.toml"
    text = MAPPING.read_text(encoding="utf-8")
    mapping.write_text(text.replace('timezone = "Europe/Stockholm"\n', "", 1), "utf-8")
    assert _ingest(tmp_path / "loop.db", feed, "--mapping", str(mapping)) == 1
    out, err = capsys.readouterr()
    assert "without an offset" not in out  # nothing was placed in a zone
    assert _printed_ids(out) == ["R-2"]
    assert err.splitlines() == [
        f"{feed}:2: column 'Submitted At' (response.answered_at): expected a time with an "
        "offset such as +01:00 or Z, got '2026-11-02 09:01' (give --timezone ZONE (or "
        "timezone in the mapping) to read times without one)"
    ]


_PIECES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
_COMMENTS = st.lists(_PIECES | st.sampled_from(['"', ",", "\n", "\r\n", '""', ";"]), max_size=6)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(comments=st.lists(_COMMENTS.map("".join), min_size=1, max_size=8))
def test_any_comment_comes_through_as_written(
    tmp_path_factory: pytest.TempPathFactory, comments: list[str]
) -> None:
    work = tmp_path_factory.mktemp("csv")
    feed = work / "export.csv"
    rows = [_row(n, comment=c) for n, c in enumerate(comments, start=1)]
    feed.write_bytes(b"".join(_line(r) for r in [HEADER, *rows]))
    db = work / "loop.db"
    code = _ingest(db, feed, "--mapping", str(MAPPING), "--format", "csv")
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        stored = {r.response_id: r.response.comment for r in tx.ingests() if r.response}
    expected = {f"R-{n}": (c if c.strip() else None) for n, c in enumerate(comments, start=1)}
    assert code == 0
    assert stored == expected


def test_a_header_that_lacks_a_mapped_column_stops_before_anything_goes_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "export.csv"
    header = [("Scor" if h == "Score" else h) for h in HEADER]
    feed.write_bytes(_line(header) + _line(_row(1)))
    db = tmp_path / "loop.db"
    assert _ingest(db, feed, "--mapping", str(MAPPING)) == 1
    out, err = capsys.readouterr()
    assert "ingested" not in out
    assert err.splitlines() == [
        f"{feed}:1: columns.response.score: expected a column the header has, got 'Score' "
        "(did you mean 'Scor'?)"
    ]


def test_a_mapping_with_mistakes_names_each_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'timezone = "Mars/Olympus"\ndelimiter = ",,"\n[columns]\n'
        '"response.scroe" = "Score"\nresponse.id = 7\n[valeus]\n',
        "utf-8",
    )
    assert _ingest(tmp_path / "loop.db", EXPORT, "--mapping", str(mapping)) == 1
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert f"{mapping}: valeus: expected one of the known keys" in lines[0]
    assert "(did you mean 'values'?)" in lines[0]
    assert any("columns.response.scroe: expected a loopkit field" in m for m in lines)
    assert any("(did you mean 'response.score'?)" in m for m in lines)
    assert any("columns.response.id: expected the name of a column" in m for m in lines)
    assert any(m.startswith(f"{mapping}: delimiter: expected one character") for m in lines)
    assert any(m.startswith(f"{mapping}: timezone: expected an IANA") for m in lines)
    assert len(lines) == 5


def test_columns_named_after_fields_need_no_mapping_and_options_fill_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "answers.tsv"  # tab-separated, from the extension
    feed.write_text(
        "response.id\tresponse.score\tresponse.answered_at\tcustomer.id\tcustomer.contact.sms\n"
        "a-1\t1\t2026-11-20T10:00:00Z\tc-1\t+46700000001\n",
        "utf-8",
    )
    options = ["--value", "response.scale=csat", "--value", "customer.timezone=Europe/Oslo"]
    assert _ingest(tmp_path / "loop.db", feed, *options) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[-1] == "1 response ingested: 1 no_follow_up; 0 replayed, 0 failed"


def test_a_csv_named_jsonl_and_a_jsonl_named_csv_get_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "export.jsonl"
    wrong.write_bytes(EXPORT.read_bytes())
    assert _ingest(tmp_path / "loop.db", wrong) == 2
    _, err = capsys.readouterr()
    assert err == (
        f"loopkit ingest: {wrong}: this looks like CSV, not JSON Lines (line 1 is not a JSON "
        "object but a row of comma-separated cells); use --format csv\n"
    )
    assert _ingest(tmp_path / "loop.db", wrong, "--format", "csv", "--mapping", str(MAPPING)) == 0

    other = tmp_path / "feed.csv"
    other.write_bytes((ROOT / "examples" / "feed.jsonl").read_bytes())
    assert _ingest(tmp_path / "loop.db", other) == 2
    _, err = capsys.readouterr()
    assert "this looks like JSON Lines, not CSV" in err and "use --format jsonl" in err


def test_a_jsonl_feed_takes_the_default_time_zone_too_and_rejects_go_where_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        json.loads(x)
        for x in (ROOT / "examples" / "feed.jsonl").read_text("utf-8").split("\n")
        if x
    ]
    rows[0]["response"]["answered_at"] = "2026-11-20T15:30:00"  # no offset
    rows[1]["response"]["score"] = 99
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    rejects = tmp_path / "elsewhere"
    rejects.mkdir()
    code = _ingest(
        tmp_path / "loop.db",
        feed,
        "--timezone",
        "Europe/Stockholm",
        "--rejects",
        str(rejects / "bad.csv"),
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[-1] == "1 time without an offset read as Europe/Stockholm"
    assert [(r["line"], r["id"]) for r in _rejects(rejects / "bad.csv")] == [("2", "r-102")]
    assert not (tmp_path / "feed.rejects.csv").exists()


def test_a_wrong_time_zone_or_format_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ingest(tmp_path / "loop.db", EXPORT, "--timezone", "Mars/Olympus") == 2
    assert _ingest(tmp_path / "loop.db", EXPORT, "--format", "xlsx") == 2
    assert (
        _ingest(tmp_path / "loop.db", ROOT / "examples" / "feed.jsonl", "--mapping", str(MAPPING))
        == 2
    )
    _, err = capsys.readouterr()
    assert "--timezone: expected an IANA time zone name" in err
    assert "--mapping, --column and --value are for a CSV feed" in err


def test_a_clean_run_removes_the_rejects_file_an_earlier_run_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "export.csv"
    rows = [HEADER, _row(1), _row(2, score=12)]
    feed.write_bytes(b"".join(_line(r) for r in rows))
    db, options = tmp_path / "loop.db", ("--mapping", str(MAPPING))
    assert _ingest(db, feed, *options) == 1
    assert [r["id"] for r in _rejects(tmp_path / "export.rejects.csv")] == ["R-2"]
    rows[2] = _row(2)  # fixed in the export
    feed.write_bytes(b"".join(_line(r) for r in rows))
    assert _ingest(db, feed, *options) == 0
    assert not (tmp_path / "export.rejects.csv").exists()
    mine = tmp_path / "notes.csv"
    mine.write_text("not a rejects file\n", "utf-8")
    assert _ingest(db, feed, *options, "--rejects", str(mine)) == 0
    assert mine.read_text("utf-8") == "not a rejects file\n"  # never touched
    out, _ = capsys.readouterr()
    assert out.splitlines()[-2].endswith("; 2 replayed, 0 failed")


def test_a_csv_export_on_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(EXPORT.read_bytes()), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    options = ("--format", "csv", "--mapping", str(MAPPING))
    assert _ingest(tmp_path / "loop.db", "-", *options) == 0
    assert "5 responses ingested" in capsys.readouterr().out


def test_a_header_that_cannot_be_read_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "export.csv"
    feed.write_bytes(b"Response ID,Sc\xf6re\n" + _line(_row(1)))
    assert _ingest(tmp_path / "loop.db", feed, "--mapping", str(MAPPING)) == 1
    _, err = capsys.readouterr()
    assert err == (
        f"loopkit ingest: {feed}:1: the header cannot be read: expected UTF-8 text, "
        "got an invalid byte at line 1, column 15\n"
    )


def test_a_wrong_column_option_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ("--column", "response.scroe=Score", "--value", "response.scale")
    assert _ingest(tmp_path / "loop.db", EXPORT, *options) == 2
    _, err = capsys.readouterr()
    assert err.startswith("loopkit ingest: --column response.scroe: expected a loopkit field")
    assert "(did you mean 'response.score'?)" in err
    assert "; --value: expected FIELD=TEXT, such as response.score=Score" in err
    assert not (tmp_path / "loop.db").exists()
