"""The SQL of the PostgreSQL store, one statement per name, for one schema.

``{s}`` stands for the quoted schema name; :func:`statements` fills it in once
per store. Parameters always go in as ``%s`` placeholders, never formatted
into SQL. A row read by id to be changed is locked (``FOR UPDATE``) until the
transaction ends, so two workers never both change one case from the same
copy; due work is taken with ``FOR UPDATE SKIP LOCKED``, so workers share it.
"""

from __future__ import annotations

from typing import Final

_TEMPLATES: Final = {
    # sequences
    "next_number": "INSERT INTO {s}.sequences (name, value) VALUES (%s, 1)"
    " ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
    # ingests
    "get_ingest": "SELECT data FROM {s}.ingests WHERE key = %s",
    # A batch locks its customers first, in one order for every worker, so two
    # batches about one customer run one after the other and never deadlock.
    "lock_customers": "INSERT INTO {s}.customer_locks (customer_id)"
    " SELECT DISTINCT c FROM unnest(%s::text[]) c ORDER BY c"
    " ON CONFLICT (customer_id) DO UPDATE SET customer_id = EXCLUDED.customer_id",
    "get_ingests": "SELECT key, data FROM {s}.ingests WHERE key = ANY(%s)",
    "add_ingest": "INSERT INTO {s}.ingests (key, customer_id, case_id, ingested_us, data)"
    " VALUES (%s, %s, %s, %s, %s)",
    "add_ingest_checked": "INSERT INTO {s}.ingests (key, customer_id, case_id, ingested_us, data)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
    "ingests": "SELECT data FROM {s}.ingests ORDER BY ingested_us, key",
    "ingests_of": "SELECT data FROM {s}.ingests WHERE customer_id = %s ORDER BY ingested_us, key",
    # cases
    "get_case": "SELECT data FROM {s}.cases WHERE id = %s FOR UPDATE",
    "save_case": "INSERT INTO {s}.cases (id, customer_id, topic, state, opened_us, data)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
    " customer_id = EXCLUDED.customer_id, topic = EXCLUDED.topic, state = EXCLUDED.state,"
    " opened_us = EXCLUDED.opened_us, data = EXCLUDED.data",
    "find_unclosed_case": "SELECT id, data FROM {s}.cases WHERE customer_id = %s AND topic = %s"
    " AND state <> 'closed' ORDER BY opened_us DESC, id DESC LIMIT 1 FOR UPDATE",
    "batch_cases": "SELECT id, customer_id, topic, state, data FROM {s}.cases"
    " WHERE (customer_id = ANY(%s) AND state <> 'closed')"
    " OR id IN (SELECT case_id FROM {s}.ingests WHERE key = ANY(%s)) FOR UPDATE",
    "cases": "SELECT data FROM {s}.cases ORDER BY opened_us, id",
    "open_case_policies": "SELECT data::jsonb ->> 'policy' AS policy, topic, count(*)"
    " FROM {s}.cases WHERE state <> 'closed' AND data::jsonb ->> 'policy' IS NOT NULL"
    " GROUP BY 1, 2",
    "cases_of": "SELECT data FROM {s}.cases WHERE customer_id = %s ORDER BY opened_us, id",
    # timers
    "add_timer": "INSERT INTO {s}.timers (id, case_id, due_us, data) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (id) DO UPDATE SET case_id = EXCLUDED.case_id, due_us = EXCLUDED.due_us,"
    " data = EXCLUDED.data",
    # A timer is taken with its case, both locked, or passed over while either
    # is locked (another worker fires it, or writes the case): never a wait.
    "due_timers": "SELECT t.data FROM {s}.timers t WHERE t.due_us <= %s AND ("
    " NOT EXISTS (SELECT 1 FROM {s}.cases c WHERE c.id = t.case_id)"
    " OR EXISTS (SELECT 1 FROM {s}.cases c WHERE c.id = t.case_id FOR UPDATE SKIP LOCKED))"
    " ORDER BY t.due_us, t.id LIMIT %s FOR UPDATE SKIP LOCKED",
    "delete_timer": "DELETE FROM {s}.timers WHERE id = %s",
    "delete_timers": "DELETE FROM {s}.timers WHERE case_id = %s",
    "timers": "SELECT data FROM {s}.timers WHERE case_id = %s ORDER BY due_us, id",
    # outbox: saving a message writes the row anew, which releases its claim
    "save_message": "INSERT INTO {s}.messages"
    " (id, case_id, status, created_us, due_us, claimed_by, claimed_until_us, data)"
    " VALUES (%s, %s, %s, %s, %s, NULL, NULL, %s) ON CONFLICT (id) DO UPDATE SET"
    " case_id = EXCLUDED.case_id, status = EXCLUDED.status, created_us = EXCLUDED.created_us,"
    " due_us = EXCLUDED.due_us, claimed_by = NULL, claimed_until_us = NULL, data = EXCLUDED.data",
    "get_message": "SELECT data FROM {s}.messages WHERE id = %s",
    "due_messages": "SELECT data FROM {s}.messages WHERE status = 'pending' AND due_us <= %s"
    " ORDER BY due_us, id LIMIT %s",
    "claim_messages": "UPDATE {s}.messages m SET claimed_by = %(worker)s,"
    " claimed_until_us = %(until)s FROM (SELECT id FROM {s}.messages"
    " WHERE status = 'pending' AND due_us <= %(now)s"
    " AND (claimed_until_us IS NULL OR claimed_until_us <= %(now)s)"
    " ORDER BY due_us, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) due"
    " WHERE m.id = due.id RETURNING m.due_us, m.id, m.data",
    # locked: the worker that still holds its claim writes the message next
    "claimed_by": "SELECT claimed_by FROM {s}.messages WHERE id = %s FOR UPDATE",
    "claims": "SELECT id, claimed_by FROM {s}.messages WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
    "messages": "SELECT data FROM {s}.messages WHERE (%(case)s::text IS NULL OR case_id = %(case)s)"
    " AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY created_us, id",
    # promises
    "save_promise": "INSERT INTO {s}.promises (id, case_id, status, made_us, due_us, data)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
    " case_id = EXCLUDED.case_id, status = EXCLUDED.status, made_us = EXCLUDED.made_us,"
    " due_us = EXCLUDED.due_us, data = EXCLUDED.data",
    "get_promise": "SELECT data FROM {s}.promises WHERE id = %s FOR UPDATE",
    "due_promises": "SELECT data FROM {s}.promises WHERE status = 'pending' AND due_us <= %s"
    " ORDER BY due_us, id LIMIT %s FOR UPDATE SKIP LOCKED",
    "promises": "SELECT data FROM {s}.promises WHERE (%(case)s::text IS NULL OR case_id = %(case)s)"
    " ORDER BY made_us, id",
    # customers
    "save_customer": "INSERT INTO {s}.customers (id, data) VALUES (%s, %s)"
    " ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
    "get_customer": "SELECT data FROM {s}.customers WHERE id = %s",
    # the survey-flow guard
    "set_survey_stop": "INSERT INTO {s}.survey_stops (customer_id, case_id) VALUES (%s, %s)"
    " ON CONFLICT (customer_id) DO UPDATE SET case_id = EXCLUDED.case_id",
    "batch_stops": "SELECT customer_id, case_id FROM {s}.survey_stops WHERE customer_id = ANY(%s)",
    "survey_stop": "SELECT case_id FROM {s}.survey_stops WHERE customer_id = %s",
    "clear_survey_stop": "DELETE FROM {s}.survey_stops WHERE customer_id = %s",
    "add_survey_invitation": "INSERT INTO {s}.survey_invitations (customer_id, at_us, at)"
    " VALUES (%s, %s, %s)",
    "survey_invitations": "SELECT at FROM {s}.survey_invitations WHERE customer_id = %s"
    " ORDER BY at_us, id",
    "stored_ingests": "SELECT key FROM {s}.ingests WHERE key = ANY(%s)",
    # erasure (schema version 2)
    "erase_ingest": "UPDATE {s}.ingests SET data = %s WHERE key = %s",
    "add_erasure": "INSERT INTO {s}.erasures (customer_id, at_us, data) VALUES (%s, %s, %s)",
    "erasures": "SELECT data FROM {s}.erasures ORDER BY id",
    "erasures_of": "SELECT data FROM {s}.erasures WHERE customer_id = %s ORDER BY id",
    # outcomes (schema version 2)
    "get_issue": "SELECT data FROM {s}.issues WHERE cause = %s",
    "save_issue": "INSERT INTO {s}.issues (cause, first_us, data) VALUES (%s, %s, %s)"
    " ON CONFLICT (cause) DO UPDATE SET first_us = EXCLUDED.first_us, data = EXCLUDED.data",
    "issues": "SELECT data FROM {s}.issues ORDER BY first_us IS NOT NULL, first_us, cause",
    "set_recovery_watch": "INSERT INTO {s}.recovery_watches (customer_id, case_id)"
    " VALUES (%s, %s) ON CONFLICT (customer_id) DO UPDATE SET case_id = EXCLUDED.case_id",
    "batch_watches": "SELECT customer_id, case_id FROM {s}.recovery_watches"
    " WHERE customer_id = ANY(%s)",
    "recovery_watch": "SELECT case_id FROM {s}.recovery_watches WHERE customer_id = %s",
    "clear_recovery_watch": "DELETE FROM {s}.recovery_watches WHERE customer_id = %s",
    # the compensation ledger (schema version 2); see _postgres_ledger
    "ledger_ids": "SELECT id FROM {s}.ledger_entries WHERE id = ANY(%s)",
    "add_ledger_entry": "INSERT INTO {s}.ledger_entries (id, key, case_id, customer_id, data)"
    " VALUES (%s, %s, %s, %s, %s)",
    "add_to_totals": "INSERT INTO {s}.ledger_totals (budget, period_us, used, reserved)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (budget, period_us) DO UPDATE SET"
    " used = ledger_totals.used + EXCLUDED.used,"
    " reserved = ledger_totals.reserved + EXCLUDED.reserved",
    "lock_totals": "SELECT used, reserved FROM {s}.ledger_totals"
    " WHERE budget = %s AND period_us = %s FOR UPDATE",
    "zero_totals": "INSERT INTO {s}.ledger_totals (budget, period_us, used, reserved)"
    " VALUES (%s, %s, 0, 0) ON CONFLICT (budget, period_us) DO NOTHING",
    "open_reservation": "INSERT INTO {s}.ledger_open (key, expires_us, data) VALUES (%s, %s, %s)"
    " ON CONFLICT (key) DO UPDATE SET expires_us = EXCLUDED.expires_us, data = EXCLUDED.data",
    "settle_reservation": "DELETE FROM {s}.ledger_open WHERE key = %s",
    # One key's entries are read and written by one transaction at a time: its
    # open reservation's row first (as an expiry takes it), then the key's lock.
    "lock_ledger_key": "WITH r AS MATERIALIZED (SELECT key FROM {s}.ledger_open"
    " WHERE key = %s FOR UPDATE) SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
    " FROM (SELECT count(*) FROM r) AS locked",
    "open_reservations": "SELECT data FROM {s}.ledger_open ORDER BY expires_us, key LIMIT %s",
    # due ones are taken to be expired: one a worker is settling is passed over
    "due_reservations": "SELECT data FROM {s}.ledger_open WHERE expires_us <= %s"
    " ORDER BY expires_us, key LIMIT %s FOR UPDATE SKIP LOCKED",
}


def statements(quoted_schema: str) -> dict[str, bytes]:
    """Every statement with ``{s}`` filled in (as bytes: psycopg sends them as they are)."""
    found = {name: sql.replace("{s}", quoted_schema).encode() for name, sql in _TEMPLATES.items()}
    found["schema"] = quoted_schema.encode()
    return found
