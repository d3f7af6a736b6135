"""Webhook payloads shaped like Return Helper's samples, and signed delivery.

The payload is serialised exactly once; those bytes are what gets signed and what goes on
the wire, so a receiver that verifies over its raw body sees a valid signature.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from local.emulator.state import API_ID, HANDLING_CODES, HANDLING_STATUS_CODES, WAREHOUSE_API_ID, now_z7
from rh_common.signature import signed_headers

DELIVERY_TIMEOUT_SECONDS = 10.0
_BODY_PREVIEW_CHARS = 4000


def new_inventory_created(inventory: dict[str, Any], event_time: str | None = None) -> dict[str, Any]:
    """``newInventoryCreated``: ids as JSON strings and handling as code names, like the sample."""
    return {
        "returnInventory": {
            "returnInventoryId": str(inventory["returnInventoryId"]),
            "warehouseId": inventory["warehouseId"],
            "apiId": API_ID,
            "description": inventory["description"],
            "quantity": 1,
            "dimension1": 20,
            "dimension2": 20,
            "dimension3": 10,
            "dimensionUom": "cm",
            "weight": 500,
            "weightUom": "g",
            "valueCurrencyCode": "usd",
            "value": 10,
            "handlingCode": inventory["handlingCode"],
            "handlingStatusCode": inventory["handlingStatusCode"],
            "completeOn": None,
            "warehouseRemarks": None,
            "handlingUpdatedOn": inventory["handlingUpdatedOn"],
            "sku": inventory["sku"],
            "rma": inventory["rma"],
            "modifyOn": inventory["modifyOn"],
            "createOn": inventory["createOn"],
            "imageList": [],
            "returnInventoryMetaList": [],
        },
        "shipment": {
            "shipmentId": str(inventory["shipmentId"]),
            "returnRequestId": str(inventory["returnRequestId"]),
            "trackingNumber": f"EMU-IN-{inventory['shipmentId']}",
            "referenceNumber": "",
            "serviceType": "fedex",
            "customFieldMap": {},
            "shipToWarehouseId": inventory["warehouseId"],
            "receiveDate": inventory["createOn"],
        },
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": event_time or now_z7(),
        "version": "202207",
    }


def _inventory_row(inventory: dict[str, Any]) -> dict[str, Any]:
    """A ``returnInventoryList`` row as in the v2 resend sample: int ids, int codes."""
    completed = inventory["handlingStatusCode"] == "completed"
    return {
        "returnInventoryId": inventory["returnInventoryId"],
        "warehouseId": inventory["warehouseId"],
        "returnRequestLineItemId": inventory["returnRequestLineItemId"],
        "apiId": API_ID,
        "returnRequestId": inventory["returnRequestId"],
        "description": inventory["description"],
        "quantity": 1,
        "weight": 500.0,
        "weightUom": "g",
        "valueCurrencyCode": "usd",
        "value": 10.0,
        "handlingCode": HANDLING_CODES[inventory["handlingCode"]],
        "handlingStatusCode": HANDLING_STATUS_CODES[inventory["handlingStatusCode"]],
        "completeBy": "3" if completed else None,
        "completeOn": inventory["handlingUpdatedOn"] if completed else None,
        "modifyOn": inventory["modifyOn"],
        "modifyBy": str(API_ID),
        "createOn": inventory["createOn"],
        "createBy": "3",
        "warehouseRemarks": None,
        "handlingUpdatedOn": inventory["handlingUpdatedOn"],
        "stopAgingOn": inventory["handlingUpdatedOn"] if completed else None,
        "sku": inventory["sku"],
        "warehouseApiId": WAREHOUSE_API_ID,
        "rma": inventory["rma"],
    }


def resend_status_updated(
    resend: dict[str, Any], inventories: list[dict[str, Any]], event_time: str | None = None
) -> dict[str, Any]:
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
            "resendNumber": resend["resendNumber"],
            "resendStatusCode": resend["resendStatusCode"],
            "description": resend["description"],
            "remarks": resend["remarks"],
            "warehouseRemarks": resend["warehouseRemarks"],
            **audit,
        },
        "resendShipmentList": [{"apiId": API_ID, **shipment, **audit} for shipment in resend["resendShipmentList"]],
        "returnInventoryList": [_inventory_row(inventory) for inventory in inventories],
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": event_time or now_z7(),
    }


def inventory_handling_completed(inventory: dict[str, Any], event_time: str | None = None) -> dict[str, Any]:
    """``rinv`` / ``completeInventoryHandling`` after UpdateReturnInventoryHandling, shaped like the sample."""
    return {
        "returnInventory": _inventory_row(inventory),
        "category": "rinv",
        "action": "completeInventoryHandling",
        "eventTime": event_time or now_z7(),
    }


def deliver(
    url: str,
    signing_key: str,
    payload: dict[str, Any],
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
    *,
    signed_url: str | None = None,
) -> dict:
    """POST the payload to ``url``, signed for ``signed_url`` (default ``url``); never raises for transport errors.

    Returns ``{"category", "action", "eventTime", "url", "status", "body", "error"}`` where
    ``status`` is the receiver's HTTP status (None when it could not be reached).
    """
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = signed_headers(signing_key, signed_url or url, raw)
    result = {key: payload.get(key) for key in ("category", "action", "eventTime")}
    result.update(url=url, status=None, body=None, error=None)
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    else:
        result.update(status=response.status_code, body=response.text[:_BODY_PREVIEW_CHARS])
    return result
