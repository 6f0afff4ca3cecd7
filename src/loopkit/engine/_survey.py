"""The survey-flow guard."""

from __future__ import annotations

from datetime import datetime

from loopkit._input.checks import check_id
from loopkit.model import Customer

from ._context import Context
from ._ingest import ANSWER
from .results import SORRY_MESSAGE, STOP_MESSAGE, SurveyGuard


class SurveyFlow:
    """The survey-flow guard: may an automated survey ask its next question?"""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def guard(
        self,
        customer_id: str,
        *,
        customer: Customer | None = None,
        invitation: bool = False,
        at: datetime | None = None,
    ) -> SurveyGuard:
        """See :meth:`loopkit.Loop.survey_guard`."""
        check_id(customer_id, "customer_id")
        now = self.ctx.now(at)
        rules = self.ctx.playbook.contact
        if customer is not None and customer.contact.surveys_opt_out:
            return SurveyGuard(ask=False, reason="opted_out")
        with self.ctx.store.transaction() as tx:
            stop = tx.survey_stop(customer_id)
            if stop is not None and stop.startswith(ANSWER):
                record = tx.get_ingest(stop[len(ANSWER) :])
                answer = None if record is None else record.response
                if answer is not None and rules.answer_stops_survey_at(answer.answered_at, now):
                    return SurveyGuard(ask=False, reason="dissatisfied", message=SORRY_MESSAGE)
            elif stop is not None:
                stopped = tx.get_case(stop)
                if stopped is not None and not stopped.is_closed:
                    return SurveyGuard(
                        ask=False, reason="open_case", case_id=stop, message=STOP_MESSAGE
                    )
            if not invitation:
                return SurveyGuard(ask=True, reason="no_open_case")
            if rules.in_survey_cooldown(tx.survey_invitations(customer_id), now):
                return SurveyGuard(ask=False, reason="cooldown")
            tx.add_survey_invitation(customer_id, now)
        return SurveyGuard(ask=True, reason="allowed")
