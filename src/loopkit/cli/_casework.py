"""The commands that work a case: ``contact``, ``step``, ``grant`` and
``close``, each one change made through the loop and printed back."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from loopkit import ContactOutcome, FollowUpCase, LoopkitError
from loopkit.compensation import Offer

from ._commands import _loop, _playbook, _store
from ._output import Failed, for_terminal
from ._plugins import plugins_of

__all__ = ["add_parsers"]


def add_parsers(
    commands: argparse._SubParsersAction[Any],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """``contact``, ``step``, ``grant`` and ``close``, each with ``--policies``,
    ``--db``, ``--now`` (``common``), the case and who acts (``--by``)."""

    def case_command(name: str, help: str, run: Callable[[argparse.Namespace, Any], Any]) -> Any:
        sub = commands.add_parser(name, help=help)
        common(sub)
        sub.add_argument("case", metavar="CASE", help="the case's id, as `loopkit cases` lists it")
        sub.add_argument("--by", required=True, metavar="EMPLOYEE", help="who acts")
        sub.set_defaults(run=lambda args, out: _acting(args, out, run))
        return sub

    contact = case_command(
        "contact",
        "record a contact attempt (reached, no_answer, left_message, wrong_address)",
        lambda args, loop: loop.record_contact(
            args.case, args.outcome, by=args.by, channel=args.channel
        ),
    )
    contact.add_argument(
        "--outcome", required=True, choices=[o.value for o in ContactOutcome], help="how it went"
    )
    contact.add_argument("--channel", metavar="NAME", help="the channel used (say, phone)")

    step = case_command(
        "step",
        "record a step the case's policy requires (say, apology) as done",
        lambda args, loop: loop.complete_step(args.case, args.step, by=args.by),
    )
    step.add_argument("step", metavar="STEP", help="the step, such as apology")

    grant = case_command(
        "grant",
        "give compensation on a case, within authority or as an approval request",
        _grant,
    )
    grant.add_argument("--key", required=True, help="the grant's idempotency key")
    grant.add_argument(
        "--offer",
        metavar="KIND",
        required=True,
        help="what is given: refund, discount_code, free_product, return_label, ...",
    )
    grant.add_argument("--value", metavar="AMOUNT", help='its value, such as "75 SEK"')
    grant.add_argument("--what", metavar="TEXT", help="what it is (say, body lotion)")

    close = case_command(
        "close",
        "close a contacted case as resolved (or --unresolved), with its root causes",
        lambda args, loop: loop.close(
            args.case, resolved=not args.unresolved, by=args.by, root_causes=args.cause or ()
        ),
    )
    close.add_argument("--unresolved", action="store_true", help="the problem was not solved")
    close.add_argument("--cause", action="append", metavar="TAG", help="a root cause (repeatable)")


def _acting(args: argparse.Namespace, out: TextIO, act: Callable[..., Any]) -> int:
    """Run ``act(args, loop)`` on the database and print what came of it; a
    refused change (a typed loopkit error) is exit code 1, its message shown."""
    playbook = _playbook(args.policies)
    hosts = plugins_of(args)  # before the store: a plugin that cannot load changes nothing
    with _store(args.db, create=False) as store:
        loop = _loop(playbook, store, args.now, hosts=hosts)
        try:
            result = act(args, loop)
        except LoopkitError as err:
            raise Failed(for_terminal(str(err))) from None
        print(_said(args.command, result, loop.case(args.case)), file=out)
    return 0


def _grant(args: argparse.Namespace, loop: Any) -> Any:
    given = {"kind": args.offer, "value": args.value, "what": args.what}
    offer = Offer.from_dict({k: v for k, v in given.items() if v is not None}, "offer")
    return loop.compensation.grant(args.case, offer, by=args.by, key=args.key)


def _said(command: str, result: Any, case: FollowUpCase) -> str:
    state = f"{case.id}: {case.state.value}"
    if command == "grant":
        again = " (seen before)" if result.replayed else ""
        return f"{state}; grant {for_terminal(result.key)} {result.status.value}{again}"
    if command == "close" and case.root_causes:
        return f"{state}; root causes {', '.join(sorted(case.root_causes))}"
    return state
