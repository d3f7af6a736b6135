"""Webhook payload -> what it says about which inventories (and resends).

Pure. Knows every event type of the contract's table; everything else is
"not handled" and only kept. Ids and codes are normalised here, once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rh_common.domain import codes, resend_lifecycle, timestamps
from rh_common.domain.resend_lifecycle import ShipmentReport


class UnprocessableEvent(ValueError):
    """A verified body we cannot read as an event (kept for inspection)."""


@dataclass(frozen=True)
class InventoryFacts:
    """Attribute values an event states for one inventory as of its eventTime."""

    inventory_id: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class ResendUpdate:
    """What a resend event says about an upstream resend."""

    resend_id: int
    status_code: int | None = None
    tracking_number: str | None = None
    error: str | None = None
    # Every entry of the report's resendShipmentList; None when the report carries no list.
    shipments: tuple[ShipmentReport, ...] | None = None


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
    cancelled_order: str | None = None  # consolidateShippingOrderCancelled: the order whose items it frees


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


def _number(value: Any, what: str) -> int | float | Decimal:
    """A JSON number as read (ints, Decimal exactly as a webhook wrote it, floats from an API answer); whether
    DynamoDB can hold it is the store's to say."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
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


def _id(source: Mapping[str, Any], name: str) -> dict[str, int]:
    """{name: the id} when the id is present (ids arrive as strings or numbers)."""
    value = source.get(name)
    return {} if value in (None, "") else {name: codes.parse_id(value)}


def _measures(source: Mapping[str, Any]) -> dict[str, Any]:
    """Weight and dimensions as sent (numbers kept exactly), each with its unit (the payload's, else g / cm)."""
    values: dict[str, Any] = {}
    units = _texts(source, "weightUom", "dimensionUom")
    if source.get("weight") is not None:
        values["weight"] = _number(source["weight"], "weight")
        values["weightUom"] = units.get("weightUom", "g")
    sides = [source.get(f"dimension{n}") for n in (1, 2, 3)]
    if all(side is not None for side in sides):
        values["dimensions"] = [_number(side, "dimension") for side in sides]
        values["dimensionUom"] = units.get("dimensionUom", "cm")
    return values


def _fraud_flag(line_item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The line item's fraud flag (`isFraudulent`, `fraudReasonCode` in Return Helper's samples), when it has one."""
    if not line_item or line_item.get("isFraudulent") is None:
        return {}
    flagged = line_item["isFraudulent"]
    if not isinstance(flagged, bool):
        raise ValueError(f"isFraudulent must be a boolean, not {type(flagged).__name__}")
    reason = _texts(line_item, "fraudReasonCode").get("fraudReasonCode")
    return {"fraudFlag": {"isFraudulent": flagged, "reasonCode": reason}}


def _image_urls(images: Any, key: str | None = None) -> list[str]:
    """Photo URLs from a list of URLs, or of objects holding one under `key` (an entry without one, e.g. only an
    `imageKey`, is left out)."""
    if not isinstance(images, list):
        raise ValueError(f"an image list must be a list, not {type(images).__name__}")
    urls = []
    for image in images:
        url = image.get(key) if key and isinstance(image, Mapping) else image
        if url in (None, ""):
            continue
        if not isinstance(url, str):
            raise ValueError(f"an image URL must be a string, not {type(url).__name__}")
        urls.append(url)
    return urls


def _parcel(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What an arrival says about the return parcel all its items came in (contract section 11): the return
    request's seller reference, else the shipment's; the shipment's tracking number, else its label's."""
    request = payload.get("returnRequest") or {}
    shipment = payload.get("shipment") or {}
    label = payload.get("label") or {}
    values: dict[str, Any] = {**_id(shipment, "returnRequestId"), **_id(request, "returnRequestId")}
    values.update(_id(shipment, "shipmentId"))
    reference = _texts(request, "sellerReferenceNumber") or _texts(shipment, "sellerReferenceNumber")
    if reference:
        values["sellerReferenceNumber"] = reference["sellerReferenceNumber"]
    tracking = _texts(shipment, "trackingNumber") or _texts(label, "trackingNumber")
    if tracking:
        values["inboundTrackingNumber"] = tracking["trackingNumber"]
    return values


def item_details(row: Mapping[str, Any]) -> dict[str, Any]:
    """What an inventory row (a webhook's or GetReturnInventory's) says about the item beyond its handling."""
    values: dict[str, Any] = {**_id(row, "returnRequestId"), **_measures(row)}
    texts = _texts(row, "sellerReferenceNumber", "warehouseRemarks")
    if "sellerReferenceNumber" in texts:
        values["itemSellerReferenceNumber"] = texts["sellerReferenceNumber"]
    if "warehouseRemarks" in texts:
        values["warehouseRemarks"] = texts["warehouseRemarks"]
    return values


def _logged(row: Mapping[str, Any], event_time: str) -> dict[str, str]:
    """When Return Helper logged an arriving item: its createOn (not upstream's unset sentinel), and the
    arrival's eventTime as the last resort (inventory.logged_at says which wins)."""
    values = {"arrivalEventTime": timestamps.sortable(event_time)}
    created = _texts(row, "createOn").get("createOn")
    if created is not None and not created.startswith(timestamps.UNSET_SENTINEL):
        values["arrivalCreateOn"] = timestamps.sortable(created)
    return values


def _arrived(
    row: Mapping[str, Any], payload: Mapping[str, Any], warehouse_fallback: Any = None, **extra: Any
) -> InventoryFacts:
    """An item that arrived: in stock, with everything the arrival says about it."""
    facts = _inventory_snapshot(row, warehouse_fallback)
    details = {**_parcel(payload), **item_details(row), **_logged(row, payload["eventTime"])}
    return InventoryFacts(facts.inventory_id, {**details, **facts.values, "inStock": True, **extra})


def _new_inventory(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    shipment = payload.get("shipment") or {}
    row = payload["returnInventory"]
    photos = {} if row.get("imageList") is None else {"imageUrls": _image_urls(row["imageList"], "imageUrl")}
    return (_arrived(row, payload, shipment.get("shipToWarehouseId"), **photos),), None


def _inventory_list(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # markShipmentArrive v1 and assignUnknown list the arrived items; v2 lists none
    # (its items follow as newInventoryCreated, one per package). Their line items (v1 `lineItems`,
    # assignUnknown's `returnRequestLineItemIncludeImageList` with the photos) carry the fraud flags.
    shipment = payload.get("shipment") or {}
    line_items: dict[int | None, dict[str, Any]] = {}
    for line_item in payload.get("lineItems") or ():
        line_items[_line_item_id(line_item)] = _fraud_flag(line_item)
    for entry in payload.get("returnRequestLineItemIncludeImageList") or ():
        line_item = entry.get("returnRequestLineItem") or {}
        found = line_items.setdefault(_line_item_id(line_item), {})
        found.update(_fraud_flag(line_item))
        if entry.get("imageUrlList") is not None:
            found["imageUrls"] = _image_urls(entry["imageUrlList"])
    line_items.pop(None, None)
    warehouse = shipment.get("shipToWarehouseId")
    rows = payload.get("returnInventoryList") or ()
    return tuple(_arrived(row, payload, warehouse, **line_items.get(_line_item_id(row), {})) for row in rows), None


def _line_item_id(source: Mapping[str, Any]) -> int | None:
    return _id(source, "returnRequestLineItemId").get("returnRequestLineItemId")


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


def resend_shipments(rows: Any) -> tuple[ShipmentReport, ...] | None:
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
            ShipmentReport(
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
    status = resend_lifecycle.read_status_code(resend["resendStatusCode"])
    if status is None:
        raise ValueError(f"resendStatusCode must be an integer code, not {type(resend['resendStatusCode']).__name__}")
    tracking, error = tracking_and_error(payload.get("resendShipmentList"))
    if tracking is not None and not isinstance(tracking, str):
        raise ValueError(f"trackingNumber must be a string, not {type(tracking).__name__}")
    inventories = []
    for row in payload.get("returnInventoryList") or ():
        facts = _inventory_snapshot(row)
        # The payload's rows are a snapshot that lags the resend (upstream samples show
        # `ohd` on a completed resend): the resend status decides the handling while it
        # is active or done; after cancel/failure the snapshot's handling stands.
        inventories.append(
            InventoryFacts(facts.inventory_id, {**facts.values, **resend_lifecycle.items_handling(status)})
        )
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
    facts = []
    for entry in payload.get("splitLineItemAndReturnInventoryList") or ():
        extra = {"pendingVas": False, **_fraud_flag(entry.get("returnRequestLineItem"))}
        extra.update(_measures(entry.get("returnRequestLineItemSupplement") or {}))  # the split parcel's, measured
        facts.append(_arrived(entry["returnInventory"], payload, **extra))
    return tuple(facts), None


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
    _number(supplement.get("weight"), "weight")  # required (contract section 4)
    values: dict[str, Any] = _measures(supplement)
    if supplement.get("warehouseId") not in (None, ""):
        values["warehouseId"] = codes.parse_id(supplement["warehouseId"])
    return (InventoryFacts(codes.parse_id(supplement["returnInventoryId"]), values),), None


# Consolidate shipping (Return Helper's Webhook.rst): an item listed in an order's boxes is under that
# workflow (not eligible), whatever its status there (PENDING, IN_PROGRESS, PACKED); a SHIPPED item or box
# has left stock. The order's cancellation names no item: the reference table's consumer frees them.
_CONSOLIDATION = "consolidation"
_SHIPPED = "SHIPPED"
CONSOLIDATION_CANCELLED = ("consolidateShippingOrderCancelled", "consolidateShippingOrderCancelled")


def _order_id(source: Mapping[str, Any]) -> str:
    order_id = source["consolidateShippingOrderId"]
    if not isinstance(order_id, str) or not order_id or len(order_id.encode("utf-8")) > 1024:
        raise ValueError("consolidateShippingOrderId must be a non-empty string of at most 1024 bytes")
    return order_id


def _boxed(order_id: str, boxes: Iterable[Mapping[str, Any]]) -> tuple[InventoryFacts, ...]:
    facts = []
    for box in boxes:
        box_shipped = box.get("consolidateShippingShipmentBoxStatus") == _SHIPPED
        for row in box.get("consolidateShippingInventoryList") or ():
            values: dict[str, Any] = {"otherWorkflow": _CONSOLIDATION, "consolidationOrderId": order_id}
            if box_shipped or row.get("consolidateShippingInventoryStatus") == _SHIPPED:
                values["inStock"] = False
            facts.append(InventoryFacts(codes.parse_id(row["returnInventoryId"]), values))
    return tuple(facts)


def _consolidation_order(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # consolidateShippingOrderInventoryAllPacked, consolidateShippingOrderCompleted: order.shipmentList[].boxList[]
    order = payload["order"]
    order_id = _order_id(order)
    boxes = (box for shipment in order.get("shipmentList") or () for box in shipment.get("boxList") or ())
    return _boxed(order_id, boxes), None


def _consolidation_shipment(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # consolidateShippingShipmentSent, consolidateShippingShipmentShipped: shipment.boxList[]
    shipment = payload["shipment"]
    return _boxed(_order_id(shipment), shipment.get("boxList") or ()), None


def _consolidation_cancelled(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    return (), None  # names no item: normalise reads its order (NormalisedEvent.cancelled_order)


def _rma_swapped(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # The warehouse relabelled the item: the RMA it and Return Helper's support use is the new one.
    swap = payload["payload"]
    new_rma = _texts(swap, "newRma")
    if not new_rma:
        raise ValueError("newRma is required")
    return (InventoryFacts(codes.parse_id(swap["returnInventoryId"]), {"rma": new_rma["newRma"]}),), None


def _remarks_updated(payload: Mapping[str, Any]) -> tuple[tuple[InventoryFacts, ...], None]:
    # Only the remarks (null or "" clears them) and who the item belongs to: this event's handling codes are a
    # snapshot the samples show stale, as userUpdateReturnInventorySku's.
    row = payload["returnInventory"]
    values = {**_parcel(payload), **_id(row, "returnRequestId")}
    item_reference = _texts(row, "sellerReferenceNumber")
    if item_reference:
        values["itemSellerReferenceNumber"] = item_reference["sellerReferenceNumber"]
    values["warehouseRemarks"] = _texts(row, "warehouseRemarks").get("warehouseRemarks")
    return (InventoryFacts(codes.parse_id(row["returnInventoryId"]), values),), None


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
    ("consolidateShippingOrderInventoryAllPacked", "consolidateShippingOrderInventoryAllPacked"): _consolidation_order,
    ("consolidateShippingOrderCompleted", "consolidateShippingOrderCompleted"): _consolidation_order,
    ("consolidateShippingShipmentSent", "consolidateShippingShipmentSent"): _consolidation_shipment,
    ("consolidateShippingShipmentShipped", "consolidateShippingShipmentShipped"): _consolidation_shipment,
    CONSOLIDATION_CANCELLED: _consolidation_cancelled,
    ("notifyUserRmaSwapped", "notifyUserRmaSwapped"): _rma_swapped,
    ("warehouseUpdateWarehouseRemarks", "warehouseUpdateWarehouseRemarks"): _remarks_updated,
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
        cancelled = _order_id(payload["order"]) if (category, action) == CONSOLIDATION_CANCELLED else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnprocessableEvent(f"{category}/{action}: {exc!r}") from exc
    inventories = _merge_same_inventory(inventories)
    return NormalisedEvent(category, action, event_time, True, inventories, resend, notification_id, payload, cancelled)


def _merge_same_inventory(facts: Iterable[InventoryFacts]) -> tuple[InventoryFacts, ...]:
    merged: dict[int, dict[str, Any]] = {}
    for item in facts:
        merged.setdefault(item.inventory_id, {}).update(item.values)
    return tuple(InventoryFacts(inventory_id, values) for inventory_id, values in merged.items())
