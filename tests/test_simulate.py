"""``loopkit simulate`` and :mod:`loopkit.simulation`: the numbers it reports
checked against calculations written here, independently of loopkit's code
(the example playbook's rules applied by hand, the capacity model as a plain
queue), two playbooks side by side, a CSV export and bad input."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loopkit import load_playbook, simulate
from loopkit.cli import main
from loopkit.simulation import Team, contacts_made
from loopkit.testing import make_customer, make_response

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NPS = {"detractor": range(7), "passive": range(7, 9)}
CSAT = {"detractor": range(1, 3), "passive": range(3, 4)}


def _category(scale: str, score: int) -> str:
    for name, scores in (NPS if scale == "nps" else CSAT).items():
        if score in scores:
            return name
    return "promoter"


def _by_hand(
    category: str,
    kind: str,
    channel: str,
    source: str | None,
    segment: str | None,
    commented: bool,
    employee: str | None,
    consented: set[str],
) -> tuple[str, str, set[str]] | None:
    """examples/policies.toml's policies, in order, read off the file by a
    person: (policy, owner, its channels), or None when none applies."""
    if source == "employee" and channel == "in_person":
        return "complaint-in-person", employee or "-", {"in_person"}
    if category == "detractor" and kind == "support_contact":
        return "support-detractor-callback", employee or "-", {"phone", "email"}
    if kind == "cancellation" and category in ("detractor", "passive"):
        return "offboarding-last-impression", "team:retention", {"phone"}
    if category == "detractor" and kind in ("purchase", "delivery"):
        return "purchase-detractor-email", "team:ecommerce", {"email"}
    if category == "passive" and (segment == "gold" or commented):
        return "passive-ask-what-would-make-it-ten", "team:cx", {"email"}
    return None


def _expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts from rows of plain fields, by hand."""
    owners: dict[str, int] = {}
    policies: dict[str, int] = {}
    days: dict[str, int] = {}
    cases = suppressed = 0
    spent = Decimal(0)
    for row in rows:
        found = _by_hand(
            row["category"], row["kind"], row["channel"], row["source"], row["segment"],
            row["commented"], row["employee"], row["consented"],
        )  # fmt: skip
        if found is None:
            continue
        policy, owner, channels = found
        if "in_person" not in channels and not channels & row["consented"]:
            suppressed += 1
            continue
        cases += 1
        owners[owner] = owners.get(owner, 0) + 1
        policies[policy] = policies.get(policy, 0) + 1
        day = row["answered_at"].astimezone(UTC).date().isoformat()
        days[day] = days.get(day, 0) + 1
        if row["category"] == "detractor":  # the two compensation rules, by hand
            spent += Decimal(300 if row["segment"] == "gold" else 100)
    return {
        "cases": cases,
        "suppressed": suppressed,
        "by_owner": owners,
        "by_policy": policies,
        "by_day": days,
        "spent": {"SEK": str(spent)} if spent else {},
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["simulate", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_the_example_feed_matches_the_playbook_applied_by_hand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed = EXAMPLES / "feed.jsonl"
    rows = []
    for line in feed.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        r, c = data["response"], data["customer"]
        t = r.get("touchpoint") or {}
        rows.append(
            {
                "category": _category(r["scale"], r["score"]),
                "kind": t.get("kind"),
                "channel": t.get("channel"),
                "source": r.get("source"),
                "segment": c.get("segment"),
                "commented": bool(r.get("comment")),
                "employee": t.get("employee_id"),
                "consented": {p["channel"] for p in c.get("contact", {}).get("channels", [])},
                "answered_at": datetime.fromisoformat(r["answered_at"]),
            }
        )
    code, out, _ = _run(capsys, str(feed), "--policies", str(EXAMPLES / "policies.toml"))
    assert code == 0
    [got] = out["playbooks"]
    expected = _expected(rows)
    assert got["answers"] == len(rows)
    for key, value in expected.items():
        assert got[key] == value, key
    assert got["cases"] > 0 and got["suppressed"] > 0  # the example exercises both
    # nobody contacts anyone: a deadline is missed once it falls by the last answer
    last = max(row["answered_at"] for row in rows)
    playbook = load_playbook(EXAMPLES / "policies.toml")
    dues = [
        d.due_at
        for d in (
            playbook.policies.decide(resp, cust, resp.answered_at)
            for resp, cust in _model_rows(feed)
        )
        if d.follow_up and d.due_at is not None
    ]
    assert got["deadlines"] == len(dues)
    assert got["missed"] == sum(1 for due in dues if due <= last)
    assert got["open"] == sum(1 for due in dues if due > last)
    assert got["met"] == 0


def _model_rows(feed: Path) -> list[Any]:
    from loopkit import Customer, Response

    out = []
    for line in feed.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        out.append((Response.from_dict(data["response"]), Customer.from_dict(data["customer"])))
    return out


ROUND_THE_CLOCK = """
version = 1
[calendars.always]
timezone = "UTC"
[calendars.always.hours]
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"
[[policies]]
name = "low"
when = { field = "response.score", le = %(le)d }
channels = ["email"]
owner = "team:cx"
deadline = { within = "%(within)s", calendar = "always" }
escalate = [ { after = "30m", to = "team:leads" } ]
"""


def _playbook(folder: Path, name: str, *, le: int = 6, within: str = "1h") -> Path:
    path = folder / name
    path.write_text(ROUND_THE_CLOCK % {"le": le, "within": within}, encoding="utf-8")
    return path


def _feed(folder: Path, n: int, seed: int) -> tuple[Path, list[tuple[datetime, int]]]:
    rng = random.Random(seed)
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    answers = []
    with (folder / "feed.jsonl").open("w", encoding="utf-8") as out:
        for i in range(n):
            at += timedelta(minutes=rng.choice((0, 5, 10, 20, 45)))
            score = rng.randrange(11)
            answers.append((at, score))
            response = make_response(score=score, id=f"r-{i}", answered_at=at).to_dict()
            customer = make_customer(f"c-{i % 7}").to_dict()
            out.write(json.dumps({"response": response, "customer": customer}) + "\n")
    return folder / "feed.jsonl", answers


def _queue(opened: list[datetime], staff: int, per: timedelta) -> list[datetime]:
    """First come, first served by ``staff`` people, as a plain list."""
    free = [datetime.min.replace(tzinfo=UTC)] * staff
    done = []
    for at in opened:
        who = min(range(staff), key=lambda i: free[i])
        free[who] = max(free[who], at) + per
        done.append(free[who])
    return done


@pytest.mark.parametrize(("staff", "minutes", "seed"), [(1, 30, 1), (2, 45, 2), (3, 20, 3)])
def test_deadlines_met_by_n_people_match_a_plain_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], staff: int, minutes: int, seed: int
) -> None:
    feed, answers = _feed(tmp_path, 60, seed)
    policies = _playbook(tmp_path, "p.toml")
    code, out, _ = _run(
        capsys, str(feed), "--policies", str(policies), "--staff", str(staff),
        "--minutes-per-contact", str(minutes),
    )  # fmt: skip
    assert code == 0
    [got] = out["playbooks"]
    opened = [at for at, score in answers if score <= 6]
    done = _queue(opened, staff, timedelta(minutes=minutes))
    due = [at + timedelta(hours=1) for at in opened]
    assert got["cases"] == got["deadlines"] == len(opened)
    assert got["met"] == sum(1 for d, u in zip(done, due, strict=True) if d <= u)
    assert got["missed"] == len(opened) - got["met"]
    # step 1 comes 30 minutes after the deadline: an escalation when the contact is later
    esc = sum(1 for d, u in zip(done, due, strict=True) if u + timedelta(minutes=30) < d)
    assert got["escalations"] == esc
    assert got["missed"] > 0 or staff > 1


def test_with_nobody_deadlines_and_escalations_count_up_to_the_last_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed, answers = _feed(tmp_path, 80, 9)
    code, out, _ = _run(capsys, str(feed), "--policies", str(_playbook(tmp_path, "p.toml")))
    assert code == 0
    [got] = out["playbooks"]
    last = answers[-1][0]
    opened = [at for at, score in answers if score <= 6]
    assert got["missed"] == sum(1 for at in opened if at + timedelta(hours=1) <= last)
    assert got["open"] == len(opened) - got["missed"]
    assert got["escalations"] == sum(1 for at in opened if at + timedelta(minutes=90) <= last)


def test_two_playbooks_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed, answers = _feed(tmp_path, 50, 4)
    strict = _playbook(tmp_path, "strict.toml", le=3, within="2h")
    broad = _playbook(tmp_path, "broad.toml", le=8)
    code, out, _ = _run(capsys, str(feed), "--policies", str(strict), "--policies", str(broad))
    assert code == 0
    first, second = out["playbooks"]
    assert first["policies"] == str(strict) and second["policies"] == str(broad)
    assert first["cases"] == sum(1 for _, s in answers if s <= 3)
    assert second["cases"] == sum(1 for _, s in answers if s <= 8)
    assert first["answers"] == second["answers"] == len(answers)
    code = main(["simulate", str(feed), "--policies", str(strict), "--policies", str(broad)])
    text = capsys.readouterr().out
    assert code == 0
    assert "strict.toml" in text and "broad.toml" in text
    row = next(line for line in text.splitlines() if line.startswith("cases opened"))
    assert row.split()[-2:] == [str(first["cases"]), str(second["cases"])]


def test_a_csv_export_through_its_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    export, mapping = EXAMPLES / "survey-export.csv", EXAMPLES / "survey-mapping.toml"
    kinds = {"Support call": "support_contact", "Web order": "purchase"}
    kinds["Cancellation"] = "cancellation"
    rows = []
    with export.open(encoding="utf-8", newline="") as stream:
        for cells in csv.DictReader(stream):
            consented = {c for c, col in (("phone", "Phone"), ("email", "Email")) if cells[col]}
            rows.append(
                {
                    "category": _category("nps", int(cells["Score"])),
                    "kind": kinds.get(cells["Touchpoint"], cells["Touchpoint"]),
                    "channel": cells["Channel"].lower(),
                    "source": "email_survey",
                    "segment": cells["Tier"].lower() or None,
                    "commented": bool(cells["Comment"]),
                    "employee": cells["Agent"] or None,
                    "consented": consented,
                    "answered_at": datetime.fromisoformat(cells["Submitted At"]).replace(
                        tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Stockholm")
                    ),
                }
            )
    code, out, err = _run(
        capsys, str(export), "--mapping", str(mapping), "--policies",
        str(EXAMPLES / "policies.toml"),
    )  # fmt: skip
    assert code == 0, err
    [got] = out["playbooks"]
    assert got["answers"] == len(rows)
    for key in ("cases", "suppressed", "by_owner", "by_policy"):
        assert got[key] == _expected(rows)[key], key
    assert "read as Europe/Stockholm" in err  # stated, on stderr: stdout is the JSON


def test_bad_rows_are_named_and_the_rest_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed, answers = _feed(tmp_path, 10, 5)
    lines = feed.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[3])
    bad["response"]["score"] = 11
    lines[3] = json.dumps(bad)
    lines.insert(6, '{"response": ')
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = _run(capsys, str(feed), "--policies", str(_playbook(tmp_path, "p.toml")))
    assert code == 1
    assert out["rows_unread"] == 2
    assert out["playbooks"][0]["answers"] == len(answers) - 1
    assert f"{feed}:4: response.score:" in err
    assert f"{feed}:7: expected one JSON object per line" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--staff", "0"], "--staff"),
        (["--minutes-per-contact", "0"], "--minutes-per-contact"),
        (["--policies", "missing.toml"], "policy file not found"),
    ],
)
def test_bad_command_lines_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    feed, _ = _feed(tmp_path, 3, 6)
    policies = ["--policies", str(_playbook(tmp_path, "p.toml"))]
    code = main(["simulate", str(feed), *(argv if "--policies" in argv else policies + argv)])
    assert code == 2
    assert says in capsys.readouterr().err


def test_three_playbooks_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed, _ = _feed(tmp_path, 3, 7)
    p = str(_playbook(tmp_path, "p.toml"))
    assert main(["simulate", str(feed), "--policies", p, "--policies", p, "--policies", p]) == 2
    assert "two to compare" in capsys.readouterr().err


def test_the_pure_parts() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    done = list(contacts_made([(at, None)] * 5, 2, timedelta(minutes=10)))
    assert done == _queue([at] * 5, 2, timedelta(minutes=10))
    with pytest.raises(Exception, match="staff"):
        Team(0)
    playbook = load_playbook(EXAMPLES / "policies.toml")
    result = simulate([], playbook.policies, playbook.compensation)
    assert (result.answers, result.cases, result.to_dict()["spent"]) == (0, 0, {})
