"""The PostgreSQL store's layout: its tables, the steps that upgrade an older
one, and creating or upgrading it when a store opens.

Everything lives in one PostgreSQL schema (``loopkit`` unless the host names
another), so several loops can share a database, each in its own schema. The
layout's version is the highest row of the ``loopkit_version`` table; a step
of :data:`MIGRATIONS` takes the layout from version ``n`` to ``n + 1``, and a
later table (a ledger, systemic issues) is one more step. Opening takes a
transaction-level advisory lock, so workers that open one new database at
once create it once.

Times are integer microseconds since the Unix epoch in UTC (``BIGINT``), as in
the SQLite store; every value is the JSON text of its ``to_dict()`` in a
``data`` column, beside the indexed columns queries filter and sort on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from loopkit.errors import ValidationError

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION: Final = 2
"""The layout this loopkit writes; older layouts are upgraded when a store opens."""

_OPEN_LOCK: Final = 0x6C6F6F70  # "loop": the advisory lock that serialises opening

SEQUENCES: Final = ("case", "message", "promise")
"""Sequences the engine counts with, each a PostgreSQL sequence (``nextval``
never waits for another transaction); other names count in the ``sequences``
table."""

_LAYOUT: Final = """
CREATE TABLE {s}.loopkit_version (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE {s}.seq_case;
CREATE SEQUENCE {s}.seq_message;
CREATE SEQUENCE {s}.seq_promise;
CREATE TABLE {s}.sequences (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE {s}.ingests (
    key TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    case_id TEXT,
    ingested_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ingests_by_time ON {s}.ingests (ingested_us, key);
CREATE INDEX ingests_by_customer ON {s}.ingests (customer_id, ingested_us, key);
CREATE TABLE {s}.cases (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    topic TEXT,
    state TEXT NOT NULL,
    opened_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX cases_by_time ON {s}.cases (opened_us, id);
CREATE INDEX cases_by_customer ON {s}.cases (customer_id, opened_us, id);
CREATE UNIQUE INDEX cases_one_unclosed ON {s}.cases (customer_id, topic)
    WHERE state <> 'closed' AND topic IS NOT NULL;
CREATE TABLE {s}.timers (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    due_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX timers_by_due ON {s}.timers (due_us, id);
CREATE INDEX timers_by_case ON {s}.timers (case_id);
CREATE TABLE {s}.messages (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until_us BIGINT,
    data TEXT NOT NULL
);
CREATE INDEX messages_by_time ON {s}.messages (created_us, id);
CREATE INDEX messages_by_case ON {s}.messages (case_id, created_us, id);
CREATE INDEX messages_pending ON {s}.messages (due_us, id) WHERE status = 'pending';
CREATE TABLE {s}.promises (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    made_us BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX promises_by_time ON {s}.promises (made_us, id);
CREATE INDEX promises_by_case ON {s}.promises (case_id, made_us, id);
CREATE INDEX promises_pending ON {s}.promises (due_us, id) WHERE status = 'pending';
CREATE TABLE {s}.customers (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE {s}.customer_locks (
    customer_id TEXT PRIMARY KEY
);
CREATE TABLE {s}.survey_stops (
    customer_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL
);
CREATE TABLE {s}.survey_invitations (
    id BIGSERIAL PRIMARY KEY,
    customer_id TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX survey_invitations_by_customer ON {s}.survey_invitations (customer_id, at_us, id);
"""
"""Version 1: the layout of loopkit's first PostgreSQL store."""

_ERASURE_LEDGER_OUTCOMES: Final = """
CREATE TABLE {s}.erasures (
    id BIGSERIAL PRIMARY KEY,
    customer_id TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX erasures_by_customer ON {s}.erasures (customer_id, id);
CREATE TABLE {s}.ledger_entries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    case_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ledger_entries_by_key ON {s}.ledger_entries (key, seq);
CREATE INDEX ledger_entries_by_case ON {s}.ledger_entries (case_id, seq);
CREATE INDEX ledger_entries_by_customer ON {s}.ledger_entries (customer_id, seq);
CREATE TABLE {s}.ledger_totals (
    budget TEXT NOT NULL,
    period_us BIGINT NOT NULL,
    used NUMERIC NOT NULL,
    reserved NUMERIC NOT NULL,
    PRIMARY KEY (budget, period_us)
);
CREATE TABLE {s}.ledger_open (
    key TEXT PRIMARY KEY,
    expires_us BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ledger_open_by_expiry ON {s}.ledger_open (expires_us, key);
CREATE TABLE {s}.issues (
    cause TEXT PRIMARY KEY,
    first_us BIGINT,
    data TEXT NOT NULL
);
CREATE TABLE {s}.recovery_watches (
    customer_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL
);
"""
"""Version 2: the record of erasures, the compensation ledger (entries in the
order added, each budget period's exact running totals, the reservations still
open) and the outcome tables (systemic issues, recovery watches)."""

MIGRATIONS: Final[dict[int, str]] = {0: _LAYOUT, 1: _ERASURE_LEDGER_OUTCOMES}
"""The script that takes a schema from version ``n`` to ``n + 1`` (``{s}``
stands for the quoted schema name). A new table is a new entry: its
``CREATE TABLE`` statements, applied in the opening transaction."""

_TABLES: Final = frozenset(
    {"ingests", "cases", "timers", "messages", "promises", "customers", "survey_stops"}
)


def open_schema(conn: psycopg.Connection[tuple[object, ...]], schema: str, where: str) -> int:
    """Create or upgrade the layout in ``schema`` to :data:`SCHEMA_VERSION`, in
    one transaction, and return the version found before (0 for a new one).

    Raises :class:`~loopkit.ValidationError` when the schema holds a newer
    layout (upgrade loopkit) or tables that are not loopkit's."""
    from psycopg import sql

    quoted = sql.Identifier(schema).as_string(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_OPEN_LOCK,))
        version = _version(conn, schema)
        if version > SCHEMA_VERSION:
            raise ValidationError(
                f"{schema}.loopkit_version",
                f"a loopkit schema version up to {SCHEMA_VERSION}",
                str(version),
                hint=(
                    "the database was written by a newer loopkit: upgrade loopkit "
                    "(pip install -U 'loopkit[postgres]') to open it"
                ),
                source=where,
            )
        if version == 0:
            found = _tables(conn, schema) & _TABLES
            if found:
                raise ValidationError(
                    "database",
                    f"an empty schema {schema!r} or a loopkit one",
                    f"tables {sorted(found)} without a loopkit schema version",
                    hint="give the store a schema of its own: PostgresStore(dsn, schema='...')",
                    source=where,
                )
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement.replace("{s}", quoted).encode())
            conn.execute(
                f"INSERT INTO {quoted}.loopkit_version (version) VALUES (%s)".encode(), (step + 1,)
            )
    return version


def _version(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    row = conn.execute(
        "SELECT to_regclass(format('%%I.loopkit_version', %s::text)) IS NOT NULL", (schema,)
    ).fetchone()
    if row is None or not row[0]:
        return 0
    from psycopg import sql

    found = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) FROM {}.loopkit_version").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    return 0 if found is None else int(str(found[0]))


def _tables(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchall()
    return {str(row[0]) for row in rows}
