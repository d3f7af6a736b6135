"""Approval before money is spent (CONTRACT section 12): the one rule of who waits, and the lifecycle around it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rh_common.domain import approval, resend_errors, resend_lifecycle
from rh_common.domain.approval import Answer, Decision, Origin, Why
from rh_common.domain.resend_lifecycle import Status

FULFILMENT, INSTRUCTION = Origin.FULFILMENT, Origin.INSTRUCTION
T10 = Decimal("10")


@pytest.mark.parametrize(
    ("origin", "threshold", "fee", "fraud", "decision"),
    [
        # off: nothing waits for its fee, a fulfilment's unquoted resend included
        (FULFILMENT, None, 1000.0, False, Decision(False)),
        (FULFILMENT, None, None, False, Decision(False)),
        (INSTRUCTION, None, None, False, Decision(False)),
        # over the threshold by the quoted fee (a float as the quote sends it, a Decimal as DynamoDB reads it)
        (FULFILMENT, T10, 10.01, False, Decision(True, Why.OVER_THRESHOLD)),
        (INSTRUCTION, T10, Decimal("10.01"), False, Decision(True, Why.OVER_THRESHOLD)),
        # at the threshold is not over it; under it goes
        (FULFILMENT, T10, 10.0, False, Decision(False)),
        (FULFILMENT, T10, 9, False, Decision(False)),
        (FULFILMENT, Decimal("0"), 0.0, False, Decision(False)),
        (FULFILMENT, Decimal("0"), 0.01, False, Decision(True, Why.OVER_THRESHOLD)),
        # no quote while a threshold is set: waits (quotedFee null); so does a fee that is no number
        (INSTRUCTION, T10, None, False, Decision(True, Why.NO_QUOTE)),
        (FULFILMENT, T10, None, False, Decision(True, Why.NO_QUOTE)),
        (FULFILMENT, T10, "n/a", False, Decision(True, Why.NO_QUOTE)),
        (FULFILMENT, T10, True, False, Decision(True, Why.NO_QUOTE)),
        (FULFILMENT, T10, float("nan"), False, Decision(True, Why.NO_QUOTE)),
        # an instruction's fraud-flagged item waits whatever the threshold, even off, even when cheap
        (INSTRUCTION, None, None, True, Decision(True, Why.FRAUD_FLAG)),
        (INSTRUCTION, T10, 1.0, True, Decision(True, Why.FRAUD_FLAG)),
        # a fulfilment never picks a flagged item (it is not eligible): the flag is not its rule
        (FULFILMENT, None, 1.0, True, Decision(False)),
        (FULFILMENT, T10, 1.0, True, Decision(False)),
    ],
)
def test_who_waits_for_a_person(origin, threshold, fee, fraud, decision):
    assert approval.decide(origin, threshold, fee, fraud) == decision


@pytest.mark.parametrize(
    ("text", "threshold"), [(None, None), ("", None), ("  ", None), ("25", Decimal("25")), ("12.50", Decimal("12.50"))]
)
def test_the_threshold_setting_empty_is_off(text, threshold):
    assert approval.parse_threshold(text) == threshold


@pytest.mark.parametrize("text", ["ten", "-1", "NaN", "Infinity"])
def test_a_threshold_that_is_no_fee_is_refused_rather_than_read_as_off(text):
    with pytest.raises(ValueError, match="ApprovalFeeThreshold"):
        approval.parse_threshold(text)


def test_an_awaiting_request_is_moved_only_by_approve_reject_or_timeout_never_by_an_upstream_report():
    for target in Status:
        assert not resend_lifecycle.can_move(Status.AWAITING_APPROVAL, target)
    record = {"resendRequestId": "r", "status": "AWAITING_APPROVAL", "returnInventoryIdList": [1]}
    for code in resend_lifecycle.UPSTREAM_CODES:
        changes, moved = resend_lifecycle.upstream_changes(record, code, "T-1", None, "2026-01-01T00:00:00Z")
        assert moved is None and "status" not in changes


def test_the_answers_move_an_awaiting_request_as_section_3_says():
    now = "2026-01-01T00:00:00Z"
    assert approval.approved(now) == {"status": "PENDING", "approval": "approved", "updatedAt": now}
    assert approval.rejected(now) == {"status": "CANCELED", "approval": "rejected", "updatedAt": now}
    timed_out = approval.timed_out(now, 72)
    assert (timed_out["status"], timed_out["approval"]) == ("CANCELED", "timedOut")
    assert timed_out["lastError"]["reason"] == resend_errors.Reason.APPROVAL_TIMEOUT == "approvalTimeout"


def test_a_timed_out_request_shows_why_and_a_rejected_or_cancelled_one_shows_no_error():
    base = {"resendRequestId": "r", "returnInventoryIdList": [1]}
    timed_out = {**base, **approval.timed_out("2026-01-01T00:00:00Z", 72)}
    assert resend_lifecycle.view(timed_out)["lastError"] == {
        "errorCode": None,
        "detail": "nobody approved or rejected the resend within 72 hours",
        "reason": "approvalTimeout",
    }
    # a CANCELED request's stale error (a retry's, before the cancel) still shows nothing
    stale = {"errorCode": "HTTP_503", "detail": "HTTP 503", "reason": "upstreamUnavailable"}
    assert resend_lifecycle.view({**base, "status": "CANCELED", "lastError": stale})["lastError"] is None
    assert resend_lifecycle.view({**base, **approval.rejected("2026-01-01T00:00:00Z")})["lastError"] is None


@pytest.mark.parametrize(
    ("stored", "answer"),
    [(None, None), ("awaiting", Answer.AWAITING), ("timedOut", Answer.TIMED_OUT), ("nonsense", None)],
)
def test_where_a_request_stands_with_approval(stored, answer):
    record = {} if stored is None else {"approval": stored}
    assert approval.answer_of(record) is answer


def test_the_same_action_again_is_the_only_repeat():
    assert approval.REPEATS["approve"] == {Answer.APPROVED}
    assert approval.REPEATS["reject"] == {Answer.REJECTED, Answer.TIMED_OUT}
