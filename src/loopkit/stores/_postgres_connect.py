"""Reaching the PostgreSQL server, and saying what went wrong without a password.

A DSN (``postgresql://user:secret@host/db`` or ``host=… password=…``) may
hold a password; so may libpq's environment. Every message this module makes
names where loopkit tried (host, port, database, user) and never the
password: it is cut out of the server's own text too, in case it was echoed.
"""

from __future__ import annotations

import os
from typing import Any, Final

import psycopg
from psycopg import conninfo, errors

from loopkit.errors import ConcurrentWriteError, StoreConnectionError, ValidationError

_RETRY_STATES: Final = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "23505",  # unique_violation: the same key, written by another worker meanwhile
    }
)


def where(info: dict[str, Any]) -> str:
    """``user@host:port/dbname``, from what is known (libpq's defaults otherwise)."""
    host = info.get("host") or info.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = info.get("port") or os.environ.get("PGPORT") or "5432"
    user = info.get("user") or os.environ.get("PGUSER")
    db = info.get("dbname") or os.environ.get("PGDATABASE") or user or "?"
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def parse_dsn(dsn: str) -> dict[str, Any]:
    """The DSN's parts; a DSN that does not parse is a :class:`~loopkit.ValidationError`
    whose message does not repeat it (it may hold a password)."""
    try:
        return conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ValidationError(
            "dsn",
            "a PostgreSQL connection string such as 'postgresql://user@host:5432/dbname' "
            "or 'host=... dbname=...'",
            f"a text of {len(dsn)} characters that does not parse",
        ) from None


def scrub(text: str, info: dict[str, Any]) -> str:
    """``text`` with every password that may be in it replaced by ``***``."""
    for secret in (info.get("password"), os.environ.get("PGPASSWORD")):
        if secret:
            text = text.replace(str(secret), "***")
    return text


def connect(dsn: str, info: dict[str, Any], timeout: float) -> psycopg.Connection[Any]:
    """A new connection (autocommit: the store says where transactions begin)."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, round(timeout)))
    except psycopg.Error as err:
        reason = scrub(str(err).strip().splitlines()[-1] if str(err).strip() else "", info)
        raise StoreConnectionError(
            f"could not connect to PostgreSQL at {where(info)}: {reason or type(err).__name__}; "
            "check that the server runs and accepts TCP connections there, and the user, "
            "password and database in the DSN (or PGPASSWORD / ~/.pgpass)"
        ) from None


def translate(err: BaseException, info: dict[str, Any]) -> BaseException:
    """The loopkit error a database error means, if it means one (else ``err``):
    a write that collided with another worker's is a
    :class:`~loopkit.ConcurrentWriteError`, a lost server a
    :class:`~loopkit.StoreConnectionError`. The server's detail (it may show
    values) is left out."""
    if not isinstance(err, psycopg.Error):
        return err
    state = err.sqlstate or ""
    if state in _RETRY_STATES:
        diag = err.diag
        what = diag.constraint_name or diag.table_name or type(err).__name__
        return ConcurrentWriteError(
            f"another worker wrote the same rows at the same time ({what}); this transaction "
            "was rolled back whole and may be run again (ingesting is idempotent)"
        )
    if isinstance(err, psycopg.OperationalError) and not isinstance(err, errors.QueryCanceled):
        return StoreConnectionError(
            f"lost the connection to PostgreSQL at {where(info)} ({type(err).__name__}); "
            "the transaction did not commit: run it again when the server is back"
        )
    return err
