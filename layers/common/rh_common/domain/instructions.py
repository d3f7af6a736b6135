"""Resend instructions (contract section 12): a merchant's "resend this parcel when it comes back".

An instruction waits (WAITING) for an item whose reference matches (one of MATCH_TYPES, and its SKU when
given), then reads MATCHED with the resend created under the key `instruction:<id>`; CANCELED by the
merchant while waiting; EXPIRED once `expiresAt` has passed while waiting (decided on read: `current`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rh_common.domain import references, timestamps

MATCH_TYPES: tuple[str, ...] = ("sellerReferenceNumber", "inboundTrackingNumber", "returnRequestId", "rma")
DEFAULT_LIFETIME = timedelta(days=90)
_IDS = uuid.UUID("5b0c6f0e-7a4e-4c38-9d8e-1f0f1b6e2a22")  # instruction ids from Idempotency-Keys


class Status(StrEnum):
    WAITING = "WAITING"
    MATCHED = "MATCHED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


def instruction_id_for(idempotency_key: str) -> str:
    """The same key names the same instruction: a conditional put on it is the idempotency check."""
    return str(uuid.uuid5(_IDS, idempotency_key))


def resend_key(instruction_id: str) -> str:
    """The Idempotency-Key of the instruction's resend: one resend, however many arrivals report the item."""
    return f"instruction:{instruction_id}"


def match_reference(match_type: str, value: Any) -> str | None:
    """The instruction's look-up row (`instruction#<type>#<value>`); None when the value can have no row."""
    ref = references.reference(match_type, value)
    return None if ref is None else f"instruction#{ref}"


def expires_at(given: datetime | None, now: datetime) -> str:
    return timestamps.iso(given if given is not None else now + DEFAULT_LIFETIME)


def current(record: Mapping[str, Any], now: datetime | None = None) -> Status:
    """The instruction's status now: a WAITING one past its expiry reads EXPIRED."""
    status = Status(record["status"])
    moment = timestamps.iso(now or datetime.now(UTC))
    if status is Status.WAITING and record["expiresAt"] <= moment:
        return Status.EXPIRED
    return status


def view(record: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The merchant's view: never the address."""
    return {
        "instructionId": record["instructionId"],
        "status": current(record, now).value,
        "match": dict(record["match"]),
        "sku": record.get("sku"),
        "resendRequestId": record.get("resendRequestId"),
        "returnInventoryId": record.get("returnInventoryId"),
        "expiresAt": record["expiresAt"],
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
    }


def item_matches(record: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether an item with these attribute values answers the instruction (its reference, and its SKU when given)."""
    ((match_type, value),) = record["match"].items()
    if not references.matches(values, match_type, value):
        return False
    return record.get("sku") is None or values.get("sku") == record["sku"]
