"""Inventory state: a last-writer-wins register per attribute, ordered by event version.

An event's version is `<eventTime, fixed-width UTC>#<delivery id>`, so every
delivery has a distinct, totally ordered version and re-delivering one is a
no-op. Per attribute, the final value is the one from the newest event that set
it: the same for every arrival order and any number of duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rh_common.domain import timestamps

# Attributes that events set; each keeps its own version.
STATE_ATTRIBUTES: tuple[str, ...] = (
    "warehouseId",
    "rma",
    "sku",
    "description",
    "handlingCode",
    "handlingStatusCode",
    "inStock",
    "pendingVas",
    "otherWorkflow",
    "weight",  # completeRecalibrate; not in the view (it only moves the version a cached quote is keyed by)
    # Look-up references (domain/references.py) besides rma and sku.
    "sellerReferenceNumber",
    "returnRequestId",
    "inboundTrackingNumber",
    "consolidationOrderId",  # the consolidation order the item was packed into (consolidate-shipping events)
)


# Attributes a sync dates by its own read rather than by the item's handling update (contract section 8: a VAS
# does not move handlingUpdatedOn). Their version can be newer than the item's lastVersion, so a write of one
# checks that attribute's own version too (adapters/inventory_store).
READ_DATED_ATTRIBUTES: tuple[str, ...] = ("pendingVas",)


def event_version(event_time: str, delivery_id: str) -> str:
    return f"{timestamps.sortable(event_time)}#{delivery_id}"


@dataclass(frozen=True)
class InventoryRecord:
    inventory_id: int
    values: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    last_version: str | None = None
    last_event_time: str | None = None
    active_resend_request_id: str | None = None


def apply(record: InventoryRecord, facts: Mapping[str, Any], version: str, event_time: str) -> InventoryRecord:
    """The pure reducer: merge one event's facts into the record."""
    values, versions = dict(record.values), dict(record.versions)
    for name, value in facts.items():
        if name not in STATE_ATTRIBUTES:
            raise ValueError(f"not an inventory attribute: {name}")
        if versions.get(name, "") < version:
            values[name], versions[name] = value, version
    if (record.last_version or "") < version:
        return replace(record, values=values, versions=versions, last_version=version, last_event_time=event_time)
    return replace(record, values=values, versions=versions)


def changed_attributes(before: InventoryRecord, after: InventoryRecord) -> list[str]:
    return [name for name in STATE_ATTRIBUTES if before.versions.get(name) != after.versions.get(name)]


def ineligible_reasons(record: InventoryRecord, eligible_handling_codes: frozenset[str]) -> list[str]:
    """Why a known item cannot be resent (empty: it can, reservations aside): the one home of the rule
    (contract section 3) for the create path, the plan and the view; the store's listing filter
    (adapters/inventory_store) mirrors it, and a test checks the two agree."""
    values = record.values
    reasons = []
    if values.get("warehouseId") is None:
        reasons.append("has no known warehouse yet")
    code, status = values.get("handlingCode"), values.get("handlingStatusCode")
    if code not in eligible_handling_codes or status != "pending":
        allowed = "/".join(sorted(eligible_handling_codes))
        reasons.append(f"has handling {code}/{status}; a resend needs {allowed} with status pending")
    if values.get("inStock") is not True:
        reasons.append("is not in stock")
    if values.get("pendingVas"):
        reasons.append("has a pending VAS request")
    if values.get("otherWorkflow"):
        reasons.append(f"is in another workflow ({values['otherWorkflow']})")
    return reasons


def is_eligible(record: InventoryRecord, eligible_handling_codes: frozenset[str]) -> bool:
    """Resend prerequisites that local state can tell, the reservation included."""
    return not ineligible_reasons(record, eligible_handling_codes) and record.active_resend_request_id is None


def view(record: InventoryRecord, eligible_handling_codes: frozenset[str]) -> dict[str, Any]:
    """The contract's inventory view."""
    values = record.values
    return {
        "returnInventoryId": record.inventory_id,
        "warehouseId": values.get("warehouseId"),
        "handlingCode": values.get("handlingCode"),
        "handlingStatusCode": values.get("handlingStatusCode"),
        "inStock": bool(values.get("inStock", False)),
        "pendingVas": bool(values.get("pendingVas", False)),
        "activeResendRequestId": record.active_resend_request_id,
        "eligibleForResend": is_eligible(record, eligible_handling_codes),
        "rma": values.get("rma"),
        "sku": values.get("sku"),
        "description": values.get("description"),
        "lastEventTime": record.last_event_time,
    }
