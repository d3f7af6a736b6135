"""Webhook payloads shaped like Return Helper's samples, and signed delivery.

The payload is serialised exactly once; those bytes are what gets signed and what goes on
the wire, so a receiver that verifies over its raw body sees a valid signature.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from local.emulator.state import API_ID, CLIENT_CODE, WAREHOUSE_API_ID, now_z7, ulid
from local.sign import post_signed
from rh_common.domain.codes import HANDLING_CODES, HANDLING_STATUSES

_BODY_PREVIEW_CHARS = 4000
_ARRIVAL_PARCEL = {"quantity": 1, "dimension1": 20, "dimension2": 20, "dimension3": 10, "dimensionUom": "cm"}
_ARRIVAL_VALUE = {"weight": 500, "weightUom": "g", "valueCurrencyCode": "usd", "value": 10}
_ROW_VALUE = {"quantity": 1, "weight": 500.0, "weightUom": "g", "valueCurrencyCode": "usd", "value": 10.0}
_CONSOLIDATION_VERSION = "202410"


def _pick(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: record[name] for name in names}


def new_inventory_created(inventory: dict[str, Any]) -> dict[str, Any]:
    """``newInventoryCreated``: ids as JSON strings and handling as code names, like the sample."""
    return {
        "returnInventory": {
            "returnInventoryId": str(inventory["returnInventoryId"]),
            "warehouseId": inventory["warehouseId"],
            "apiId": API_ID,
            "description": inventory["description"],
            **_ARRIVAL_PARCEL,
            **_ARRIVAL_VALUE,
            **_pick(inventory, "handlingCode", "handlingStatusCode"),
            **dict.fromkeys(("completeOn", "warehouseRemarks")),
            **_pick(inventory, "handlingUpdatedOn", "sku", "rma", "modifyOn", "createOn"),
            "imageList": [{"imageUrl": url, "imageKey": _image_key(url)} for url in inventory["imageUrls"]],
            "returnInventoryMetaList": [],
        },
        "shipment": {
            "shipmentId": str(inventory["shipmentId"]),
            "returnRequestId": str(inventory["returnRequestId"]),
            "trackingNumber": inventory["inboundTrackingNumber"],
            "referenceNumber": "",
            "serviceType": "fedex",
            "customFieldMap": {},
            "shipToWarehouseId": inventory["warehouseId"],
            "receiveDate": inventory["createOn"],
        },
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": now_z7(),
        "version": "202207",
    }


def _image_key(url: str) -> str:
    """The S3 key of a photo: its URL's path (upstream: URL = file host + "/" + key)."""
    return urlsplit(url).path.lstrip("/")


def assign_unknown(inventory: dict[str, Any]) -> dict[str, Any]:
    """``rsl`` / ``assignUnknown``: a parcel without a return request assigned to us, shaped like the sample (int
    ids and codes), its return request with the seller reference, the line item with the photos and fraud flag."""
    day = f"{datetime.fromisoformat(inventory['createOn']):%y%m%d}"
    number = f"UN{day}-{inventory['returnRequestId']:07d}"
    tracking = inventory["inboundTrackingNumber"]
    fraud = inventory["fraudFlag"] or {"isFraudulent": False, "reasonCode": None}
    audit = {"modifyOn": inventory["createOn"], "modifyBy": "3", "createOn": inventory["createOn"], "createBy": "3"}
    line_item = {
        **_pick(inventory, "returnRequestLineItemId"),
        "apiId": API_ID,
        **_pick(inventory, "returnRequestId"),
        "returnRequestLineItemNumber": f"UNL{day}-{inventory['returnRequestLineItemId']:07d}",
        "description": inventory["description"],
        **_ROW_VALUE,
        "handlingCode": 0,
        "isDeleted": False,
        "isFraudulent": fraud["isFraudulent"],
        "fraudReasonCode": fraud["reasonCode"],
    }
    return {
        "returnRequest": {
            **_pick(inventory, "returnRequestId"),
            "apiId": API_ID,
            "returnRequestNumber": number,
            **_pick(inventory, "sellerReferenceNumber"),
            "returnStatusCode": 0,
            "returnTitle": tracking,
            "remarks": "Created by Warehouse",
            **audit,
        },
        "shipment": {
            **_pick(inventory, "shipmentId"),
            "apiId": API_ID,
            **_pick(inventory, "returnRequestId", "warehouseId"),
            "shipmentNumber": number,
            "shipmentStatusCode": 6,
            **_pick(_ARRIVAL_VALUE, "weight", "weightUom"),
            **_pick(_ARRIVAL_PARCEL, "dimension1", "dimension2", "dimension3", "dimensionUom"),
            "receiveDate": inventory["createOn"],
            "referenceNumber": None,
            **audit,
        },
        "label": {
            **_pick(inventory, "shipmentId"),
            "apiId": API_ID,
            "refKey": number,
            "serviceType": "unkwn",
            "trackingNumber": tracking,
        },
        "returnInventoryList": [
            {
                **_inventory_row(inventory),
                "returnRequestLineItemNumber": line_item["returnRequestLineItemNumber"],
            }
        ],
        "returnRequestLineItemIncludeImageList": [
            {"imageUrlList": list(inventory["imageUrls"]), "returnRequestLineItem": line_item}
        ],
        "category": "rsl",
        "action": "assignUnknown",
        "eventTime": now_z7(),
    }


ARRIVALS = {"newInventoryCreated": new_inventory_created, "assignUnknown": assign_unknown}


def _inventory_row(inventory: dict[str, Any]) -> dict[str, Any]:
    """A ``returnInventoryList`` row as in the v2 resend sample: int ids, int codes."""
    completed_on = inventory["handlingUpdatedOn"] if inventory["handlingStatusCode"] == "completed" else None
    return {
        **_pick(inventory, "returnInventoryId", "warehouseId", "returnRequestLineItemId"),
        "apiId": API_ID,
        **_pick(inventory, "returnRequestId", "description"),
        **_ROW_VALUE,
        "handlingCode": HANDLING_CODES.index(inventory["handlingCode"]),
        "handlingStatusCode": HANDLING_STATUSES.index(inventory["handlingStatusCode"]),
        "completeBy": "3" if completed_on else None,
        "completeOn": completed_on,
        "modifyOn": inventory["modifyOn"],
        "modifyBy": str(API_ID),
        "createOn": inventory["createOn"],
        "createBy": "3",
        "warehouseRemarks": None,
        "handlingUpdatedOn": inventory["handlingUpdatedOn"],
        "stopAgingOn": completed_on,
        "sku": inventory["sku"],
        "warehouseApiId": WAREHOUSE_API_ID,
        "rma": inventory["rma"],
    }


def resend_status_updated(resend: dict[str, Any], inventories: list[dict[str, Any]]) -> dict[str, Any]:
    """``resend`` / ``updateResendStatus`` (v2): resend, resendShipmentList, returnInventoryList."""
    audit = {
        "modifyOn": resend["modifyOn"],
        "modifyBy": str(API_ID),
        "createOn": resend["createOn"],
        "createBy": str(API_ID),
    }
    return {
        "resend": {
            "resendId": resend["resendId"],
            "apiId": API_ID,
            **_pick(resend, "resendNumber", "resendStatusCode", "description", "remarks", "warehouseRemarks"),
            **audit,
        },
        "resendShipmentList": [{"apiId": API_ID, **shipment, **audit} for shipment in resend["resendShipmentList"]],
        "returnInventoryList": [_inventory_row(inventory) for inventory in inventories],
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": now_z7(),
    }


def inventory_handling_completed(inventory: dict[str, Any]) -> dict[str, Any]:
    """``rinv`` / ``completeInventoryHandling`` after UpdateReturnInventoryHandling, shaped like the sample."""
    return {
        "returnInventory": _inventory_row(inventory),
        "category": "rinv",
        "action": "completeInventoryHandling",
        "eventTime": now_z7(),
    }


def rma_swapped(inventory: dict[str, Any], old_rma: str) -> dict[str, Any]:
    """``notifyUserRmaSwapped``: the warehouse relabelled the item; the inventory id a JSON string, as published."""
    return {
        "payload": {
            "userApiId": API_ID,
            "clientCode": CLIENT_CODE,
            "returnInventoryId": str(inventory["returnInventoryId"]),
            "oldRma": old_rma,
            "newRma": inventory["rma"],
        },
        "category": "notifyUserRmaSwapped",
        "action": "notifyUserRmaSwapped",
        "eventTime": now_z7(),
    }


def _consolidation_event(category: str, order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": order,
        "category": category,
        "action": category,
        "eventTime": now_z7(),
        "version": _CONSOLIDATION_VERSION,
        "notificationId": ulid(),
    }


def consolidation_packed(order: dict[str, Any]) -> dict[str, Any]:
    """``consolidateShippingOrderInventoryAllPacked``: the order with its shipment, box and packed items."""
    ids = _pick(order, "consolidateShippingOrderId", "consolidateShippingOrderNumber", "consolidateShippingOrderStatus")
    fee = {"shippingFee": 0.0, "currencyCode": "usd", "shippingMethod": "AIR_FREIGHT", "customFieldMap": {}}
    details = {"deliveryInstructions": "emulated consolidation", **_pick(order, "shipmentList")}
    return _consolidation_event(
        "consolidateShippingOrderInventoryAllPacked", {**ids, **_pick(order, "outboundWarehouseId"), **fee, **details}
    )


def consolidation_cancelled(order: dict[str, Any]) -> dict[str, Any]:
    """``consolidateShippingOrderCancelled``: the order only (no shipment, box or item), status CANCELED."""
    ids = _pick(order, "consolidateShippingOrderId", "consolidateShippingOrderNumber", "outboundWarehouseId")
    fields = {"shippingMethod": "AIR_FREIGHT", "shippingFee": 0.0, "deliveryInstructions": "emulated consolidation"}
    status = _pick(order, "consolidateShippingOrderStatus")
    return _consolidation_event("consolidateShippingOrderCancelled", {**ids, **fields, **status, "customFieldMap": {}})


def deliver(url: str, signing_key: str, payload: dict[str, Any], signed_url: str) -> dict:
    """POST the payload to ``url``, signed for ``signed_url``; what happened, never raising for transport errors
    (``status``: the receiver's HTTP status, None when it could not be reached)."""
    result = {**_pick(payload, "category", "action", "eventTime"), "url": url, "status": None, "body": None}
    try:
        response = post_signed(
            url, signing_key, json.dumps(payload, separators=(",", ":")).encode(), signed_url=signed_url
        )
    except requests.RequestException as exc:
        return {**result, "error": f"{type(exc).__name__}: {exc}"}
    return {**result, "status": response.status_code, "body": response.text[:_BODY_PREVIEW_CHARS], "error": None}
