"""Webhook payload -> what it says about which inventories (and resends).

Pure. Knows every event type of the contract's table; everything else is
"not handled" and only kept. Ids and codes are normalised here, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rh_common.domain import codes, timestamps


class UnprocessableEvent(ValueError):
    """A verified body we cannot read as an event (kept for inspection)."""


@dataclass(frozen=True)
class InventoryFacts:
    """Attribute values an event states for one inventory as of its eventTime."""

    inventory_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class ResendShipment:
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


@dataclass(frozen=True)
class ResendUpdate:
    """What a resend event says about an upstream resend."""

    resend_id: int
    status_code: int | None = None
    tracking_number: str | None = None
    error: str | None = None
    # Every entry of the report's resendShipmentList; None when the report carries no list.
    shipments: tuple[ResendShipment, ...] | None = None


@dataclass(frozen=True)
class NormalisedEvent:
    category: str
    action: str
    event_time: str
    handled: bool
    inventories: tuple[InventoryFacts, ...] = ()
    resend: ResendUpdate | None = None
    notification_id: str | None = field(default=None)
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # the body as read


# Resend status codes (0 pending, 1 canceled, 2 inProgress, 3 completed, 4 failed)
# and what each means for the items in the resend.
_RESEND_HANDLING: dict[int, dict[str, Any]] = {
    0: {"handlingCode": "rsd", "handlingStatusCode": "pending"},
    2: {"handlingCode": "rsd", "handlingStatusCode": "inProgress"},
    3: {"handlingCode": "rsd", "handlingStatusCode": "completed", "inStock": False},
}


def _texts(source: Mapping[str, Any], *names: str) -> dict[str, str]:
    """The named string fields that are present (null and "" are absent); any other type is a shape
    the event never has."""
    found = {}
    for name in names:
        value = source.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {type(value).__name__}")
        found[name] = value
    return found


def _number(value: Any, what: str) -> int | Decimal:
    """A JSON number as read (ints, or Decimal exactly as written); whether DynamoDB can hold it
    is the store's to say."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    return value


def _code(value: Any, what: str) -> int:
    """A small integer code sent as a JSON number or a digit string (resend status 0-4)."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 4:
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer code, not {type(value).__name__}")
    return value


def _inventory_snapshot(row: Mapping[str, Any], warehouse_fallback: Any = None) -> InventoryFacts:
    """An inventory row (ids/codes as strings or ints) -> identity and handling facts."""
    values: dict[str, Any] = _texts(row, "rma", "sku", "description")
    warehouse = row.get("warehouseId", warehouse_fallback)
    if warehouse not in (None, ""):
        values["warehouseId"] = codes.parse_id(warehouse)
    if row.get("handlingCode") is not None:
        values["handlingCode"] = codes.handling_code(row["handlingCode"])
    if row.get("handlingStatusCode") is not None:
        values["handlingStatusCode"] = codes.handling_status(row["handlingStatusCode"])
    return InventoryFacts(codes.parse_id(row["returnInventoryId"]), values)


def _arrived(row: Mapping[str, Any], warehouse_fallback: Any = None, **extra: Any) -> InventoryFacts:
    facts = _inventory_snapshot(row, warehouse_fallback)
    return InventoryFacts(facts.inventory_id, {**facts.values, "inStock": True, **extra})


def _new_inventory(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    shipment = payload.get("shipment") or {}
    return (_arrived(payload["returnInventory"], shipment.get("shipToWarehouseId")),), None


def _inventory_list(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # markShipmentArrive v1 and assignUnknown list the arrived items; v2 lists none
    # (its items follow as newInventoryCreated, one per package).
    shipment = payload.get("shipment") or {}
    rows = payload.get("returnInventoryList") or ()
    return tuple(_arrived(row, shipment.get("shipToWarehouseId")) for row in rows), None


def _handling_completed(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    row = payload["returnInventory"]
    facts = _inventory_snapshot(row)
    values = {"handlingStatusCode": "completed", **facts.values}
    if values.get("handlingCode") in codes.LEAVES_STOCK_WHEN_COMPLETED and values["handlingStatusCode"] == "completed":
        values["inStock"] = False
    return (InventoryFacts(facts.inventory_id, values),), None


def _handling_canceled(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    facts = _inventory_snapshot(payload["returnInventory"])
    return (InventoryFacts(facts.inventory_id, {**facts.values, "handlingStatusCode": "pending"}),), None


def tracking_and_error(shipments: Iterable[Mapping[str, Any]] | None) -> tuple[str | None, str | None]:
    """A resend's tracking number and error: the first shipment that has one (webhook and GetResend alike)."""
    rows = list(shipments or ())
    tracking = next((row["trackingNumber"] for row in rows if row.get("trackingNumber")), None)
    error = next((str(row["error"]) for row in rows if row.get("error")), None)
    return tracking, error


# DynamoDB's numbers: 38 significant digits, exponents -130 to +125.
_MAX_DIGITS, _MIN_EXPONENT, _MAX_EXPONENT = 38, -130, 125


def _amount(value: Any) -> int | Decimal | None:
    """A shipment's cost or weight exactly as sent (int, or Decimal: a float, from a reader that made one, by
    its shortest repr); None for anything else or a number nothing can store: a detail that must not cost
    the status report it came with."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**_MAX_DIGITS else None
    if isinstance(value, float):
        value = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:  # decimal.InvalidOperation: no number
            return None
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    digits, magnitude = len(value.as_tuple().digits), value.adjusted()
    if value and not (digits <= _MAX_DIGITS and _MIN_EXPONENT <= magnitude <= _MAX_EXPONENT):
        return None
    return value


def _optional_id(value: Any) -> int | None:
    try:
        return codes.parse_id(value)
    except ValueError:
        return None


def _optional_text(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def resend_shipments(rows: Any) -> tuple[ResendShipment, ...] | None:
    """A report's resendShipmentList (webhook v2, GetResend), None when it has none; ids as ints, numbers
    exactly as sent, the currency upper-case (as the quote shows it), an empty `error` as null."""
    if not isinstance(rows, list):
        return None
    shipments = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        currency = row.get("costCurrencyCode", row.get("currencyCode"))
        tracking = row.get("trackingNumber")
        shipments.append(
            ResendShipment(
                resend_shipment_id=_optional_id(row.get("resendShipmentId")),
                warehouse_id=_optional_id(row.get("warehouseId")),
                tracking_number=tracking if isinstance(tracking, str) and tracking else None,
                cost=_amount(row.get("cost")),
                currency_code=currency.upper() if isinstance(currency, str) and currency else None,
                chargeable_weight=_amount(row.get("chargeableWeight")),
                error=_optional_text(row.get("error")),
            )
        )
    return tuple(shipments)


def _resend_status(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], ResendUpdate]:
    resend = payload["resend"]
    status = _code(resend["resendStatusCode"], "resendStatusCode")
    tracking, error = tracking_and_error(payload.get("resendShipmentList"))
    if tracking is not None and not isinstance(tracking, str):
        raise ValueError(f"trackingNumber must be a string, not {type(tracking).__name__}")
    inventories = []
    for row in payload.get("returnInventoryList") or ():
        facts = _inventory_snapshot(row)
        # The payload's rows are a snapshot that lags the resend (upstream samples show
        # `ohd` on a completed resend): the resend status decides the handling while it
        # is active or done; after cancel/failure the snapshot's handling stands.
        inventories.append(InventoryFacts(facts.inventory_id, {**facts.values, **_RESEND_HANDLING.get(status, {})}))
    shipments = resend_shipments(payload.get("resendShipmentList"))
    update = ResendUpdate(codes.parse_id(resend["resendId"]), status, tracking, error, shipments)
    return tuple(inventories), update


def _resend_tracking(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], ResendUpdate]:
    resend = payload["resend"]
    return (), ResendUpdate(
        codes.parse_id(resend["resendId"]),
        tracking_number=_texts(payload, "trackingNumber").get("trackingNumber"),
        error=payload.get("failureReason") or None,
    )


_VAS_FINISHED = {"successful", "failed", "1", "2"}


def _vas_updated(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # vasUpdated identifies VAS lines, not inventories: only rows that carry an
    # inventory id can be applied.
    facts = []
    for row in payload.get("updateVasList") or ():
        if row.get("returnInventoryId") in (None, ""):
            continue
        finished = str(row.get("vasStatusCode", "")).strip().lower() in _VAS_FINISHED
        facts.append(InventoryFacts(codes.parse_id(row["returnInventoryId"]), {"pendingVas": not finished}))
    return tuple(facts), None


def _split_line_item(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    rows = payload.get("splitLineItemAndReturnInventoryList") or ()
    return tuple(_arrived(row["returnInventory"], pendingVas=False) for row in rows), None


def _recall_status(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    recall = payload["recall"]
    rows = recall.get("recallInventoryList") or payload.get("recallInventoryList") or ()
    facts = (InventoryFacts(codes.parse_id(r["returnInventoryId"]), {"otherWorkflow": "recall"}) for r in rows)
    return tuple(facts), None


def _sku_updated(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    row = payload["returnInventory"]
    values: dict[str, Any] = _texts(row, "sku")
    if row.get("warehouseId") not in (None, ""):
        values["warehouseId"] = codes.parse_id(row["warehouseId"])
    return (InventoryFacts(codes.parse_id(row["returnInventoryId"]), values),), None


def _recalibrated(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # Weight/dimensions re-measured: the weight changes a resend's fee, and recording it
    # moves the item's version, which is what keys a cached quote (adapters.dynamodb.quote_cache).
    supplement = payload["recalibrateSupplement"]
    values: dict[str, Any] = {"weight": _number(supplement.get("weight"), "weight")}
    if supplement.get("warehouseId") not in (None, ""):
        values["warehouseId"] = codes.parse_id(supplement["warehouseId"])
    return (InventoryFacts(codes.parse_id(supplement["returnInventoryId"]), values),), None


Reader = Callable[[Mapping[str, Any]], tuple[tuple[InventoryFacts, ...], ResendUpdate | None]]

READERS: dict[tuple[str, str], Reader] = {
    ("newInventoryCreated", "newInventoryCreated"): _new_inventory,
    ("rsl", "markShipmentArrive"): _inventory_list,
    ("rsl", "assignUnknown"): _inventory_list,
    ("rinv", "completeInventoryHandling"): _handling_completed,
    ("rinv", "cancelInventoryHandling"): _handling_canceled,
    ("resend", "updateResendStatus"): _resend_status,
    ("resend", "updateResendTrackingNumber"): _resend_tracking,
    ("rrliv", "vasUpdated"): _vas_updated,
    ("lineItemVasReturnInventoryLineItem", "splitLineItem"): _split_line_item,
    ("recall", "recallUpdateStatus"): _recall_status,
    ("userUpdateReturnInventorySku", "userUpdateReturnInventorySku"): _sku_updated,
    ("completeRecalibrate", "completeRecalibrate"): _recalibrated,
}


def normalise(payload: Any) -> NormalisedEvent:
    """Raise UnprocessableEvent when the body is not a readable event."""
    if not isinstance(payload, Mapping):
        raise UnprocessableEvent("body is not a JSON object")
    category, action, event_time = payload.get("category"), payload.get("action"), payload.get("eventTime")
    if not isinstance(category, str) or not isinstance(action, str):
        raise UnprocessableEvent("category and action are required strings")
    if not isinstance(event_time, str):
        raise UnprocessableEvent("eventTime is a required string")
    try:
        timestamps.parse(event_time)
    except ValueError as exc:
        raise UnprocessableEvent(f"eventTime: {exc}") from exc
    notification_id = payload.get("notificationId")
    notification_id = str(notification_id) if notification_id not in (None, "") else None
    reader = READERS.get((category, action))
    if reader is None:
        return NormalisedEvent(category, action, event_time, False, notification_id=notification_id, payload=payload)
    try:
        inventories, resend = reader(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnprocessableEvent(f"{category}/{action}: {exc!r}") from exc
    inventories = _merge_same_inventory(inventories)
    return NormalisedEvent(category, action, event_time, True, inventories, resend, notification_id, payload)


def _merge_same_inventory(facts: Iterable[InventoryFacts]) -> tuple[InventoryFacts, ...]:
    merged: dict[int, dict[str, Any]] = {}
    for item in facts:
        merged.setdefault(item.inventory_id, {}).update(item.values)
    return tuple(InventoryFacts(inventory_id, values) for inventory_id, values in merged.items())
