"""The store contract on what the store keeps per customer: the latest copy of
the customer, survey stops and survey invitations."""

from __future__ import annotations

from datetime import timedelta

from loopkit.stores import Store

from ._store_samples import T0
from .builders import make_customer


class CustomerContract:
    """The latest customer copy, survey stops and invitations are kept per customer."""

    # customers -----------------------------------------------------------------

    def test_the_latest_copy_of_a_customer_is_kept(self, store: Store) -> None:
        first = make_customer(id="c-1", segment="silver")
        with store.transaction() as tx:
            assert tx.get_customer("c-1") is None
            tx.save_customer(first)
        later = make_customer(id="c-1", segment="gold")
        with store.transaction() as tx:
            assert tx.get_customer("c-1") == first
            tx.save_customer(later)
        with store.transaction() as tx:
            assert tx.get_customer("c-1") == later
            assert tx.get_customer("c-2") is None

    # the survey guard ----------------------------------------------------------

    def test_survey_stops_and_invitations(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.set_survey_stop("c-1", "case-1")
            tx.add_survey_invitation("c-1", T0 + timedelta(days=1))
            tx.add_survey_invitation("c-1", T0)
        with store.transaction() as tx:
            assert tx.survey_stop("c-1") == "case-1"
            assert tx.survey_stop("c-2") is None
            assert list(tx.survey_invitations("c-1")) == [T0, T0 + timedelta(days=1)]
            tx.clear_survey_stop("c-1")
        with store.transaction() as tx:
            assert tx.survey_stop("c-1") is None
