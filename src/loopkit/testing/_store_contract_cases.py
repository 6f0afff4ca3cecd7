"""The store contract on follow-up cases: one unclosed case per customer and
topic, listed oldest first, with the whole event log kept."""

from __future__ import annotations

from datetime import timedelta

from loopkit.stores import Store

from ._store_samples import T0, _case


class CaseContract:
    """Cases round-trip with their event log and are found by customer and topic."""

    # cases ---------------------------------------------------------------------

    def test_an_unclosed_case_is_found_by_customer_and_topic(self, store: Store) -> None:
        case = _case().contact(at=T0, by="emp").resolve(at=T0, by="emp")
        with store.transaction() as tx:
            tx.save_case(case)
        with store.transaction() as tx:
            assert tx.find_unclosed_case("c-1", "t") == case
            assert tx.find_unclosed_case("c-1", "other") is None
            assert tx.find_unclosed_case("c-2", "t") is None
            tx.save_case(case.close(at=T0, by="emp"))
        with store.transaction() as tx:
            assert tx.find_unclosed_case("c-1", "t") is None

    def test_cases_are_listed_oldest_first_and_by_customer(self, store: Store) -> None:
        later = _case(id="case-2", at=T0 + timedelta(hours=1), topic="u")
        other = _case(id="case-3", customer_id="c-2")
        with store.transaction() as tx:
            for case in (later, other, _case()):
                tx.save_case(case)
        with store.transaction() as tx:
            assert [c.id for c in tx.cases()] == ["case-1", "case-3", "case-2"]
            assert [c.id for c in tx.cases("c-1")] == ["case-1", "case-2"]

    def test_a_case_keeps_its_whole_event_log(self, store: Store) -> None:
        case = _case().contact(at=T0, by="emp", note="Spoke to the customer")
        case = case.complete_step("apology", at=T0, by="emp").resolve(at=T0, by="emp")
        case = case.close(at=T0, by="emp", root_causes=["campaign_targeting"])
        with store.transaction() as tx:
            tx.save_case(case)
        with store.transaction() as tx:
            assert tx.get_case(case.id) == case
