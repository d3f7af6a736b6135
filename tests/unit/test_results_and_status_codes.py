"""The one mapping of domain results to HTTP answers, and stored answers read back as results."""

from __future__ import annotations

import pytest

from rh_common.domain import results
from rh_common.domain.errors import Conflict
from rh_common.domain.field_errors import error_body
from rh_common.domain.results import Outcome, Result
from rh_common.http import status_codes
from rh_common.runtime import outcome_metrics

# What a keyed resend request stores (resend_service): each must come back as the result it was.
STORED = [
    Result(Outcome.SUBMITTED, {"resendRequestId": "r", "status": "SUBMITTED"}),
    Result(Outcome.PENDING, {"resendRequestId": "r", "status": "PENDING"}),
    Result(Outcome.REJECTED, {**error_body("Return Helper refused the resend: X"), "upstream": {"errorCode": "X"}}),
    results.invalid("resend request is not valid"),
    results.reservation_conflict([Conflict(1, "other")]),
]


def test_every_outcome_but_a_replay_has_its_status_code_and_a_replay_answers_as_its_first_call():
    assert set(status_codes.STATUS) == set(Outcome) - {Outcome.REPLAYED}
    replay = Result(Outcome.REPLAYED, {"resendRequestId": "r", "status": "PENDING"}, replay_of=Outcome.PENDING)
    assert status_codes.answer(replay).status_code == 202


@pytest.mark.parametrize("first", STORED, ids=[r.outcome.value for r in STORED])
def test_a_stored_answer_replays_the_same_http_answer_and_says_what_it_was(first):
    replay = Result.from_stored(first.stored())
    assert replay.outcome == Outcome.REPLAYED and replay.decision == first.outcome
    assert status_codes.answer(replay) == status_codes.answer(first)
    assert replay.refused == first.refused


@pytest.mark.parametrize(
    ("first", "status_code"),
    list(zip(STORED, [201, 202, 422, 422, 409], strict=True)),
    ids=[r.outcome.value for r in STORED],
)
def test_an_answer_stored_as_its_status_code_before_still_replays_as_it_was(first, status_code):
    # What a deployed stack's records hold from before answers were stored as outcomes.
    replay = Result.from_stored({"statusCode": status_code, "body": first.body})
    assert replay.outcome == Outcome.REPLAYED and replay.decision == first.outcome
    assert status_codes.answer(replay) == status_codes.HttpAnswer(status_code, first.body)


def test_the_reservation_conflict_names_each_item_and_its_holder():
    result = results.reservation_conflict([Conflict(1, "req-a"), Conflict(2, None)])
    assert status_codes.answer(result).status_code == 409
    assert result.body["conflicts"] == [
        {"returnInventoryId": 1, "resendRequestId": "req-a"},
        {"returnInventoryId": 2, "resendRequestId": None},
    ]
    assert [e["message"] for e in result.body["errors"]] == [
        "inventory 1 is reserved by req-a",
        "inventory 2 is not known",
    ]


@pytest.mark.parametrize(
    ("result", "refused", "undecided"),
    [
        (results.unavailable("down"), False, True),
        (results.in_flight("busy"), False, True),
        (results.key_reused("again"), True, False),
        (results.not_found("gone"), True, False),
        (Result(Outcome.SUBMITTED, {}), False, False),
        (Result(Outcome.REPLAYED, {}, replay_of=Outcome.PENDING), False, False),
    ],
)
def test_the_worker_decides_on_outcomes(result, refused, undecided):
    assert (result.refused, result.undecided) == (refused, undecided)


def test_every_outcome_is_counted_as_one_metric_or_deliberately_not():
    counted = set(outcome_metrics.RESEND_OUTCOME_METRICS)
    assert counted | outcome_metrics.UNCOUNTED_RESEND_OUTCOMES == set(Outcome)
    assert not counted & outcome_metrics.UNCOUNTED_RESEND_OUTCOMES
