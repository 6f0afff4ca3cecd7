"""A corpus of malformed feed lines, made here by mutating good ones: every one is
refused with a typed error naming its field (or its line), none takes a good line
down with it, none raises anything untyped, none hangs.

The same corpus goes through the API (``Response.from_dict``/``Customer.from_dict``,
the constructors, ``Loop.ingest``, ``Loop.ingest_many``) and through ``loopkit
ingest``, with a good line before and after each bad one.
"""

from __future__ import annotations

import copy
import json
import random
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
import pytest

import loopkit
from loopkit.cli import main
from loopkit.testing import FakeClock, make_feed

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies.toml"
PLAYBOOK = loopkit.load_playbook(POLICIES)
NOW = "2026-11-20T21:30:00+01:00"


# -- values that no field takes -----------------------------------------------------


class _Marker:
    """Stands for a value that ``json.dumps`` cannot write (a huge integer, a
    deeply nested list): put in the API payload as the value, in the feed
    line as the literal text."""

    def __init__(self, name: str, value: Callable[[], object], text: str) -> None:
        self.name, self.value, self.text = name, value, text

    def __repr__(self) -> str:
        return self.name


def _summary(out: str) -> str:
    """The summary (the last line), without the note on where rejected rows went."""
    return re.sub(r" \(rejected rows in .*\)$", "", out.splitlines()[-1])


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HUGE = _Marker("HUGE", lambda: 10**5_000 - 1, "9" * 5_000)
NEG_HUGE = _Marker("NEG_HUGE", lambda: 1 - 10**5_000, "-" + "9" * 5_000)
DEEP = _Marker("DEEP", lambda: _deep(3_000), "[" * 500 + "]" * 500)
"""3,000 deep through the API; 500 deep in a feed line (deeper than about 990,
Python's JSON reader gives up: that line is refused as a whole, see LINE_LEVEL)."""
NAN = float("nan")
INF = float("inf")

SURROGATE = "bad\ud800"
NUL = "a\x00b"
LONG = "x" * 100_001
ESC = "\x1b[31mred"
BIDI = "\u202eevil"
NAIVE = "2026-11-20T15:30:00"

COMMON = [3.5, True, [1, 2], {"a": 1}, DEEP, HUGE]
BAD_STRINGS = [SURROGATE, NUL, LONG, ESC, "", "   ", "a\nb"]

# The bad values of each kind of field (every one refused by that kind).
BAD: dict[str, list[object]] = {
    "id": [*COMMON, *BAD_STRINGS],
    "slug": [*COMMON, *BAD_STRINGS, "Upper", BIDI, "x" * 65, "phone\n", "email\r\n"],
    "text": [*COMMON, SURROGATE, NUL, LONG, "\ud800", "\udfff" + "ok"],
    "label": [*COMMON, SURROGATE, NUL, LONG, ""],
    "int": ["7", 7.5, 11, -1, HUGE, NEG_HUGE, DEEP, [], True, NAN, {"a": 1}],
    "instant": [*COMMON, *BAD_STRINGS, NAIVE, "yesterday", "2026-13-45T00:00:00Z"],
    "zone": [*COMMON, *BAD_STRINGS, "Mars/Olympus", "../../etc/passwd"],
    "lang": [*COMMON, *BAD_STRINGS, "a", "sv_SE!"],
    "choice": [*COMMON, *BAD_STRINGS, "weekly"],
    "bool": ["yes", 1, [], {}, HUGE, DEEP, NAN],
    "number": ["abc", [], {}, NAN, INF, DEEP, SURROGATE],
    "window": [*COMMON, SURROGATE, NUL, "25:00-08:00", "20:00-20:00", "x"],
    "scale": [
        "nps2",
        3,
        [],
        {"a": 1},
        HUGE,
        DEEP,
        SURROGATE,
        {
            "name": "big",
            "minimum": NEG_HUGE,
            "maximum": HUGE,
            "detractor": [0, 1],
            "passive": [2, 3],
            "promoter": [4, 5],
        },
    ],
    "attrs": [
        [1],
        "x",
        3,
        HUGE,
        DEEP,
        {"k": [[1]]},
        {"k": {"a": 1}},
        {"\x1b[31m": 1},
        {"k\ud800": 1},
        {"": 1},
        {"x" * 101: 1},
        {"k": NUL},
        {"k": SURROGATE},
        {"k": HUGE},
        {"k": [1, NEG_HUGE]},
        {"k": NAN},
        {"k": INF},
        {"k": DEEP},
        {"k": "x" * 20_000},
        {"k": list(range(1_001))},
        {str(i): i for i in range(201)},
    ],
}

# Every field of a feed line: its place, its kind, and whether it may be left out.
FIELDS: list[tuple[tuple[str | int, ...], str, bool]] = [
    (("response", "id"), "id", True),
    (("response", "customer_id"), "id", True),
    (("response", "score"), "int", True),
    (("response", "comment"), "text", False),
    (("response", "answered_at"), "instant", True),
    (("response", "survey"), "choice", False),
    (("response", "source"), "slug", False),
    (("response", "scale"), "scale", False),
    (("response", "touchpoint", "id"), "id", True),
    (("response", "touchpoint", "kind"), "slug", True),
    (("response", "touchpoint", "channel"), "slug", True),
    (("response", "touchpoint", "occurred_at"), "instant", True),
    (("response", "touchpoint", "employee_id"), "id", False),
    (("response", "touchpoint", "reference"), "id", False),
    (("response", "touchpoint", "attributes"), "attrs", False),
    (("customer", "id"), "id", True),
    (("customer", "timezone"), "zone", True),
    (("customer", "segment"), "label", False),
    (("customer", "region"), "label", False),
    (("customer", "value"), "number", False),
    (("customer", "language"), "lang", False),
    (("customer", "name"), "text", False),
    (("customer", "contact", "channels", 0, "channel"), "slug", True),
    (("customer", "contact", "channels", 0, "address"), "text", True),
    (("customer", "contact", "quiet_hours"), "window", False),
    (("customer", "contact", "surveys_opt_out"), "bool", False),
    (("customer", "attributes"), "attrs", False),
]

UNKNOWN_KEYS = ["colour", ESC, BIDI, "a\nb", "x" * 10_000, "\ud800", "\x00"]
OBJECTS: list[tuple[str | int, ...]] = [
    ("response",),
    ("response", "touchpoint"),
    ("customer",),
    ("customer", "contact"),
    ("customer", "contact", "channels", 0),
]


def dotted(place: tuple[str | int, ...]) -> str:
    """``("customer", "contact", "channels", 0, "address")`` as a field path."""
    out = ""
    for part in place:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@attrs.frozen
class Case:
    """One malformed line: the mutations that made it, and where the error must point."""

    name: str
    changes: tuple[tuple[tuple[str | int, ...], object], ...]  # (place, value or _DELETE)
    paths: tuple[str, ...]


_DELETE = object()


def corpus(seed: int = 7) -> list[Case]:
    cases: list[Case] = []
    singles: list[tuple[tuple[str | int, ...], object, str]] = []
    for place, kind, required in FIELDS:
        for value in BAD[kind]:
            singles.append((place, value, dotted(place)))
        if required:
            singles.append((place, _DELETE, dotted(place)))
    for parent in OBJECTS:
        for key in UNKNOWN_KEYS:
            singles.append(((*parent, key), "surplus", dotted(parent)))
    for place, value, path in singles:
        cases.append(Case(f"{path}={value!r:.40}", ((place, value),), (path,)))
    # Two mistakes on one line: both are reported.
    rng = random.Random(seed)
    by_field = [s for s in singles if s[2] != "response.id" and s[1] is not _DELETE]
    while len(cases) < 700:
        first, second = rng.sample(by_field, 2)
        if first[2] == second[2] or first[0][:-1] == second[0] or second[0][:-1] == first[0]:
            continue
        if first[0][:2] == second[0][:2] and (len(first[0]) > 2) != (len(second[0]) > 2):
            continue  # one replaces the other's parent
        cases.append(
            Case(
                f"{first[2]}+{second[2]}",
                ((first[0], first[1]), (second[0], second[1])),
                (first[2], second[2]),
            )
        )
    return cases


CORPUS = corpus()


def good_rows(n: int) -> list[dict[str, Any]]:
    feed = make_feed(n, start=FakeClock().now(), customers=max(1, n // 3))
    rows = [{"response": r.to_dict(), "customer": c.to_dict()} for r, c in feed]
    for row in rows:  # a name and a comment on every line: personal data to keep out
        row["customer"]["name"] = "Anna Secretsson"
        row["response"]["comment"] = "Secret complaint"
    return rows


def mutate(row: dict[str, Any], case: Case, *, api: bool) -> dict[str, Any]:
    """A copy of ``row`` with the case's changes (markers as values for the API)."""
    out = copy.deepcopy(row)
    for place, value in case.changes:
        target: Any = out
        for part in place[:-1]:
            target = target[part]
        if value is _DELETE:
            del target[place[-1]]
        else:
            target[place[-1]] = _resolve(value) if api else value
    return out


def _resolve(value: object) -> object:
    if isinstance(value, _Marker):
        return value.value()
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def to_line(row: object) -> str:
    """``row`` as one JSON line, markers written as their literal text."""
    markers: dict[str, str] = {}

    def default(value: object) -> object:
        if isinstance(value, _Marker):
            key = f"@@{len(markers)}@@"
            markers[key] = value.text
            return key
        raise TypeError(type(value).__name__)

    text = json.dumps(row, default=default)
    for key, literal in markers.items():
        text = text.replace(f'"{key}"', literal)
    return text


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (never hang) when the block takes longer than ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_pair(row: dict[str, Any]) -> tuple[loopkit.Response, loopkit.Customer]:
    """What a host does with a row: read both halves, every problem of both at once."""
    problems: list[loopkit.Problem] = []
    response = customer = None
    try:
        response = loopkit.Response.from_dict(row.get("response"))
    except loopkit.ValidationError as err:
        problems.extend(err.problems)
    try:
        customer = loopkit.Customer.from_dict(row.get("customer"), "customer")
    except loopkit.ValidationError as err:
        problems.extend(err.problems)
    if problems:
        raise loopkit.ValidationError.of(problems)
    assert response is not None and customer is not None
    return response, customer


def test_the_corpus_is_large_and_every_kind_of_mistake_is_in_it() -> None:
    assert len(CORPUS) >= 500
    values = [value for case in CORPUS for _, value in case.changes]
    for needle in (HUGE, DEEP, SURROGATE, NUL, LONG, ESC, _DELETE, "surplus", NAN):
        assert any(v is needle for v in values), needle


# -- through the API ------------------------------------------------------------------


def test_every_malformed_payload_is_a_typed_error_naming_its_field() -> None:
    good = good_rows(1)[0]
    read_pair(good)  # the unmutated row reads
    for case in CORPUS:
        row = mutate(good, case, api=True)
        with deadline(2.0), pytest.raises(loopkit.ValidationError) as info:
            read_pair(row)  # anything else (untyped, or accepted) fails the test
        paths = [p.path for p in info.value.problems]
        assert all(paths), case.name
        for path in case.paths:
            assert any(p == path or p.startswith((path + ".", path + "[")) for p in paths), (
                case.name,
                paths,
            )
        assert "Secret" not in str(info.value), case.name
        for problem in info.value.problems:  # one line each, safe to print anywhere
            text = str(problem)
            assert "\x1b" not in text and "\u202e" not in text and "\n" not in text, case.name
            assert text.encode("utf-8")  # no lone surrogate


def test_the_constructors_refuse_unstorable_values_by_field() -> None:
    response, customer = make_feed(1, start=FakeClock().now())[0]
    tried = 0
    checks: list[tuple[object, str, list[object]]] = [
        (response, "comment", [SURROGATE, NUL, "\udfff"]),
        (response, "id", [SURROGATE, NUL, ESC]),
        (response, "score", [HUGE.value(), NEG_HUGE.value(), DEEP.value()]),
        (customer, "name", [SURROGATE, NUL]),
        (customer, "attributes", [{"k": HUGE.value()}, {"k": [[1]]}, {"k": SURROGATE}]),
    ]
    for value, field, bads in checks:
        for bad in bads:
            with deadline(2.0), pytest.raises(loopkit.ValidationError) as info:
                attrs.evolve(value, **{field: bad})  # type: ignore[misc]
            assert info.value.path.startswith(f"{type(value).__name__}.{field}")
            tried += 1
    assert tried == 14


def test_ingest_many_answers_every_malformed_item_and_ingests_every_good_one() -> None:
    rows = good_rows(len(CORPUS) + 1)
    loop = loopkit.Loop(PLAYBOOK, store=loopkit.SQLiteStore(), clock=FakeClock())
    items: list[object] = []
    expected_good: list[str] = []
    for i, case in enumerate(CORPUS):  # good, bad, good, bad, ..., good
        response, customer = read_pair(rows[i])
        items.append((response, customer))
        expected_good.append(response.id)
        bad = mutate(rows[i + 1], case, api=True)
        # A host that skipped from_dict: the payload itself goes in as the item.
        items.append((bad["response"], customer) if i % 3 else (response, bad["customer"]))
    last = read_pair(rows[-1])
    items.append(last)
    expected_good.append(last[0].id)
    with deadline(30.0):
        answers = loop.ingest_many(items)  # type: ignore[arg-type]
    assert len(answers) == len(items)
    bad_answers = answers[1::2]
    assert all(isinstance(a.error, loopkit.ValidationError) for a in bad_answers)
    assert all(a.error is not None and a.error.path.startswith("items[") for a in bad_answers)
    assert [a.response_id for a in answers[0::2]] == expected_good
    assert all(a.ok for a in answers[0::2])
    with loop.store.transaction() as tx:
        assert sorted(r.response_id for r in tx.ingests()) == sorted(expected_good)


def test_ingest_and_ingest_many_answer_typed_errors_for_well_formed_but_wrong_items() -> None:
    rows = good_rows(6)
    loop = loopkit.Loop(PLAYBOOK, store=loopkit.SQLiteStore(), clock=FakeClock())
    pairs = [read_pair(row) for row in rows]
    other = loopkit.Customer.from_dict({**rows[0]["customer"], "id": "someone-else"})
    changed = attrs.evolve(pairs[0][0], score=(pairs[0][0].score + 5) % 11)
    items = [
        pairs[0],
        (pairs[1][0], other),  # the customer is not the response's
        pairs[2],
        (pairs[3][0], None),  # no customer and no plugin to find one
        pairs[4],
        (changed, pairs[0][1]),  # the same id with other content
        pairs[5],
    ]
    answers = loop.ingest_many(items)
    assert [a.ok for a in answers] == [True, False, True, False, True, False, True]
    assert isinstance(answers[1].error, loopkit.ValidationError)
    assert answers[1].error.path == "customer.id"
    assert isinstance(answers[3].error, loopkit.UnknownCustomer)
    assert isinstance(answers[5].error, loopkit.ConflictError)
    with pytest.raises(loopkit.ConflictError):
        loop.ingest(changed, customer=pairs[0][1])
    with pytest.raises(loopkit.ValidationError) as info:
        loop.ingest(pairs[1][0], customer=other)
    assert info.value.path == "customer.id"


# -- through loopkit ingest ---------------------------------------------------------------

LINE_LEVEL: list[tuple[str, bytes]] = [
    ("invalid UTF-8", b'{"response": {"id": "r-\xff\xfe"}}'),
    ("a lone continuation byte", b"\x80"),
    ("a NUL byte", b'{"response": \x00 {}}'),
    ("a NUL byte in a string", b'{"response": {"id": "a\x00b"}}'),
    ("not JSON", b"{not json"),
    ("a list", b"[1, 2]"),
    ("a string", b'"Secret Person"'),
    ("null", b"null"),
    ("an empty object", b"{}"),
    ("a BOM in the middle", b"\xef\xbb\xbf{}"),
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("an integer of 5,000 digits", b'{"response": ' + b"9" * 5_000 + b"}"),
    ("a line over 1 MiB", b'{"response": "' + b"x" * (1 << 20) + b'"}'),
    ("a number as response", b'{"response": 1e999, "customer": {}}'),
]


def test_loopkit_ingest_rejects_each_bad_line_by_number_and_keeps_every_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases: list[tuple[str, bytes, tuple[str, ...]]] = [
        (
            case.name,
            to_line(mutate(row, case, api=False)).encode("utf-8", "surrogatepass"),
            case.paths,
        )
        for case, row in zip(CORPUS, good_rows(len(CORPUS)), strict=True)
    ]
    cases += [(name, line, ()) for name, line in LINE_LEVEL]
    rows = good_rows(len(cases) + 1)
    for i, row in enumerate(rows):  # ids no bad line uses
        row["response"]["id"] = f"good-{i}"
    lines: list[bytes] = [b"\xef\xbb\xbf" + to_line(rows[0]).encode()]  # a BOM first: accepted
    bad_lines: dict[int, tuple[str, tuple[str, ...]]] = {}
    for i, (name, line, paths) in enumerate(cases):
        bad_lines[len(lines) + 1] = (name, paths)
        lines.append(line)
        lines.append(to_line(rows[i + 1]).encode())
    truncated = to_line(good_rows(1)[0])[:40].encode()  # the file ends inside a line
    bad_lines[len(lines) + 1] = ("truncated", ())
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n" + truncated)
    db = tmp_path / "loop.db"
    argv = ["ingest", "--policies", str(POLICIES), "--db", str(db), "--now", NOW, str(feed)]

    with deadline(60.0):
        code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1
    good = len(rows)
    assert out.splitlines()[-1].startswith(f"{good} responses ingested")
    assert _summary(out).endswith(f"; 0 replayed, {len(bad_lines)} failed")
    ingested = {line.split()[0] for line in out.splitlines()[:-1]}
    assert ingested == {f"good-{i}" for i in range(good)}
    reported: dict[int, list[str]] = {}
    for line in err.splitlines():
        match = re.fullmatch(rf"{re.escape(str(feed))}:(\d+): (.*)", line)
        assert match, f"not a line-numbered problem: {line[:200]!r}"
        reported.setdefault(int(match[1]), []).append(match[2])
    assert set(reported) == set(bad_lines)
    for number, (name, paths) in bad_lines.items():
        for path in paths:
            assert any(p.startswith(path) for p in reported[number]), (name, reported[number])
    assert "Traceback" not in err and "Secret" not in err and "Secret" not in out
    assert not any(c in err for c in "\x1b\u202e\x00\r"), "unescaped control characters"
    last = reported[max(bad_lines)]
    assert any("truncated" in p for p in last)
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        assert len(tx.ingests()) == good
        cases_before = len(tx.cases())

    with deadline(60.0):  # again: every good line is replayed, nothing doubles
        assert main(argv) == 1
    out, _ = capsys.readouterr()
    assert _summary(out).endswith(f"; {good} replayed, {len(bad_lines)} failed")
    with loopkit.SQLiteStore(db) as store, store.transaction() as tx:
        assert len(tx.ingests()) == good
        assert len(tx.cases()) == cases_before


# -- the limits, at their edges ---------------------------------------------------------------


def test_the_input_limits_hold_at_their_edges() -> None:
    response, customer = make_feed(1, start=FakeClock().now())[0]
    most = 2**63 - 1
    ok_attributes = [
        {str(i): i for i in range(200)},
        {"k" * 100: "x" * 10_000},
        {"k": list(range(1_000))},
        {"big": most, "small": -most - 1, "float": 1e308, "none": None, "yes": True},
        {"text": "tab\tnewline\nemoji 🙂 bidi \u202e"},  # storable; escaped when shown
    ]
    for attributes in ok_attributes:
        assert attrs.evolve(customer, attributes=attributes).attributes == {
            k: tuple(v) if isinstance(v, list) else v for k, v in attributes.items()
        }
    too_much = [
        ({str(i): i for i in range(201)}, "Customer.attributes"),
        ({"k" * 101: 1}, "Customer.attributes"),
        ({"k": "x" * 10_001}, "Customer.attributes.k"),
        ({"k": list(range(1_001))}, "Customer.attributes.k"),
        ({"big": most + 1}, "Customer.attributes.big"),
        ({"small": -most - 2}, "Customer.attributes.small"),
    ]
    for attributes, path in too_much:
        with pytest.raises(loopkit.ValidationError) as info:
            attrs.evolve(customer, attributes=attributes)
        assert info.value.path == path
    comment = "x" * loopkit.MAX_COMMENT_LENGTH
    assert attrs.evolve(response, comment=comment).comment == comment
    with pytest.raises(loopkit.ValidationError) as info:
        attrs.evolve(response, comment="ok \x00 not ok")
    assert info.value.path == "Response.comment"
    assert info.value.got == "a NUL character at position 3 of 11 characters"
    with pytest.raises(loopkit.ValidationError) as info:
        loopkit.Scale(
            name="wide",
            minimum=0,
            maximum=most + 1,
            detractor=(0, 1),
            passive=(2, 3),
            promoter=(4, most + 1),
        )
    assert info.value.path == "Scale.maximum"
    assert "64 bits" in info.value.expected
