"""Webhook payloads shaped like Return Helper's samples, and signed delivery.

The payload is serialised exactly once; those bytes are what gets signed and what goes on
the wire, so a receiver that verifies over its raw body sees a valid signature.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from local.emulator.state import API_ID, WAREHOUSE_API_ID, now_z7
from local.sign import post_signed
from rh_common.domain.codes import HANDLING_CODES, HANDLING_STATUSES

_BODY_PREVIEW_CHARS = 4000
_ARRIVAL_PARCEL = {"quantity": 1, "dimension1": 20, "dimension2": 20, "dimension3": 10, "dimensionUom": "cm"}
_ARRIVAL_VALUE = {"weight": 500, "weightUom": "g", "valueCurrencyCode": "usd", "value": 10}
_ROW_VALUE = {"quantity": 1, "weight": 500.0, "weightUom": "g", "valueCurrencyCode": "usd", "value": 10.0}


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
        "eventTime": now_z7(),
        "version": "202207",
    }


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
