"""A policy test as a host writes it with loopkit's pytest fixtures.

docs/howto-write-and-test-a-policy.md shows this file as it is (a test checks
the two never drift apart): nothing here needs a conftest.py.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit

POLICY_FILE = """
version = 1

[calendars.logistics]
timezone = "Europe/Stockholm"
hours.mon = "07:00-16:00"
hours.tue = "07:00-16:00"
hours.wed = "07:00-16:00"
hours.thu = "07:00-16:00"
hours.fri = "07:00-16:00"

[[policies]]
name = "delivery-detractor"
when.all = [
  { field = "response.category", equals = "detractor" },
  { field = "touchpoint.kind", equals = "delivery" },
]
channels = ["email"]
owner = "team:logistics"
deadline = { within = "8h", calendar = "logistics" }
"""

pytestmark = pytest.mark.loopkit_playbook(toml=POLICY_FILE)


def test_a_delivery_detractor_gets_an_email(loopkit_loop, loopkit_builders, loopkit_channels):
    response = loopkit_builders.response(score=2, kind="delivery")
    result = loopkit_loop.ingest(response, customer=loopkit_builders.customer())

    assert result.case.owner == "team:logistics"
    loopkit_loop.tick()
    (sent,) = loopkit_channels["email"].sent
    assert sent.case_id == result.case.id


def test_a_detractor_after_a_support_call_gets_nothing(loopkit_loop, loopkit_builders):
    response = loopkit_builders.response(score=2, kind="support_contact")
    result = loopkit_loop.ingest(response, customer=loopkit_builders.customer())

    assert result.case is None
    assert result.outcome is loopkit.IngestOutcome.NO_FOLLOW_UP


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # both never change
@given(customer=st.from_type(loopkit.Customer))
def test_every_customer_gets_an_email_case_or_a_reason(
    loopkit_playbook, loopkit_builders, customer
):
    response = loopkit_builders.response(score=0, kind="delivery", customer_id=customer.id)
    decision = loopkit_playbook.policies.decide(response, customer, response.answered_at)

    if decision.follow_up:
        assert decision.channel == "email"
    else:
        assert decision.suppressed  # and it says why
