"""Webhook deliveries: their states (contract section 8), what the webhook answers for each, what is
stored on arrival, and their view.

`received` (stored, apply not finished), `accepted` (applied), `ignored`, `unprocessable`,
`applyFailed`, `parked` (a resend report waiting for its resend id). Only a final state makes a
redelivery a duplicate (the delivery log, adapters.dynamodb.delivery_log, keeps them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rh_common.domain import timestamps


class DeliveryStatus(StrEnum):
    """A kept delivery's state in the log (the contract's word for an applied one is `accepted`)."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    IGNORED = "ignored"
    UNPROCESSABLE = "unprocessable"
    APPLY_FAILED = "applyFailed"
    PARKED = "parked"


class DeliveryOutcome(StrEnum):
    """What the webhook answers for a verified delivery (`status`), and a replay (`outcome`)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    UNPROCESSABLE = "unprocessable"


# The answer for a delivery that reached a final state (contract section 8's table): the log says
# `accepted` where the answer says `applied`, and a parked resend report is answered `applied` too.
ANSWER_OF: Mapping[DeliveryStatus, DeliveryOutcome] = {
    DeliveryStatus.ACCEPTED: DeliveryOutcome.APPLIED,
    DeliveryStatus.PARKED: DeliveryOutcome.APPLIED,
    DeliveryStatus.IGNORED: DeliveryOutcome.IGNORED,
    DeliveryStatus.UNPROCESSABLE: DeliveryOutcome.UNPROCESSABLE,
}


# Stored but not (known to be) applied: a redelivery, a replay or the reconciler applies it.
UNFINISHED = frozenset({DeliveryStatus.RECEIVED, DeliveryStatus.APPLY_FAILED})
APPLY_FAILED = DeliveryStatus.APPLY_FAILED.value


VIEW_FIELDS = ("deliveryId", "status", "category", "action", "eventTime", "receivedAt", "reason")


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    raw_body: bytes
    status: DeliveryStatus  # the state to store on arrival: RECEIVED (to apply), IGNORED, UNPROCESSABLE
    category: str | None = None
    action: str | None = None
    event_time: str | None = None
    reason: str | None = None
    # What the delivery is about (a readable event's), stored with it for GET /deliveries?inventoryId=|resendId=.
    inventory_ids: tuple[int, ...] = ()
    resend_id: int | None = None

    @property
    def subject(self) -> str | None:
        """The delivery log's look-up key (its BySubject index): the resend of a resend report, else the
        first item an event names. One key per delivery: an index holds one value per item."""
        if self.resend_id is not None:
            return subject_key(RESEND_SUBJECT, self.resend_id)
        if self.inventory_ids:
            return subject_key(INVENTORY_SUBJECT, self.inventory_ids[0])
        return None


RESEND_SUBJECT, INVENTORY_SUBJECT = "resend", "inventory"


def subject_key(kind: str, identifier: int) -> str:
    return f"{kind}#{identifier}"


def view(item: dict[str, Any]) -> dict[str, Any]:
    """The contract's delivery view: every key present, never the body (it holds addresses)."""
    shown = {name: item.get(name) for name in VIEW_FIELDS}
    if isinstance(shown["receivedAt"], int):
        shown["receivedAt"] = timestamps.iso_seconds(datetime.fromtimestamp(shown["receivedAt"], UTC))
    return shown
