"""Resend request statuses: where a request can go, and what each upstream status code means.

Pure. A status never moves backwards: late or duplicated webhooks and retries
are harmless because every transition is checked here first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rh_common.domain import resend_errors, timestamps


@dataclass(frozen=True)
class ShipmentReport:
    """One entry of a report's `resendShipmentList`, as the resend view shows it (no address)."""

    resend_shipment_id: int | None
    warehouse_id: int | None
    tracking_number: str | None
    cost: int | Decimal | None
    currency_code: str | None
    chargeable_weight: int | Decimal | None
    error: str | None

    def view(self) -> dict[str, Any]:
        return {
            "resendShipmentId": self.resend_shipment_id,
            "warehouseId": self.warehouse_id,
            "trackingNumber": self.tracking_number,
            "cost": self.cost,
            "currencyCode": self.currency_code,
            "chargeableWeight": self.chargeable_weight,
            "error": self.error,
        }


# Why a request waited for a person (domain/approval.py decides: its `Why`), kept once answered; absent: it never
# waited. Its view's `approvalReason`.
APPROVAL_REASON = "approvalWhy"


class Status(StrEnum):
    # A resend the system decided on by itself, waiting for a person (domain/approval): items reserved,
    # nothing upstream; -> PENDING on approve, -> CANCELED on reject, cancel or timeout.
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    PENDING = "PENDING"  # accepted here, not yet confirmed upstream (may be retrying)
    SUBMITTED = "SUBMITTED"  # upstream accepted; upstream status pending
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"  # upstream refused (or validation failed for an automation message)
    DEAD = "DEAD"  # gave up after RETRY_MAX_ATTEMPTS


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED, Status.REJECTED, Status.DEAD})
# Items are released when a request ends without shipping them.
RELEASES_ITEMS = frozenset({Status.FAILED, Status.CANCELED, Status.REJECTED, Status.DEAD})

# Ended before the items left the warehouse: their handling goes back to what it was when
# the request reserved them (REJECTED and DEAD never marked them rsd, so there is nothing to undo).
RESTORES_HANDLING = frozenset({Status.FAILED, Status.CANCELED})
_HANDLING = ("handlingCode", "handlingStatusCode")

_RANK = {Status.AWAITING_APPROVAL: -1, Status.PENDING: 0, Status.SUBMITTED: 1, Status.IN_PROGRESS: 2}

# Where `lastError` means something: while PENDING the last transient failure, and why a request ended
# without shipping. Anywhere else an old error is stale (a resend that succeeded after retries shows none).
SHOWS_LAST_ERROR = frozenset({Status.PENDING, Status.REJECTED, Status.DEAD, Status.FAILED})


@dataclass(frozen=True)
class UpstreamCode:
    """What one upstream `resendStatusCode` means, for the request and for its items."""

    code: int
    status: Status  # the request's status (reached only forward: can_move)
    # Each item's handling while the resend is at this code, whatever the report's own rows say (they lag
    # the resend). Empty for the codes that end it unshipped: the rows stand, and the tracker gives the
    # items the handling they had at reservation back (RESTORES_HANDLING) and releases them (RELEASES_ITEMS).
    items_handling: Mapping[str, Any]


# The one table of Return Helper's resend status codes (returnhelper-api.md: 0 pending, 1 canceled,
# 2 inProgress, 3 completed, 4 failed). A resend that completed has left the warehouse: rsd is a
# handling that leaves stock once completed (codes.LEAVES_STOCK_WHEN_COMPLETED).
UPSTREAM_CODES: Mapping[int, UpstreamCode] = {
    entry.code: entry
    for entry in (
        UpstreamCode(0, Status.SUBMITTED, {"handlingCode": "rsd", "handlingStatusCode": "pending"}),
        UpstreamCode(1, Status.CANCELED, {}),
        UpstreamCode(2, Status.IN_PROGRESS, {"handlingCode": "rsd", "handlingStatusCode": "inProgress"}),
        UpstreamCode(3, Status.COMPLETED, {"handlingCode": "rsd", "handlingStatusCode": "completed", "inStock": False}),
        UpstreamCode(4, Status.FAILED, {}),
    )
}
# The code a status stands for upstream (what a request records when it reaches that status itself:
# SUBMITTED on createResend's success, CANCELED on cancelResend's).
UPSTREAM_CODE_OF: Mapping[Status, UpstreamCode] = {entry.status: entry for entry in UPSTREAM_CODES.values()}


def read_status_code(value: Any) -> int | None:
    """A `resendStatusCode` as Return Helper sends it (webhook and GetResend alike): a JSON integer or a
    digit string; None for anything else (the caller says what that means for its report)."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 4:
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def items_handling(status_code: int) -> Mapping[str, Any]:
    """The items' handling a resend at this upstream code implies (empty: none, or an unknown code)."""
    known = UPSTREAM_CODES.get(status_code)
    return known.items_handling if known is not None else {}


def can_move(current: Status, target: Status) -> bool:
    """Forward only: terminal states are final; active ones only advance. An upstream report never moves a
    request awaiting approval (nothing of it went upstream): only approve, reject or timeout do (domain.approval)."""
    if current in TERMINAL or current == target or current == Status.AWAITING_APPROVAL:
        return False
    if target in TERMINAL:
        return True
    return _RANK[target] > _RANK[current]


def handling_before(values_by_id: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """What a request records when it reserves items: each item's handling then (map keys are str ids)."""
    return {
        str(inventory_id): {name: values[name] for name in _HANDLING if values.get(name) is not None}
        for inventory_id, values in values_by_id.items()
    }


def handling_to_restore(record: dict[str, Any]) -> dict[int, dict[str, str]]:
    """For a FAILED or CANCELED request: per item, the handling recorded at reservation."""
    held = record.get("handlingBefore") or {}
    return {int(inventory_id): dict(values) for inventory_id, values in held.items() if values}


def view(record: dict[str, Any]) -> dict[str, Any]:
    """The contract's resend view (no address, phone or e-mail)."""
    return {
        "resendRequestId": record["resendRequestId"],
        "status": record["status"],
        "returnInventoryIdList": [int(i) for i in record.get("returnInventoryIdList", [])],
        "resendId": record.get("resendId"),
        "resendNumber": record.get("resendNumber"),
        "resendStatusCode": record.get("resendStatusCode"),
        "trackingNumber": record.get("trackingNumber"),
        "attempts": int(record.get("attempts", 0)),
        "lastError": resend_errors.view(current_error(record)),
        "idempotencyKey": record.get("idempotencyKey"),
        "createdAt": record.get("createdAt"),
        "updatedAt": record.get("updatedAt"),
        # A record written before these were kept has neither: no report's shipments, no quote known.
        "shipments": [dict(shipment) for shipment in record.get("shipments") or []],
        "quotedFee": record.get("quotedFee"),
        "approvalReason": record.get(APPROVAL_REASON),
    }


def current_error(record: dict[str, Any]) -> Any:
    """The record's stored `lastError` where its status gives it a meaning (SHOWS_LAST_ERROR, and a request
    CANCELED because its approval never came), else None (resend_errors reads it for the view and for events)."""
    stored = record.get("lastError")
    if record.get("status") in SHOWS_LAST_ERROR:
        return stored
    if record.get("status") == Status.CANCELED and isinstance(stored, Mapping):
        return stored if stored.get("reason") == resend_errors.Reason.APPROVAL_TIMEOUT else None
    return None


def _comparable(shipments: Any) -> Any:
    """Shipments with every number as a Decimal of its text: a stored list reads back floats (11.03) where
    the report has Decimals (Decimal("11.03")), and they are the same list."""
    if not isinstance(shipments, list):
        return shipments
    return [
        {k: Decimal(str(v)) if isinstance(v, float | Decimal) else v for k, v in shipment.items()}
        for shipment in shipments
    ]


def adopts(record: dict[str, Any] | None, inventory_ids: list[int]) -> bool:
    """Whether a status report for a resend id no request has recorded, about exactly these items, is this
    request's: PENDING with an attempt whose outcome is unknown (it may have created that resend)."""
    return (
        record is not None
        and record.get("status") == Status.PENDING.value
        and record.get("attemptUnknown") is True
        and record.get("resendId") is None
        and bool(inventory_ids)
        and sorted(int(i) for i in record.get("returnInventoryIdList", [])) == sorted(inventory_ids)
    )


def upstream_changes(
    record: dict[str, Any],
    status_code: int | None,
    tracking_number: str | None,
    error: str | None,
    now: str,
    event_time: str | None = None,
    shipments: tuple[ShipmentReport, ...] | None = None,
    source: str | None = None,
) -> tuple[dict[str, Any], Status | None]:
    """What an upstream status report (webhook or GetResend) changes on a request.

    Returns (changes, new status or None). Empty changes: nothing new (a late or
    duplicated report, or one that would move the status backwards). The tracking number is
    the newest report's by `event_time` (a poll's is `now`), kept in `trackingEventTime`.
    The shipments are the newest report's that carries a list, whatever the status, by
    `event_time` and then `source` (the delivery id: two reports of one instant settle the same
    way in any order), kept in `shipmentsVersion`.
    """
    current = Status(record["status"])
    changes: dict[str, Any] = {}
    known = UPSTREAM_CODES.get(status_code) if status_code is not None else None
    target = known.status if known is not None else None
    if target is not None and can_move(current, target):
        changes["status"] = target.value
        changes["resendStatusCode"] = status_code
        if target == Status.FAILED:
            changes["lastError"] = resend_errors.failed_upstream(error)
        elif target not in SHOWS_LAST_ERROR and record.get("lastError") is not None:
            changes["lastError"] = None  # removed: a retry's error is stale once upstream has the resend
    else:
        target = None
    reported_at = timestamps.sortable(event_time or now)
    seen_at = record.get("trackingEventTime")
    if tracking_number and current not in RELEASES_ITEMS and (seen_at is None or reported_at > seen_at):
        if tracking_number != record.get("trackingNumber"):
            changes["trackingNumber"] = tracking_number
        if changes:  # a poll repeating the number it knows writes nothing
            changes["trackingEventTime"] = reported_at
    if shipments is not None:
        version = f"{reported_at}#{source or ''}"
        seen_version = record.get("shipmentsVersion")
        if seen_version is None or version > seen_version:
            listed = [shipment.view() for shipment in shipments]
            if _comparable(listed) != _comparable(record.get("shipments")):
                changes["shipments"] = listed
            # A webhook's report is remembered as the newest even when its list is the one shown (an older
            # one arriving later must not replace it); a poll repeating what it knows writes nothing.
            if changes or source is not None:
                changes["shipmentsVersion"] = version
    if changes:
        changes["updatedAt"] = now
    return changes, target
