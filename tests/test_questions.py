"""Don't ask what you know (seed 003, the running-shoe card): questions whose
answer is already in the profile or the purchase are not asked."""

from __future__ import annotations

import pytest

from loopkit import ValidationError
from loopkit.policies import Question, questions_to_ask
from loopkit.testing import make_customer, make_touchpoint

CARD = (
    Question(id="size", asks_about="customer.attributes.shoe_size", text="Your shoe size?"),
    Question(id="shop", asks_about="touchpoint.attributes.store", text="Which shop?"),
    Question(id="region", asks_about="customer.region", text="Where do you live?"),
    Question(id="language", asks_about="customer.language", text="Which language?"),
    Question(id="served-by", asks_about="touchpoint.employee_id", text="Who helped you?"),
)


def test_the_running_shoe_card_asks_only_what_the_shop_does_not_know() -> None:
    customer = make_customer(region="Stockholm", attributes={"shoe_size": 43})
    purchase = make_touchpoint("purchase", channel="store", attributes={"store": "Sveavägen"})
    asked = questions_to_ask(CARD, customer, purchase)
    assert [q.id for q in asked] == ["language"]


def test_a_new_customer_with_no_touchpoint_is_asked_everything() -> None:
    asked = questions_to_ask(CARD, make_customer(), None)
    assert [q.id for q in asked] == ["size", "shop", "region", "language", "served-by"]


def test_blank_values_count_as_unknown_and_false_or_zero_as_known() -> None:
    questions = [
        Question(id="nick", asks_about="customer.attributes.nickname"),
        Question(id="kids", asks_about="customer.attributes.children"),
        Question(id="news", asks_about="customer.attributes.newsletter"),
    ]
    customer = make_customer(attributes={"nickname": "", "children": 0, "newsletter": False})
    assert [q.id for q in questions_to_ask(questions, customer)] == ["nick"]


@pytest.mark.parametrize(
    ("asks_about", "needle"),
    [
        ("customer.regoin", "did you mean 'customer.region'?"),
        ("response.score", "a customer or touchpoint field"),
        ("customer.region) or (", "a customer or touchpoint field"),
    ],
)
def test_a_question_about_an_unknown_field_is_refused_when_it_is_made(
    asks_about: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Question(id="q", asks_about=asks_about)
    assert info.value.path == "Question.asks_about"
    assert needle in str(info.value)
