"""Resend instructions (contract section 12): a merchant's "resend this parcel when it comes back".

An instruction waits (WAITING) for an item whose reference matches (one of MATCH_TYPES, and its SKU when
given) and that is ready to be resent (`item_matches`), then reads MATCHED with the resend created under the
key `instruction:<id>`; CANCELED by the merchant while waiting; EXPIRED once `expiresAt` has passed while
waiting (read so at once: `current`; stored so by the reconciler's sweep).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rh_common.domain import eligibility, references, timestamps
from rh_common.domain.idempotency_keys import request_id_for

MATCH_TYPES: tuple[str, ...] = ("sellerReferenceNumber", "inboundTrackingNumber", "returnRequestId", "rma")
DEFAULT_LIFETIME = timedelta(days=90)
# What an item must be before an instruction's resend is tried: logged in a warehouse, in stock, waiting for the
# merchant's decision, in no VAS or other workflow. Each can come later than the item's reference (the parcel
# is logged, a workflow ends), so an item short of one leaves the instruction waiting for it rather than
# ending it with a refused resend. Its fraud flag and handling code are the resend's business (approval, hold,
# refusal).
_IN_PLACE = (
    eligibility.KNOWN_WAREHOUSE,
    eligibility.IN_STOCK,
    eligibility.HANDLING_PENDING,
    eligibility.NO_PENDING_VAS,
    eligibility.NO_OTHER_WORKFLOW,
)
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
    """Whether an item with these attributes (domain/inventory.attributes: its reservation too) answers the
    instruction now: its reference, its SKU when given, and ready (`_ready`)."""
    ((match_type, value),) = record["match"].items()
    if not references.matches(values, match_type, value):
        return False
    if record.get("sku") is not None and values.get("sku") != record["sku"]:
        return False
    return _ready(values, request_id_for(resend_key(record["instructionId"])))


def references_to_look_up(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> frozenset[str]:
    """The item's references (MATCH_TYPES only) whose waiting instructions an item's change from `old` to `new`
    may answer: none while it is not ready; every one when it has just become ready or changed its SKU (an
    instruction for it may have waited for that); else only the references it gained (the others were looked
    up when it had them and was ready)."""
    if not _ready(new):
        return frozenset()
    refs = references.references_of(new)
    if old is not None and _ready(old) and old.get("sku") == new.get("sku"):
        refs -= references.references_of(old)
    return frozenset(ref for ref in refs if ref.split("#", 1)[0] in MATCH_TYPES)


def _ready(values: Mapping[str, Any], own_request_id: str | None = None) -> bool:
    """In place (`_IN_PLACE`) and free: not reserved, or reserved by the instruction's own resend (a create
    left undecided is asked again under the same key)."""
    reservation = values.get(eligibility.RESERVATION_ATTRIBUTE)
    if reservation is not None and reservation != own_request_id:
        return False
    return not eligibility.unmet(_IN_PLACE, values)
