"""A delivery's log state and the webhook's answer for it (contract section 8's table): one mapping."""

from __future__ import annotations

from rh_common.domain.deliveries import ANSWER_OF, UNFINISHED, DeliveryOutcome, DeliveryStatus


def test_each_final_state_is_answered_as_the_contract_says():
    assert {status.value: answer.value for status, answer in ANSWER_OF.items()} == {
        "accepted": "applied",
        "parked": "applied",
        "ignored": "ignored",
        "unprocessable": "unprocessable",
    }


def test_every_state_is_either_final_with_an_answer_or_unfinished():
    assert set(ANSWER_OF) | UNFINISHED == set(DeliveryStatus)
    assert not set(ANSWER_OF) & UNFINISHED


def test_every_answer_but_duplicate_is_the_answer_of_a_state():
    # a duplicate is the answer to a delivery already in a final state
    assert set(ANSWER_OF.values()) == set(DeliveryOutcome) - {DeliveryOutcome.DUPLICATE}
