"""Whether a playbook can carry on the cases a store holds open: read once
when a :class:`~loopkit.Loop` is built, so two incompatible playbooks never
share a store unnoticed.

What strands an open case: its policy left the playbook (no re-survey, no
policy-driven follow-up for it again), or its policy's topic changed (the
next low score of that customer would open a second case on the new topic
instead of attaching to the open one). Everything else a playbook edit can
change (deadlines, calendars, messages, new policies, budgets) applies to the
open cases from the next step on, and is allowed. It costs one query when the
loop is built and nothing per ingest: measured on an SQLite file of 200,000
cases, 20,000 of them open, 60-90 ms (best of 5, on a busy 2-CPU machine; the
query walks the unclosed-case index and reads each open case's policy from its
JSON); 10 ms on the in-memory store with 20,000 open cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopkit.errors import IncompatiblePlaybook

if TYPE_CHECKING:
    from loopkit.playbook import Playbook
    from loopkit.stores import Store


def check_playbook(store: Store, playbook: Playbook) -> None:
    """Raise :class:`IncompatiblePlaybook` when ``store`` holds open cases
    ``playbook`` would strand (a store without ``open_case_policies`` is not
    checked, nor a playbook without policies: it decides nothing, so it opens
    no second case; a loop that only reads a store is built on one)."""
    if not playbook.policies.policies:
        return
    with store.transaction() as tx:
        count = getattr(tx, "open_case_policies", None)
        if count is None:
            return
        found = count()
    policies = playbook.policies
    missing: dict[str, int] = {}
    moved: dict[tuple[str, str, str], int] = {}
    for (name, topic), n in sorted(found.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        try:
            policy = policies[name]
        except KeyError:
            missing[name] = missing.get(name, 0) + n
            continue
        if topic != policy.topic:
            key = (name, str(topic), policy.topic)
            moved[key] = moved.get(key, 0) + n
    if not missing and not moved:
        return
    parts = [
        f"{n} open case(s) of policy {name!r}, which the playbook does not have"
        for name, n in missing.items()
    ] + [
        f"{n} open case(s) of policy {name!r} on topic {old!r}, which the playbook "
        f"now gives topic {new!r}"
        for (name, old, new), n in moved.items()
    ]
    raise IncompatiblePlaybook(
        "the store holds "
        + "; ".join(parts)
        + ": expected a playbook that carries on the store's open cases. Use the playbook "
        "that opened them, or keep these policies with their topics until their cases "
        "close (Loop(..., check_store=False) builds a loop anyway, to close them)",
        missing=tuple(missing),
        moved=tuple(moved),
    )
