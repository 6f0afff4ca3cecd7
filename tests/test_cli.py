"""The ``loopkit`` command: check a policy file, ingest a feed, tick, list cases."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit
from loopkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
FEED = ROOT / "examples" / "feed.jsonl"
PACKAGED = Path(loopkit.__file__).resolve().parent / "_demo"
FRIDAY_EVENING = "2026-11-20T21:30:00+01:00"
MONDAY = "2026-11-23T16:00:00+01:00"


def _summary(out: str) -> str:
    """The summary (the last line), without the note on where rejected rows went."""
    return re.sub(r" \(rejected rows in .*\)$", "", out.splitlines()[-1])


def _personal_data() -> set[str]:
    """Every name, address and comment in the example feed."""
    found: set[str] = set()
    for line in FEED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["response"].get("comment"):
            found.add(row["response"]["comment"])
        customer = row["customer"]
        found.add(customer["name"])
        found.update(point["address"] for point in customer["contact"]["channels"])
    return found


def _no_personal_data(*texts: str) -> None:
    for secret in _personal_data():
        for text in texts:
            assert secret not in text


def _ingest(db: Path, feed: Path = FEED, now: str = FRIDAY_EVENING) -> int:
    return main(["ingest", "--policies", str(POLICIES), "--db", str(db), "--now", now, str(feed)])


# -- the bundled example data ------------------------------------------------------


def test_the_packaged_policy_file_is_the_example_one_byte_for_byte() -> None:
    assert (PACKAGED / "policies.toml").read_bytes() == POLICIES.read_bytes()


def test_the_packaged_feed_is_the_example_feed_byte_for_byte() -> None:
    assert (PACKAGED / "feed.jsonl").read_bytes() == FEED.read_bytes()


def test_every_line_of_the_example_feed_reads() -> None:
    lines = FEED.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10
    for line in lines:
        row = json.loads(line)
        response = loopkit.Response.from_dict(row["response"])
        assert loopkit.Customer.from_dict(row["customer"]).id == response.customer_id


# -- check -------------------------------------------------------------------------


def test_check_says_ok_with_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(POLICIES)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{POLICIES}: ok: 5 policies, 2 compensation rules, 2 calendars\n"
    assert err == ""


def test_check_reports_every_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "policies.toml"
    bad.write_text(
        'version = 1\n[[policies]]\nname = "x"\nchanels = ["phone"]\nowner = "team:cx"\n'
        'when.all = [{ field = "response.score", le = "six" }]\n',
        encoding="utf-8",
    )
    assert main(["check", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    # file:line: path: ... (the line of the key, or of its [[policies]] table)
    assert all(re.match(re.escape(str(bad)) + r":\d+: policies\[0\]\.", line) for line in lines)
    assert any("policies[0].channels" in line for line in lines)
    assert any("did you mean 'channels'?" in line for line in lines)
    assert any("policies[0].when.all[0]" in line for line in lines)
    assert "Traceback" not in err


def test_check_of_a_file_that_is_not_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "policies.toml"
    bad.write_text("version = = 1\n", encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:1: ") and "valid TOML" in err
    assert len(err.splitlines()) == 1


def test_a_missing_policy_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no/such/policies.toml"]) == 2
    assert (
        capsys.readouterr().err == "loopkit check: policy file not found: no/such/policies.toml\n"
    )


# -- ingest ------------------------------------------------------------------------


def test_ingest_prints_one_line_per_response_and_no_personal_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ingest(tmp_path / "loop.db") == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert [line.split()[:3] for line in lines[:4]] == [
        ["r-101", "opened", "case-1"],
        ["r-102", "attached", "case-1"],
        ["r-103", "opened", "case-2"],
        ["r-104", "opened", "case-3"],
    ]
    assert lines[0].split()[3] == "support-detractor-callback"
    assert lines[8].split()[:2] == ["r-109", "suppressed"]
    assert lines[-1] == (
        "10 responses ingested: 5 opened, 1 attached, 3 no_follow_up, 1 suppressed; "
        "0 replayed, 0 failed"
    )
    _no_personal_data(out)


def test_ingesting_the_same_feed_again_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    assert _ingest(db) == 0
    first = capsys.readouterr().out.splitlines()
    assert _ingest(db, now=MONDAY) == 0
    again = capsys.readouterr().out.splitlines()
    assert all(line.endswith("(replayed)") for line in again[:-1])
    assert [line.split()[:4] for line in again[:-1]] == [line.split()[:4] for line in first[:-1]]
    assert again[-1].endswith("10 replayed, 0 failed")
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        assert len(tx.cases()) == 5
        assert len(tx.messages()) == 5


def test_a_bad_line_is_reported_by_line_and_path_and_the_others_go_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = FEED.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[2])
    bad["response"]["score"] = 11
    bad["response"]["comment"] = "Secret complaint about Mr Smith"
    bad["customer"]["timezone"] = "Mars/Olympus"
    feed = tmp_path / "feed.jsonl"
    rows = [lines[0], lines[1], json.dumps(bad), "", "{not json", '["Secret Person"]', lines[3]]
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _ingest(tmp_path / "loop.db", feed) == 1
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["r-101", "r-102", "r-104"]
    assert _summary(out).endswith("0 replayed, 3 failed")
    assert f"{feed}:3: response.score: expected an integer from 0 to 10" in err
    assert f"{feed}:3: customer.timezone: expected an IANA time zone name" in err
    assert f"{feed}:5: expected one JSON object per line, got invalid JSON" in err
    assert f"{feed}:6: " in err
    assert "Secret" not in err and "Smith" not in err
    assert "Traceback" not in err


def test_the_same_response_id_with_other_content_is_a_conflict_on_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    assert _ingest(db) == 0
    capsys.readouterr()
    changed = json.loads(FEED.read_text(encoding="utf-8").splitlines()[0])
    changed["response"]["score"] = 2
    feed = tmp_path / "changed.jsonl"
    feed.write_text(json.dumps(changed) + "\n", encoding="utf-8")
    assert _ingest(db, feed) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{feed}:1: response 'r-101' was ingested before with other content")


def test_a_long_feed_goes_in_batches_and_reports_every_line_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [json.loads(line) for line in FEED.read_text(encoding="utf-8").splitlines()]
    lines = []
    for n in range(1, 1_201):  # three batches of lines; ids r-n
        row = json.loads(json.dumps(rows[n % len(rows)]))
        row["response"]["id"] = f"r-{n}"
        lines.append(json.dumps(row))
    lines[2] = "{not json"
    conflict = json.loads(lines[0])
    conflict["response"]["score"] = (conflict["response"]["score"] + 1) % 5 + 1
    lines[699] = json.dumps(conflict)  # line 700: r-1 again, with another score
    lines[700] = lines[0]  # line 701: r-1 again, the same: a replay
    bad = json.loads(lines[1049])
    bad["response"]["score"] = 11
    lines[1049] = json.dumps(bad)
    feed = tmp_path / "long.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _ingest(tmp_path / "loop.db", feed) == 1
    out, err = capsys.readouterr()
    printed = [line.split()[0] for line in out.splitlines()[:-1]]
    expected = [f"r-{n}" for n in range(1, 1_201) if n not in (3, 700, 1_050)]
    expected.insert(expected.index("r-701"), "r-1")
    expected.remove("r-701")
    assert printed == expected
    assert out.splitlines()[700 - 2].endswith("(replayed)")
    assert _summary(out).endswith("; 1 replayed, 3 failed")
    assert [line.split(": ")[0] for line in err.splitlines()] == [
        f"{feed}:3",
        f"{feed}:700",
        f"{feed}:1050",
    ]
    assert f"{feed}:700: response 'r-1' was ingested before with other content" in err
    assert f"{feed}:1050: response.score: expected an integer" in err


def test_ingest_reads_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(FEED.read_text(encoding="utf-8")))
    args = ["ingest", "--policies", str(POLICIES), "--db", str(tmp_path / "loop.db"), "-"]
    assert main(args) == 0
    assert "10 responses ingested" in capsys.readouterr().out


def test_a_now_without_an_offset_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ingest(tmp_path / "loop.db", now="2026-11-20T21:30") == 2
    err = capsys.readouterr().err
    assert "argument --now: expected an ISO 8601 timestamp with an offset" in err
    assert "'2026-11-20T21:30'" in err
    assert not (tmp_path / "loop.db").exists()


def test_a_missing_feed_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ingest(tmp_path / "loop.db", tmp_path / "missing.jsonl") == 2
    err = capsys.readouterr().err
    assert err == f"loopkit ingest: feed file not found: {tmp_path / 'missing.jsonl'}\n"
    assert not (tmp_path / "loop.db").exists()


def test_a_file_that_is_not_a_database_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ingest(POLICIES) == 1  # the policy file given as the database
    err = capsys.readouterr().err
    assert err == f"{POLICIES}: database: expected a SQLite database, got a file of another kind\n"


# -- tick and cases ------------------------------------------------------------------


def test_tick_sends_through_the_console_and_prints_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    assert _ingest(db) == 0
    capsys.readouterr()
    tick = ["tick", "--policies", str(POLICIES), "--db", str(db), "--now"]
    assert main([*tick, FRIDAY_EVENING]) == 0
    assert capsys.readouterr().out == (
        "tick: 0 sent, 0 retried, 0 dead_lettered, 0 warnings, 0 breaches, 0 escalations, "
        "0 broken_promises\n"
    )
    assert main([*tick, MONDAY]) == 0
    out = capsys.readouterr().out
    assert "[phone] follow_up for c-anna (case case-1) to <redacted>" in out
    assert out.splitlines()[-1] == (
        "tick: 5 sent, 0 retried, 0 dead_lettered, 4 warnings, 4 breaches, 2 escalations, "
        "0 broken_promises"
    )
    _no_personal_data(out)
    assert main([*tick, MONDAY]) == 0  # done is done
    assert capsys.readouterr().out.startswith("tick: 0 sent,")


def test_tick_on_a_database_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "typo.db"
    assert main(["tick", "--policies", str(POLICIES), "--db", str(db)]) == 2
    assert capsys.readouterr().err == (
        f"loopkit tick: database not found: {db} (loopkit ingest creates it)\n"
    )
    assert not db.exists()


def test_cases_lists_every_case_or_one_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "loop.db"
    assert _ingest(db) == 0
    capsys.readouterr()
    assert main(["cases", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["CASE", "STATE", "LEVEL", "OWNER", "DUE", "POLICY", "CUSTOMER"]
    assert lines[1].split() == [
        "case-1",
        "open",
        "0",
        "emp-7",
        "2026-11-23T11:30+01:00",
        "support-detractor-callback",
        "c-anna",
    ]
    assert lines[-1] == "5 cases"
    assert main(["cases", "--db", str(db), "--customer", "c-bo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["CASE", "case-2", "1"]


# -- the command line itself ----------------------------------------------------------


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: loopkit" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"loopkit {loopkit.__version__}\n"


# -- demo: tests/test_cli_demo.py ------------------------------------------------------


# -- feeds with broken lines, and what is echoed ---------------------------------------


BAD_BYTE = bytes([0xFF])
NUL_BYTE = bytes([0])


def _rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in FEED.read_text(encoding="utf-8").splitlines()]


def _numbered_lines(n: int) -> list[bytes]:
    """``n`` good feed lines with ids r-1 ... r-n."""
    rows = _rows()
    lines = []
    for i in range(1, n + 1):
        row = json.loads(json.dumps(rows[i % len(rows)]))
        row["response"]["id"] = f"r-{i}"
        lines.append(json.dumps(row).encode())
    return lines


def test_a_bad_byte_and_a_truncated_last_line_lose_no_good_line_and_replay_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _numbered_lines(405)
    lines[400] = lines[400].replace(b"sms_survey", b"sms_\xff_survey")  # line 401: not UTF-8
    lines[404] = lines[404][:60]  # line 405, the last: the file ends inside it
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines))  # no line end after the truncated line
    db = tmp_path / "loop.db"
    assert _ingest(db, feed) == 1
    out, err = capsys.readouterr()
    printed = [line.split()[0] for line in out.splitlines()[:-1]]
    assert printed == [f"r-{i}" for i in range(1, 405) if i != 401]
    assert out.splitlines()[-1].startswith("403 responses ingested")
    assert _summary(out).endswith("; 0 replayed, 2 failed")
    first, last = err.splitlines()
    assert first == (
        f"{feed}:401: expected UTF-8 text, got an invalid byte at column "
        f"{lines[400].index(BAD_BYTE) + 1}"
    )
    assert last.startswith(f"{feed}:405: expected one JSON object per line, got invalid JSON (")
    assert last.endswith("); the file ends inside this line (truncated?)")
    assert _ingest(db, feed) == 1  # again: a replay, no duplicates
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].startswith("403 responses ingested")
    assert _summary(out).endswith("; 403 replayed, 2 failed")
    assert len(err.splitlines()) == 2
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        assert len(tx.ingests()) == 403
        assert len({case.customer_id for case in tx.cases()}) == len(tx.cases())


def test_a_bom_nul_bytes_and_over_long_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _numbered_lines(4)
    lines[0] = b"\xef\xbb\xbf" + lines[0]  # a BOM at the start of the file: accepted
    lines[1] = lines[1].replace(b'"r-2"', b'"r-\x002"')  # a NUL byte
    lines[2] = b'{"response": "' + b"x" * (2 << 20) + b'"}'  # over 1 MiB
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert _ingest(tmp_path / "loop.db", feed) == 1
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["r-1", "r-4"]
    assert err.splitlines() == [
        f"{feed}:2: expected one JSON object per line, got a NUL byte at column "
        f"{lines[1].index(NUL_BYTE) + 1}",
        f"{feed}:3: expected a line of at most 1,048,576 bytes, got a longer one",
    ]


def test_a_number_too_long_for_python_is_refused_by_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _numbered_lines(2)
    lines[0] = re.sub(rb'"score": \d+', b'"score": ' + b"9" * 5_000, lines[0])
    deep = b"[" * 3_000 + b"]" * 3_000
    lines.insert(1, b'{"response": ' + deep + b"}")
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    assert _ingest(tmp_path / "loop.db", feed) == 1
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["r-2"]
    assert err.splitlines() == [
        f"{feed}:1: response.score: expected an integer, got an integer of 5,000 digits",
        f"{feed}:2: expected one JSON object per line, got JSON nested too deeply to read",
    ]


def test_what_is_echoed_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows()
    first = json.loads(json.dumps(rows[0]))
    first["response"]["\x1b[2J\x1b[31mred"] = 1  # unknown keys: ANSI, newline, bidi
    first["response"]["touchpoint"]["a\nb"] = 1
    first["customer"]["\u202eevil"] = 1
    second = json.loads(json.dumps(rows[1]))
    second["response"]["id"] = "r-\u202e201"  # an id may hold a bidi override
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n", encoding="utf-8")
    assert _ingest(tmp_path / "loop.db", feed) == 1
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "\x1b" not in text and "\u202e" not in text
    assert len(err.splitlines()) == 3  # one line per problem, none split by a newline
    # A key that is not a plain name may be personal data: it is described, not shown.
    assert f"{feed}:1: response.<a str key of 12 characters>: expected one of the known" in err
    assert f"{feed}:1: response.touchpoint.<a str key of 3 characters>: expected one of" in err
    assert f"{feed}:1: customer.<a str key of 5 characters>: expected one of the known" in err
    assert out.splitlines()[0].startswith("r-\\u202e201 ")


def _display_width(text: str) -> int:
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def test_the_cases_table_stays_aligned_for_ids_with_spaces_and_wide_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows()
    owners = ["emp 7", "社員-7", "emp-\u202e7"]
    lines = []
    for i, owner in enumerate(owners):
        row = json.loads(json.dumps(rows[0]))  # opens a case owned by its employee
        row["response"]["id"] = f"r-{i}"
        row["response"]["customer_id"] = row["customer"]["id"] = f"c {i}"
        row["response"]["touchpoint"]["employee_id"] = owner
        lines.append(json.dumps(row))
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "loop.db"
    assert _ingest(db, feed) == 0
    capsys.readouterr()
    assert main(["cases", "--db", str(db)]) == 0
    table = capsys.readouterr().out.splitlines()[:-1]
    assert len(table) == 4
    header = table[0]
    for column in ("STATE", "OWNER", "DUE", "POLICY", "CUSTOMER"):
        start = header.index(column)
        for line in table[1:]:  # every column starts at the same terminal column
            cut = next(i for i in range(len(line)) if _display_width(line[:i]) >= start)
            assert _display_width(line[:cut]) == start and line[cut - 2 : cut] == "  ", line
            assert line[cut] != " "
    assert [line.split("  ")[0] for line in table[1:]] == ["case-1", "case-2", "case-3"]
    assert '"emp 7"' in table[1] and "社員-7" in table[2] and "emp-\\u202e7" in table[3]
    assert table[1].endswith('"c 0"')


def test_cases_as_csv_never_hands_a_spreadsheet_a_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    rows = _rows()
    ids = ['=HYPERLINK("http://x","y")', "+1", "-1", "+SUM(A1)", "c-plain"]
    lines = []
    for i, customer_id in enumerate(ids):
        row = json.loads(json.dumps(rows[0]))
        row["response"]["id"] = f"r-{i}"
        row["response"]["customer_id"] = row["customer"]["id"] = customer_id
        row["response"]["touchpoint"]["employee_id"] = "=1+1" if i == 0 else "emp-7"
        lines.append(json.dumps(row))
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "loop.db"
    assert _ingest(db, feed) == 0
    capsys.readouterr()
    assert main(["cases", "--db", str(db), "--csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["CASE", "STATE", "LEVEL", "OWNER", "DUE", "POLICY", "CUSTOMER"]
    assert [row[6] for row in table[1:]] == [
        '\'=HYPERLINK("http://x","y")',
        "'+1",
        "'-1",
        "'+SUM(A1)",
        "c-plain",
    ]
    assert table[1][3] == "'=1+1" and table[2][3] == "emp-7"
    for row in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_a_usage_error_echoes_the_command_line_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cases", "--db", "x.db", "--\x1b[2Jnope\u202e"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err
    assert "unrecognized arguments: --\\x1b[2Jnope\\u202e" in err


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None), max_size=40))
def test_escaped_text_is_one_printable_line_and_csv_cells_are_never_formulas(text: str) -> None:
    from loopkit.cli import _csv_cell, _for_terminal

    shown = _for_terminal(text)
    assert shown.isprintable()  # no control, newline, bidi override or surrogate left
    shown.encode("utf-8")  # raises on a lone surrogate
    if text.isprintable():
        assert shown == text  # printable text is shown as it is
    cell = _csv_cell(text)
    assert cell.isprintable()
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@"))


def test_a_reader_that_goes_away_early_gets_no_traceback() -> None:
    export, mapping = ROOT / "examples" / "export.csv", ROOT / "examples" / "export-mapping.toml"
    command = [sys.executable, "-m", "loopkit", "explain", "--policies", str(POLICIES)]
    with subprocess.Popen(
        [*command, str(export), "--mapping", str(mapping)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as explain:
        assert explain.stdout is not None and explain.stdout.readline().startswith(b"times")
        explain.stdout.close()  # as `| head -1` does
        _, err = explain.communicate(timeout=120)
    assert explain.returncode == 1 and b"Traceback" not in err
