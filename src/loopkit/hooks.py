"""loopkit's plugin hooks: every hookspec, with its contract.

A plugin is any object or module with functions marked ``@loopkit.hookimpl``
whose names are hooks below. Pass plugins to :class:`loopkit.Loop` with
``plugins=[...]``, or publish them in the ``loopkit`` entry-point group and
build the loop with ``load_entry_points=True``. An implementation may accept
fewer arguments than the spec names (pluggy passes only those it asks for), so
new arguments can be added to a hook without breaking plugins.

Only the engine calls hooks. The *notification* hooks (``loopkit_case_*``,
``loopkit_deadline_*``, ``loopkit_promise_broken``, ``loopkit_issue_*``) run after the change they
report has been committed: if one raises, the error is logged (without
personal data) and the other implementations still run; the change stands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from loopkit.channels import Channel
    from loopkit.compensation import Proposal, StaffMember
    from loopkit.model import Category, Customer, FollowUpCase, Promise, Response
    from loopkit.outcomes import SystemicIssue
    from loopkit.stores import Store

__all__ = ["hookimpl", "hookspec"]

PROJECT = "loopkit"

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (used only in this module)."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's hook implementation: ``@loopkit.hookimpl``."""


@hookspec
def loopkit_register_channels(register: Callable[[str, Channel], None]) -> None:
    """Register the channels this plugin delivers messages through.

    Called once, when a :class:`~loopkit.Loop` is built. Call
    ``register(name, channel)`` for each channel, e.g.
    ``register("sms", MySmsChannel())``; ``channel`` has a
    ``send(message) -> None`` method that raises on failure. Names are the ones
    policies use (``phone``, ``email``…). Registering a name twice raises
    :class:`~loopkit.PluginError`. The return value is ignored. If this hook
    raises, building the loop fails with a :class:`~loopkit.PluginError`
    naming the hook (the plugin's exception as its ``__cause__``).

    :meth:`~loopkit.Loop.tick` calls ``send`` in a worker thread (one per
    channel object, one send at a time) and waits up to the retry policy's
    ``send_timeout`` (30 seconds by default); a send that raises or does not
    return in time is a failed attempt, retried with backoff and finally
    dead-lettered. Delivery is at least once: a crash between a send and its
    record, or a timed-out send that went through after all, sends the
    message again later. ``message.idempotency_key`` (the message id) is the
    same on every attempt: hand it to a provider that deduplicates, or skip
    keys already sent.
    """


@hookspec(firstresult=True)
def loopkit_store() -> Store | None:
    """Provide the store the loop keeps its state in.

    Called once, when a :class:`~loopkit.Loop` is built without an explicit
    ``store``. Return a :class:`~loopkit.stores.Store`, or ``None`` to let
    another plugin answer; the first non-``None`` result wins; loopkit's in-memory store is
    registered ``trylast`` as the default. If this hook raises, building the
    loop fails with a :class:`~loopkit.PluginError` naming the hook (the
    plugin's exception as its ``__cause__``).
    """


@hookspec(firstresult=True)
def loopkit_load_customer(customer_id: str) -> Customer | None:
    """Look a customer up in the host's own systems (a CRM).

    Called by :meth:`~loopkit.Loop.ingest` and
    :meth:`~loopkit.Loop.ingest_touchpoint` when no customer was passed in,
    and by :meth:`~loopkit.Loop.tick` before it recovers a broken promise (for
    the customer's current channels, quiet hours and preferred window). Return
    the :class:`~loopkit.Customer`, or ``None`` if this plugin does not know
    them (the next plugin is asked). If no plugin knows the customer, ingest
    raises :class:`~loopkit.UnknownCustomer` and nothing is stored, while
    ``tick`` uses the copy the store kept when a case was opened for them.
    Returning anything else, or a customer with another id, raises
    :class:`~loopkit.PluginError`. If this hook raises, the call raises a
    :class:`~loopkit.PluginError` naming the hook (the plugin's exception is
    its ``__cause__``; its text is never put in the message, as it may hold
    personal data) and nothing is stored.
    """


@hookspec(firstresult=True)
def loopkit_classify_response(response: Response) -> Category | None:
    """Classify a response on a custom scale differently from its bands.

    Called by :meth:`~loopkit.Loop.ingest` for responses whose scale is not
    built in, before policies run. Return a :class:`~loopkit.Category` to use
    instead of the scale's own bands, or ``None`` to keep them. The first
    non-``None`` result wins; anything but a ``Category`` or ``None`` raises
    :class:`~loopkit.PluginError`. If this hook raises, the call raises a
    :class:`~loopkit.PluginError` naming the hook (the plugin's exception as
    its ``__cause__``) and nothing is stored.
    """


@hookspec
def loopkit_tag_root_causes(response: Response | None, case: FollowUpCase) -> Iterable[str]:
    """Suggest root-cause tags for a case that is being closed.

    Called by :meth:`~loopkit.Loop.close` with the case's most recent response
    (``None`` for a case opened by an employee or by a touchpoint signal that
    no response joined) and the case. Return tag names
    such as ``"campaign_targeting"`` (lowercase, ``_`` or ``-``); the results of
    all plugins are merged with the tags the employee gave. Return a
    collection (a list, a set, a generator), never a bare string: returning
    ``"billing"``, a tag that is not such a name, or anything not iterable
    raises :class:`~loopkit.PluginError` and the case is not closed. If this
    hook raises, the call raises a :class:`~loopkit.PluginError` naming the
    hook (the plugin's exception as its ``__cause__``) and the case is not
    closed.
    """
    return ()


@hookspec
def loopkit_holidays(calendar: str, years: range) -> Iterable[date]:
    """Add holidays to a business calendar from a host's source.

    Called once per calendar of the playbook when a :class:`~loopkit.Loop` is
    built, with the calendar's name and the years wanted. Return dates (in the
    calendar's zone) that are holidays, for example from the ``holidays``
    package or an HR system; all results are merged with the calendar's own.
    Anything but an iterable of ``date`` values (a string, a ``datetime``)
    raises :class:`~loopkit.PluginError`. If this hook raises, building the
    loop fails with a :class:`~loopkit.PluginError` naming the hook (the
    plugin's exception as its ``__cause__``).
    """
    return ()


@hookspec
def loopkit_case_opened(case: FollowUpCase) -> None:
    """Notification: a case was opened (by a policy, on a response or a touchpoint
    signal; by an employee; or by a broken promise).

    Called after the case and its messages are committed. Return value ignored.
    If it raises, the error is logged and the case stays open.
    """


@hookspec
def loopkit_deadline_warning(case: FollowUpCase) -> None:
    """Notification: a case's deadline is near (by default 75% of its time has passed).

    Called by :meth:`~loopkit.Loop.tick` once per case, after the warning event
    is committed. Return value ignored; if it raises, the error is logged.
    """


@hookspec
def loopkit_deadline_breached(case: FollowUpCase) -> None:
    """Notification: a case passed its deadline without a first contact.

    Called by :meth:`~loopkit.Loop.tick` once per case, after the breach event
    (dated at the tick, never earlier than the deadline) is committed. Return
    value ignored; if it raises, the error is logged.
    """


@hookspec
def loopkit_case_escalated(case: FollowUpCase) -> None:
    """Notification: a case moved one step up its escalation ladder.

    Called by :meth:`~loopkit.Loop.tick` (and after a broken promise) with the
    escalated case: ``case.escalation_level`` and ``case.owner`` are the new
    ones. Return value ignored; if it raises, the error is logged.
    """


@hookspec
def loopkit_case_closed(case: FollowUpCase) -> None:
    """Notification: a case was closed (resolved or unresolved).

    Called by :meth:`~loopkit.Loop.close` after the close is committed; the
    case's ``root_causes`` hold the merged tags. Return value ignored; if it
    raises, the error is logged and the case stays closed.
    """


@hookspec
def loopkit_promise_broken(promise: Promise, case: FollowUpCase) -> None:
    """Notification: a promise was not kept by its time.

    Called by :meth:`~loopkit.Loop.tick` with the broken promise and the
    recovery case that was opened or escalated for it, after both are
    committed. Return value ignored; if it raises, the error is logged.
    """


@hookspec
def loopkit_issue_opened(issue: SystemicIssue) -> None:
    """Notification: a root cause became a systemic issue, for the host's issue tracker.

    Called by :meth:`~loopkit.Loop.close` once per issue opened, after the close
    and the issue are committed: when the case's root-cause tags (the
    employee's and ``loopkit_tag_root_causes`` plugins') bring a cause to the
    playbook's ``[issues] open_when`` threshold (5 cases within 7 days by
    default), or when a cause marked fixed recurs that often. ``issue`` is the
    :class:`~loopkit.outcomes.SystemicIssue` as stored: ``cause``, ``count``,
    affected ``customers`` and ``cases``, ``first_seen`` and ``last_seen``.
    Closing more cases with the same cause does not call it again (see
    ``loopkit_issue_grew``). Return value ignored; if it raises, the error is
    logged and the issue stays open.
    """


@hookspec
def loopkit_issue_grew(issue: SystemicIssue) -> None:
    """Notification: an open (or acknowledged) systemic issue kept growing.

    Called by :meth:`~loopkit.Loop.close`, after the close is committed, each
    time the issue's ``count`` reaches twice the count the host last heard
    about (opened at 5: told again at 10, 20, 40…), so a growing issue is
    reported again without a storm. ``issue`` is the issue as stored. Return
    value ignored; if it raises, the error is logged and the count stands.
    """


@hookspec
def loopkit_propose_offers(
    case: FollowUpCase, response: Response | None, customer: Customer
) -> Iterable[Proposal]:
    """Propose compensation offers for a case, fitted to this customer.

    Called by :meth:`loop.compensation.offers() <loopkit.CompensationDesk.offers>`
    each time a case's offers are worked out, outside any store transaction
    (the plugin may do I/O), with the case, its most recent response (``None``
    for a case opened by an employee or on a touchpoint signal) and the
    customer. Return :class:`~loopkit.compensation.Proposal` values whose
    ``source`` is ``OfferSource.plugin(NAME)`` (for example an offer sized to
    the purchase and the customer's value), or nothing. All plugins'
    proposals are merged with the playbook's rules by
    :func:`~loopkit.compensation.propose_offers`: ineligible ones are dropped
    (``max_per_customer`` against what the store's ledger says was granted),
    the rest ranked and recorded on the case (an ``offers_proposed`` event).
    A result that is not a plugin ``Proposal`` raises
    :class:`~loopkit.PluginError`. If this hook raises, the error propagates
    (as a :class:`~loopkit.PluginError`) and nothing is stored.
    """
    return ()


@hookspec(firstresult=True)
def loopkit_load_staff(employee_id: str) -> StaffMember | None:
    """Look an employee up in the host's HR system: their role and team.

    Called by ``loop.compensation`` (:class:`~loopkit.CompensationDesk`)
    before each grant, approval or rejection by ``employee_id``, outside any
    store transaction. Return a :class:`~loopkit.compensation.StaffMember`
    with that id, or ``None`` if this plugin does not know them (the next
    plugin is asked, then the playbook's ``[staff]`` table). An employee
    nobody knows has no authority of their own: their priced grants need an
    approval. A member whose role ``[authority]`` lacks is refused with a
    :class:`~loopkit.ValidationError` at ``staff.ID.role``. If this hook
    raises, the error propagates (as a :class:`~loopkit.PluginError`) and
    nothing is recorded.
    """
