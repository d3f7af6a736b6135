"""Approval before money is spent (CONTRACT section 12): which resends wait for a person, and what
approving, rejecting or timing one out does to its request. Pure.

Only the resends the system decides on by itself (a fulfilment's, an instruction's) can wait; a
merchant's own `POST /resends` never does. A waiting request is `AWAITING_APPROVAL`: its items are
reserved, nothing went upstream (not even a hold), so ending it gives no handling back: releasing the
reservation is all it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from rh_common.domain import resend_errors
from rh_common.domain.resend_lifecycle import Status

# The record's attribute saying where a request stands with approval (absent: it never awaited one).
FIELD = "approval"


class Origin(StrEnum):
    """Who decided on a resend the system makes by itself."""

    FULFILMENT = "fulfilment"
    INSTRUCTION = "instruction"


class Answer(StrEnum):
    """Where a request that awaited approval stands (the record's `approval`)."""

    AWAITING = "awaiting"
    APPROVED = "approved"
    REJECTED = "rejected"  # POST /resends/{id}/reject, or a cancel while awaiting
    TIMED_OUT = "timedOut"


class Why(StrEnum):
    OVER_THRESHOLD = "overThreshold"
    NO_QUOTE = "noQuote"
    FRAUD_FLAG = "fraudFlag"


@dataclass(frozen=True)
class Decision:
    waits: bool
    why: Why | None = None


GOES = Decision(False)


def parse_threshold(text: str | None) -> Decimal | None:
    """`ApprovalFeeThreshold` as set (empty: off). A value that is no finite non-negative number is refused at
    start-up rather than read as "off": a threshold the operator meant must not be silently ignored."""
    if text is None or not text.strip():
        return None
    try:
        threshold = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"ApprovalFeeThreshold {text!r} is not a number") from None
    if not threshold.is_finite() or threshold < 0:
        raise ValueError(f"ApprovalFeeThreshold {text!r} is not a non-negative number")
    return threshold


def decide(origin: Origin, threshold: Decimal | None, quoted_fee: Any, fraud_flagged: bool) -> Decision:
    """Whether a resend the system decided on waits for a person.

    An instruction's resend of a fraud-flagged item waits whatever the threshold (even when it is off).
    Otherwise only with a threshold: over it by the quoted fee, or with no fee known (no quote can be had,
    or the quote has no fee for the chosen service): a fee nobody knows is not a fee under the threshold.
    """
    if origin is Origin.INSTRUCTION and fraud_flagged:
        return Decision(True, Why.FRAUD_FLAG)
    if threshold is None:
        return GOES
    fee = fee_amount(quoted_fee)
    if fee is None:
        return Decision(True, Why.NO_QUOTE)
    return Decision(True, Why.OVER_THRESHOLD) if fee > threshold else GOES


def fee_amount(value: Any) -> Decimal | None:
    """A quoted fee as an exact amount, or None when it is no finite number: what approval judges, and what a
    fulfilment ranks warehouses by. Here, not in domain.quote: approval is on paths that never read a quote."""
    if value is None or isinstance(value, bool):
        return None
    try:
        fee = Decimal(str(value))
    except InvalidOperation:
        return None
    return fee if fee.is_finite() else None


def answer_of(record: dict[str, Any]) -> Answer | None:
    """Where the request stands with approval; None: it never awaited one."""
    value = record.get(FIELD)
    return next((answer for answer in Answer if answer.value == value), None)


def approved(now: str) -> dict[str, Any]:
    """The changes of an approve (AWAITING_APPROVAL -> PENDING): from here on a request like any other."""
    return {"status": Status.PENDING.value, FIELD: Answer.APPROVED.value, "updatedAt": now}


def rejected(now: str) -> dict[str, Any]:
    """The changes of a reject or of a cancel while awaiting (-> CANCELED; the items released with it)."""
    return {"status": Status.CANCELED.value, FIELD: Answer.REJECTED.value, "updatedAt": now}


def timed_out(now: str, timeout_hours: int) -> dict[str, Any]:
    """The changes of an approval that never came (-> CANCELED with lastError.reason approvalTimeout)."""
    return {
        "status": Status.CANCELED.value,
        FIELD: Answer.TIMED_OUT.value,
        "updatedAt": now,
        "lastError": {
            "errorCode": None,
            "detail": f"nobody approved or rejected the resend within {timeout_hours} hours",
            "reason": resend_errors.Reason.APPROVAL_TIMEOUT.value,
        },
    }


# Per action, the answers after which asking it again answers the current view (200); after any other, or on a
# request that never awaited approval, it is refused (409). A timeout stands for a reject: rejecting after it
# asks for what already happened.
REPEATS: dict[str, frozenset[Answer]] = {
    "approve": frozenset({Answer.APPROVED}),
    "reject": frozenset({Answer.REJECTED, Answer.TIMED_OUT}),
}
