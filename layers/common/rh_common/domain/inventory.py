"""Inventory state: a last-writer-wins register per attribute, ordered by event version.

An event's version is `<eventTime, fixed-width UTC>#<delivery id>`, so every
delivery has a distinct, totally ordered version and re-delivering one is a
no-op. Per attribute, the final value is the one from the newest event that set
it: the same for every arrival order and any number of duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from rh_common.domain import eligibility, timestamps

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
    "otherWorkflow",  # null, "recall" or "consolidation": shown as `workflow`
    "returnRequestId",
    "shipmentId",
    "sellerReferenceNumber",  # the return request's or shipment's
    "itemSellerReferenceNumber",  # the inventory's / line item's: shown when the return's is unknown
    "inboundTrackingNumber",
    "imageUrls",
    "warehouseRemarks",
    "fraudFlag",  # {"isFraudulent": bool, "reasonCode": str or None}
    "weight",
    "weightUom",  # set with every weight: the payload's unit, else "g"
    "dimensions",  # [d1, d2, d3]
    "dimensionUom",  # set with every dimensions: the payload's unit, else "cm"
    # When Return Helper logged the item, one register per source; `logged_at` says which wins, so the
    # precedence holds whatever order the sources arrive in.
    "arrivalCreateOn",  # returnInventory.createOn of an arrival event
    "listedCreateOn",  # ReturnInventory/list's createOn
    "arrivalEventTime",  # an arrival event's eventTime
    "consolidationOrderId",  # the consolidation order the item was packed into (consolidate-shipping events)
)
LOGGED_AT_SOURCES: tuple[str, ...] = ("arrivalCreateOn", "listedCreateOn", "arrivalEventTime")


# Attributes a sync dates by its own read rather than by the item's handling update (contract section 8: a VAS
# does not move handlingUpdatedOn). Their version can be newer than the item's lastVersion, so a write of one
# checks that attribute's own version too (adapters/inventory_store).
READ_DATED_ATTRIBUTES: tuple[str, ...] = ("pendingVas",)


class FactWrite(StrEnum):
    """What writing an event's facts to an item did (the Inventories port's answer)."""

    APPLIED = "applied"  # a new item, or a value changed
    MERGED = "merged"  # an existing item took some of the facts
    SUPERSEDED = "superseded"  # newer facts were already there (or, for a read-dated write, no such item)
    UNCHANGED = "unchanged"  # a read-dated write that found the values already there


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


def seller_reference(values: Mapping[str, Any]) -> Any:
    """The seller reference shown and looked up (contract section 11): the return request's or shipment's,
    else the inventory's / line item's."""
    return values.get("sellerReferenceNumber") or values.get("itemSellerReferenceNumber")


def changed_attributes(before: InventoryRecord, after: InventoryRecord) -> list[str]:
    return [name for name in STATE_ATTRIBUTES if before.versions.get(name) != after.versions.get(name)]


def attributes(record: InventoryRecord) -> dict[str, Any]:
    """The item as stored (what the eligibility conditions read): its values and its reservation."""
    return {**record.values, eligibility.RESERVATION_ATTRIBUTE: record.active_resend_request_id}


def ineligible_reasons(
    record: InventoryRecord, eligible_handling_codes: frozenset[str], detailed: bool = False
) -> list[str]:
    """Why a known item cannot be resent (empty: it can, reservations aside), from the conditions of
    domain/eligibility (the one home of the rule; the store's listing filter is derived from them too).
    `detailed`: the field errors' wording rather than the plans' reasons."""
    stored = attributes(record)
    unmet = eligibility.unmet(eligibility.resend_conditions(eligible_handling_codes), stored)
    return [condition.explain(stored, detailed) for condition in unmet]


def is_eligible(record: InventoryRecord, eligible_handling_codes: frozenset[str]) -> bool:
    """Resend prerequisites that local state can tell, the reservation included."""
    conditions = (*eligibility.resend_conditions(eligible_handling_codes), eligibility.NOT_RESERVED)
    return not eligibility.unmet(conditions, attributes(record))


def logged_at(values: Mapping[str, Any]) -> str | None:
    """When Return Helper logged the item (contract section 11): the arrival's createOn, else the list's, else
    the arrival event's eventTime; never when this stack received it."""
    return next((values[name] for name in LOGGED_AT_SOURCES if values.get(name) is not None), None)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def view(record: InventoryRecord, eligible_handling_codes: frozenset[str]) -> dict[str, Any]:
    """The contract's inventory view (sections 3 and 11)."""
    values = record.values
    dimensions = values.get("dimensions")
    fraud = values.get("fraudFlag")
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
        "returnRequestId": values.get("returnRequestId"),
        "shipmentId": values.get("shipmentId"),
        "sellerReferenceNumber": seller_reference(values),
        "inboundTrackingNumber": values.get("inboundTrackingNumber"),
        "imageUrls": None if values.get("imageUrls") is None else list(values["imageUrls"]),
        "warehouseRemarks": values.get("warehouseRemarks"),
        "fraudFlag": None
        if fraud is None
        else {"isFraudulent": fraud.get("isFraudulent") is True, "reasonCode": fraud.get("reasonCode")},
        "weight": _number(values.get("weight")),
        "dimensions": None if dimensions is None else [float(side) for side in dimensions],
        "loggedAt": logged_at(values),
        "workflow": values.get("otherWorkflow"),
    }
