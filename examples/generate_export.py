"""Write examples/export.csv: seven weeks of survey answers as a survey tool
exports them (synthetic, the same bytes on every run).

    python examples/generate_export.py [OUT.csv]

A Swedish retailer with shops, a web shop and a support centre asks its
customers "how likely are you to recommend us?" (0-10) after a support call,
a chat, a web order, a delivery, a shop visit and a cancellation. The
customers live in Sweden, Finland, Norway, the United Kingdom, the United
States and Japan (and are contacted in their own day, outside their quiet
hours); fewer answer on weekends and on the holidays of the support
calendar (Christmas, New Year's Eve). Some unhappy customers answer again
about three weeks later (the re-survey after their case was closed).
Names, addresses and comments are invented; the times are Stockholm time
without an offset, as many tools write them (the mapping says so).
Read with examples/export-mapping.toml; ``loopkit demo`` runs the loop on it.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

SEED = 20261102
FIRST_DAY = date(2026, 11, 2)  # a Monday
DAYS = 56  # eight weeks: to Sunday 27 December
HOLIDAYS = {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)}
PER_DAY = 52  # answers on an ordinary weekday

HEADER = [
    "Response ID",
    "Submitted At",
    "Customer",
    "Name",
    "Time zone",
    "Language",
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

ZONES = (  # (zone, language, phone prefix, weight)
    ("Europe/Stockholm", "sv-SE", "+4670", 70),
    ("Europe/Helsinki", "fi-FI", "+35840", 8),
    ("Europe/Oslo", "nb-NO", "+4791", 7),
    ("Europe/London", "en-GB", "+447700", 7),
    ("America/New_York", "en-US", "+1212555", 5),
    ("Asia/Tokyo", "ja-JP", "+8190", 3),
)
FIRST = [
    "Anna",
    "Bo",
    "Cecilia",
    "David",
    "Eva",
    "Filip",
    "Greta",
    "Hugo",
    "Ida",
    "Johan",
    "Karin",
    "Lars",
    "Maja",
    "Nils",
    "Olivia",
    "Per",
    "Rut",
    "Sven",
    "Tove",
    "Ulf",
    "Vera",
    "Wilma",
    "Aino",
    "Mikko",
    "Ingrid",
    "Ola",
    "Emily",
    "James",
    "Sarah",
    "Yuki",
    "Kenji",
]
LAST = [
    "Andersson",
    "Berg",
    "Carlsson",
    "Dahl",
    "Ek",
    "Forsberg",
    "Gustafsson",
    "Holm",
    "Isaksson",
    "Johansson",
    "Karlsson",
    "Lind",
    "Magnusson",
    "Nilsson",
    "Olsson",
    "Persson",
    "Sandberg",
    "Virtanen",
    "Hansen",
    "Smith",
    "Brown",
    "Tanaka",
]

# kind: (export word, channels (word, weight), agents, weight, score weights 0..10)
KINDS = {
    "support_contact": (
        "Support call",
        (("Phone", 6), ("Chat", 3), ("Email", 1)),
        tuple(f"emp-{n}" for n in range(1, 13)),
        34,
        (4, 2, 3, 4, 4, 5, 6, 10, 14, 16, 14),
    ),
    "purchase": ("Web order", (("Web", 1),), (), 24, (1, 1, 1, 2, 2, 3, 5, 10, 16, 25, 30)),
    "delivery": ("Delivery", (("Web", 1),), (), 18, (3, 2, 3, 3, 4, 5, 6, 10, 15, 18, 18)),
    "store_visit": (
        "Shop visit",
        (("In store", 1),),
        ("clerk-17", "clerk-21", "clerk-22", "clerk-30"),
        20,
        (1, 1, 1, 1, 2, 3, 5, 10, 18, 26, 30),
    ),
    "cancellation": (
        "Cancellation",
        (("Phone", 1),),
        ("emp-40", "emp-41"),
        4,
        (10, 6, 7, 8, 8, 10, 10, 10, 8, 6, 4),
    ),
}
COMMENTS = {
    "support_contact": (
        "I was promised a call back and nobody called.",
        "Forty minutes in the queue.",
        "The agent did not understand the problem.",
        "My invoice is still wrong after two calls.",
        "Helpful, but it took three tries.",
    ),
    "purchase": (
        "The discount code did not work at checkout.",
        "Hard to find the right size.",
        "The campaign price was not applied.",
    ),
    "delivery": (
        "The parcel came four days late.",
        "The box was crushed.",
        "Wrong item in the parcel.",
        "Nobody told me the delivery was delayed.",
    ),
    "store_visit": (
        "Long queue at the till.",
        "The offer from the e-mail was not valid in my shop.",
        "Nobody could help me find anything.",
    ),
    "cancellation": (
        "Too expensive since the price went up.",
        "Moving abroad.",
        "The app never worked for me.",
    ),
}


def _customers(rng: random.Random, n: int) -> list[dict[str, str]]:
    zones = [z for z in ZONES for _ in range(z[3])]
    found = []
    for i in range(1, n + 1):
        zone, language, prefix, _ = rng.choice(zones)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        tier = rng.choices(("Gold", "Silver", "Bronze"), (15, 35, 50))[0]
        found.append(
            {
                "id": f"c-{i:04d}",
                "name": f"{first} {last}",
                "zone": zone,
                "language": language,
                "tier": tier,
                "email": f"{first}.{last}{i}@example.com".lower(),
                # one in four gave no phone number
                "phone": "" if rng.random() < 0.25 else f"{prefix}{rng.randrange(10**6):06d}",
            }
        )
    return found


def _when(rng: random.Random, day: date) -> datetime:
    """A touchpoint's time on ``day``, Stockholm wall time, mostly in the day."""
    minute = int(rng.triangular(7 * 60, 21 * 60, 13 * 60))
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minute)


def rows(seed: int = SEED) -> list[list[str]]:
    """The export's rows (without the header), in the order they were answered."""
    rng = random.Random(seed)
    customers = _customers(rng, 1900)
    kinds = [k for k, spec in KINDS.items() for _ in range(spec[3])]
    answers: list[tuple[datetime, list[str]]] = []
    later: list[tuple[dict[str, str], date]] = []  # detractors who may answer again
    ticket = 10_000
    for d in range(DAYS):
        day = FIRST_DAY + timedelta(days=d)
        volume = PER_DAY * (0.55 if day.weekday() >= 5 else 1.0)
        volume *= 0.3 if day in HOLIDAYS else 1.0
        for _ in range(round(rng.gauss(volume, volume * 0.1))):
            kind = rng.choice(kinds)
            word, channels, agents, _, weights = KINDS[kind]
            if kind == "store_visit" and (day.weekday() == 6 or day in HOLIDAYS):
                kind, (word, channels, agents, _, weights) = "purchase", KINDS["purchase"]
            channel = rng.choices([c for c, _ in channels], [w for _, w in channels])[0]
            customer = rng.choice(customers)
            score = rng.choices(range(11), weights)[0]
            occurred = _when(rng, day)
            answered = occurred + timedelta(minutes=int(rng.expovariate(1 / 90)) + 3)
            comment = ""
            if score <= 8 and rng.random() < 0.45:
                comment = rng.choice(COMMENTS[kind])
            ticket += 1
            agent = rng.choice(agents) if agents else ""
            answers.append((answered, _row(customer, score, comment, ticket, word, channel, agent)))
            if score <= 6 and kind in ("support_contact", "store_visit") and rng.random() < 0.4:
                later.append((customer, answered.date()))
    for customer, day in later:  # the re-survey's answer, three weeks or so later
        answered = _when(rng, day + timedelta(days=rng.randrange(16, 23)))
        if answered.date() >= FIRST_DAY + timedelta(days=DAYS):
            continue
        score = rng.choices(range(11), (2, 1, 2, 3, 3, 4, 6, 10, 14, 14, 12))[0]
        ticket += 1
        answers.append((answered, _row(customer, score, "", ticket, "Re-survey", "Email", "")))
    answers.sort(key=lambda pair: (pair[0], pair[1][2]))
    numbered = []
    for n, (answered, row) in enumerate(answers, start=1):
        numbered.append([f"R-{n:05d}", answered.strftime("%Y-%m-%d %H:%M"), *row])
    return numbered


def _row(
    customer: dict[str, str],
    score: int,
    comment: str,
    ticket: int,
    kind: str,
    channel: str,
    agent: str,
) -> list[str]:
    return [
        customer["id"],
        customer["name"],
        customer["zone"],
        customer["language"],
        customer["tier"],
        customer["email"],
        customer["phone"],
        str(score),
        comment,
        f"T-{ticket}",
        kind,
        channel,
        agent,
    ]


def write(path: Path) -> int:
    """Write the export to ``path``; the number of rows."""
    found = rows()
    with path.open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file, lineterminator="\n")
        out.writerow(HEADER)
        out.writerows(found)
    return len(found)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("export.csv")
    print(f"{target}: {write(target)} answers")
