"""Add 8 business hours to many instants: loopkit vs businesstimedelta, side by side.

Calendar: Mon-Fri 08:00-17:00 in Europe/Stockholm, with the Swedish public
holidays of 2025-2028 and the de facto days off (Midsummer Eve, Christmas Eve,
New Year's Eve). Instants: uniformly random over 2025-2027 (seeded).

    .venv/bin/python benchmarks/bench_business_time.py            # 200,000 instants
    .venv/bin/python benchmarks/bench_business_time.py --n 2000   # CI smoke run

businesstimedelta is not a loopkit dependency; install it to compare
(``pip install businesstimedelta``). It runs on a sample (``--sample``,
default 5,000) because it is slow. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.easter import easter

from loopkit.businesstime import BusinessCalendar

ZONE = "Europe/Stockholm"
EIGHT_HOURS = timedelta(hours=8)
YEARS = (2025, 2026, 2027, 2028)


def swedish_days_off(year: int) -> list[date]:
    """Public holidays (helgdagar) falling on any day, plus de facto days off."""
    e = easter(year)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    all_saints = next(
        date(year, 10, 31) + timedelta(days=i)
        for i in range(7)
        if (date(year, 10, 31) + timedelta(days=i)).weekday() == 5
    )
    return [
        date(year, 1, 1),
        date(year, 1, 6),
        e - timedelta(days=2),
        e,
        e + timedelta(days=1),  # Good Friday, Easter, Easter Monday
        date(year, 5, 1),
        e + timedelta(days=39),
        e + timedelta(days=49),  # Ascension, Pentecost
        date(year, 6, 6),
        midsummer_eve,
        midsummer_eve + timedelta(days=1),
        all_saints,
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 26),
        date(year, 12, 31),
    ]


def instants(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    lo = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())
    zone = ZoneInfo(ZONE)
    return [datetime.fromtimestamp(rng.randrange(lo, hi), zone) for _ in range(n)]


def timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    runs, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="instants for loopkit")
    parser.add_argument("--sample", type=int, default=5_000, help="instants for businesstimedelta")
    parser.add_argument("--seed", type=int, default=20260520)
    parser.add_argument("--repeat", type=int, default=3, help="loopkit runs (median)")
    args = parser.parse_args()

    print(
        f"Python {sys.version.split()[0]} ({platform.python_implementation()}) on "
        f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"processor: {platform.processor() or 'unknown'}")
    holidays = sorted({d for y in YEARS for d in swedish_days_off(y)})
    starts = instants(args.n, args.seed)
    print(
        f"{args.n:,} random instants in 2025-2027, + 8 business hours, "
        f"Mon-Fri 08-17 {ZONE}, {len(holidays)} days off"
    )
    print()

    t0 = time.perf_counter()
    cal = BusinessCalendar.weekly(
        ZONE,
        **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-17:00"),
        holidays=holidays,
    )
    cal.add(starts[0], EIGHT_HOURS)  # builds the table (cached per calendar)
    build = time.perf_counter() - t0
    add = cal.add
    seconds, ours = timed(lambda: [add(s, EIGHT_HOURS) for s in starts], args.repeat)
    per_op_ours = seconds / args.n
    print(
        f"loopkit            {per_op_ours * 1e6:9.2f} µs/op  "
        f"({seconds:.3f} s for {args.n:,}, median of {args.repeat}; first-call table "
        f"build {build * 1e3:.1f} ms)"
    )

    try:
        import businesstimedelta
        import pytz
    except ImportError:
        print(
            "businesstimedelta   not installed: comparison skipped "
            "(pip install businesstimedelta to run it)"
        )
        return

    tz = pytz.timezone(ZONE)
    rules = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=datetime.min.time().replace(hour=8),
                end_time=datetime.min.time().replace(hour=17),
                working_days=[0, 1, 2, 3, 4],
                tz=tz,
            ),
            businesstimedelta.HolidayRule(holidays, tz=tz),
        ]
    )
    delta = businesstimedelta.BusinessTimeDelta(rules, hours=8)
    k = min(args.sample, args.n)
    sample = starts[:k]
    failures: list[tuple[datetime, str]] = []

    def run_btd() -> list[datetime | None]:
        out: list[datetime | None] = []
        for s in sample:
            try:
                out.append(s + delta)
            except Exception as err:
                out.append(None)
                failures.append((s, type(err).__name__))
        return out

    seconds_btd, theirs = timed(run_btd, 1)
    per_op_btd = seconds_btd / k
    note = "" if k == args.n else f", on the first {k:,} instants only (it is slow)"
    print(
        f"businesstimedelta  {per_op_btd * 1e6:9.2f} µs/op  ({seconds_btd:.3f} s for {k:,}{note})"
    )
    print(
        f"ratio              {per_op_btd / per_op_ours:9.1f}x  (businesstimedelta / loopkit, per op)"
    )
    print()

    disagree = [
        (s, a, b)
        for s, a, b in zip(sample, ours[:k], theirs, strict=True)
        if b is not None and a.astimezone(UTC) != b.astimezone(UTC)
    ]
    print(
        f"businesstimedelta failed on {len(failures)} of {k:,} instants"
        + (f" (first: {failures[0][1]})" if failures else "")
    )
    print(f"disagreements where it did not fail: {len(disagree)} of {k - len(failures):,}")
    for s, a, b in disagree[:5]:
        print(
            f"  start {s.isoformat()}  loopkit {a.isoformat()}  "
            f"businesstimedelta {b.astimezone(ZoneInfo(ZONE)).isoformat()}"
        )


if __name__ == "__main__":
    main()
