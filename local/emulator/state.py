"""The emulator's in-memory world: reference data, inventories, resends, consolidations, idempotency, faults.

Every public method of :class:`EmulatorState` runs under one re-entrant lock (the threaded HTTP
server calls it from any request thread) and returns a deep copy: nothing outside this module
holds a reference into the live state. Upstream refusals are raised as :class:`SoftError`
(HTTP 200, ``meta.status`` 400), control-API misuse as :class:`ControlError`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

from rh_common.domain import timestamps
from rh_common.domain.codes import HANDLING_CODES, HANDLING_STATUSES, parse_id

API_ID = 21  # the emulated customer account
CLIENT_CODE = f"RH{API_ID}"
WAREHOUSE_API_ID = 3
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

RESEND_STATUSES: dict[int, tuple[str, str]] = {  # resendStatusCode -> (label, stage description)
    0: ("pending", "Accepted, waiting for the warehouse"),
    1: ("canceled", "Canceled"),
    2: ("inProgress", "The warehouse is working on it"),
    3: ("completed", "Shipped; tracking number available"),
    4: ("failed", "Failed, see the shipment error"),
}
ACTIVE_RESEND_STATUSES = frozenset({0, 2})
RESENDABLE_HANDLING = frozenset({"tbc", "ohd"})


class ServiceType(NamedTuple):
    code: str
    name: str
    destinations: tuple[str, ...]  # toCountryCode values
    base_fee: float  # USD, for the shipping-fee quote (quote.py)
    fee_per_kg: float


WAREHOUSES: dict[int, dict[str, str]] = {
    2: {"countryCode": "usa", "description": "2-United States - NJ (DEV)"},
    5: {"countryCode": "deu", "description": "5-Germany - Hamburg (DEV)"},
}
SHIPMENT_SERVICE_TYPES: dict[int, tuple[ServiceType, ...]] = {
    2: (
        ServiceType("SHIPMENT_USPS_GA_SIG_NJ", "USPS Ground Advantage with Signature (NJ)", ("usa",), 6.10, 1.20),
        ServiceType("SHIPMENT_USPS_PM_NJ", "USPS Priority Mail (NJ)", ("usa", "gbr"), 8.70, 1.50),
        ServiceType("SHIPMENT_UPS_GROUND_NJ", "UPS Ground (NJ)", ("usa", "can"), 7.40, 0.30),
        ServiceType(
            "SHIPMENT_FEDEX_INTL_ECONOMY_NJ", "FedEx International Economy (NJ)", ("can", "mex", "gbr", "aus"), 24, 4
        ),
    ),
    5: (
        ServiceType("SHIPMENT_DHL_PAKET_DE", "DHL Paket (DE)", ("deu", "aut", "fra", "nld", "bel", "gbr"), 4.99, 0.50),
        ServiceType("SHIPMENT_DPD_CLASSIC_DE", "DPD Classic (DE)", ("deu", "aut"), 5.49, 0.40),
        ServiceType(
            "SHIPMENT_UPS_STANDARD_DE", "UPS Standard (DE)", ("deu", "aut", "che", "gbr", "ita", "esp"), 9.90, 1
        ),
    ),
}
# Inbound (buyer -> warehouse) service types: they exist upstream, fee quotes list them, createResend refuses them.
RETURN_SERVICE_TYPES: dict[int, ServiceType] = {
    2: ServiceType("RETURN_USPS_GA_NJ", "USPS Ground Advantage return (NJ)", ("usa",), 2.00, 0.10),
    5: ServiceType("RETURN_DHL_PAKET_DE", "DHL Paket return (DE)", ("deu",), 2.50, 0.10),
}
RETURN_SERVICE_CODES = frozenset({"RETURN_DHL_PARCEL_GROUND_WA", *(t.code for t in RETURN_SERVICE_TYPES.values())})
SHIPMENT_SERVICE_CODES = frozenset(t.code for types in SHIPMENT_SERVICE_TYPES.values() for t in types)

# Upstream server setting ResendConfig.groupResendMaxRmaCount ("typically a single-digit cap").
GROUP_RESEND_MAX_RMA_COUNT = 5

# The resendShipment fields both versions of the docs require (Street2, Fax and Email are disputed, Street3 optional).
REQUIRED_SHIPMENT_FIELDS = ("shipmentServiceType", "shipmentCountryCode", "shipmentName", "shipmentPhone")
REQUIRED_SHIPMENT_FIELDS += ("shipmentStreet1", "shipmentState", "shipmentCity", "shipmentPostalCode")
OPTIONAL_SHIPMENT_FIELDS = ("shipmentFax", "shipmentEmail", "shipmentStreet2", "shipmentStreet3")
ADVANCE_TARGETS = ("inProgress", "completed", "failed", "canceled")  # the control API's warehouse steps

# The user-API operations served: name (what faults and call counts go by) -> (method, path, in lower case).
OPERATIONS = {
    "createResend": ("POST", "resend/createresend"),
    "getResend": ("GET", "resend/getresend"),
    "cancelResend": ("POST", "resend/cancelresend"),
    "getAvailableShipmentServiceType": ("GET", "shipment/getavailableshipmentservicetype"),
    "listReturnInventory": ("GET", "returninventory/list"),
    "getReturnInventory": ("GET", "returninventory/getreturninventory"),
    "getShippingFeeListByToShippingOption": ("GET", "resend/getshippingfeelistbytoshippingoption"),
    "updateReturnInventoryHandling": ("POST", "returninventory/updatereturninventoryhandling"),
}
FAULT_KINDS = ("latency", "http5xx", "http429", "reset", "timeoutAfterCommit", "softError")
FIRST_INVENTORY_ID = 30001
DEFAULT_WEIGHT_GRAMS = 500
WEBHOOK_LOG_LIMIT = 200


class SoftError(Exception):
    """An upstream refusal: ``meta.status`` 400 and a non-null ``errorCode``, on HTTP 200 unless ``http_status``."""

    def __init__(self, error_code: str, error: dict[str, str], status: int = 400, http_status: int = 200):
        super().__init__(f"{error_code}: {error}")
        self.error_code, self.error, self.status, self.http_status = error_code, error, status, http_status


def invalid(key: str, message: str) -> SoftError:
    """Return Helper's VALIDATION_FAILED soft error about one property."""
    return SoftError("VALIDATION_FAILED", {key: message})


class ControlError(Exception):
    """A bad control-API request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def envelope(correlation_id: str, payload: dict[str, Any] | None = None, error: SoftError | None = None) -> dict:
    """Return Helper's answer: ``meta`` with the status and, for a refusal, its errorCode and error."""
    meta = {"status": 200, "data": {}, "errorCode": None, "error": {}}
    if error is not None:
        meta.update(status=error.status, errorCode=error.error_code, error=dict(error.error))
    return {"correlationId": correlation_id, "meta": meta, **(payload or {})}


def now_z7() -> str:
    """UTC now as Return Helper's ``eventTime`` / ``timestamp``: 7 fractional digits and ``Z``."""
    ns = time.time_ns()  # the 7th digit too (100 ns), as upstream's clock gives it
    return timestamps.upstream_iso(datetime.fromtimestamp(ns // 1_000_000_000, UTC), ticks=ns % 1_000_000_000 // 100)


def now_plain() -> str:
    """UTC now in the offset-less 6-digit form many upstream record fields use."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def ulid() -> str:
    """A ULID (Crockford base32 of 48 bits of milliseconds and 80 random bits), as upstream's consolidation ids."""
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def fingerprint(raw_body: bytes) -> str:
    """Body identity for idempotency: canonical JSON when it parses, the raw bytes otherwise."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw_body
    return hashlib.sha256(canonical).hexdigest()


def as_id(value: Any) -> int | None:
    """A positive int64 from a JSON number or digit string, else None."""
    try:
        return parse_id(value)
    except ValueError:
        return None


def require(condition: bool, message: str) -> None:
    """A control-API precondition: refused with a 400 naming it."""
    if not condition:
        raise ControlError(400, message)


def _locked(method):
    """Run the method under the state's lock and hand back a deep copy of its result."""

    @functools.wraps(method)
    def run(self: EmulatorState, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return copy.deepcopy(method(self, *args, **kwargs))

    return run


def _service_type_refusal(code: str | None, warehouse_id: int | None, country: str) -> str | None:
    """Why createResend refuses this service type for the items' one warehouse (None: no objection)."""
    if not code:
        return None
    if code in RETURN_SERVICE_CODES:
        return f"'{code}' is a return service type and cannot be used for a resend."
    if code not in SHIPMENT_SERVICE_CODES:
        return f"Shipment service type '{code}' does not exist."
    offered = {t.code: t.destinations for t in SHIPMENT_SERVICE_TYPES.get(warehouse_id, ())}
    if warehouse_id is not None and code not in offered:
        return f"Shipment service type '{code}' is not available for warehouse {warehouse_id}."
    if warehouse_id is not None and country and country not in offered[code]:
        return f"Shipment service type '{code}' does not ship to '{country}'."
    return None


def _busy(inventory: dict[str, Any]) -> bool:
    """Out of stock, or taken by a resend or a consolidation order."""
    taken = inventory["activeResendId"] is not None or inventory["consolidationOrderId"] is not None
    return taken or not inventory["inStock"]


def _set_handling(inventory: dict[str, Any], code: str, status: str) -> None:
    inventory.update(handlingCode=code, handlingStatusCode=status)
    inventory["handlingUpdatedOn"] = inventory["modifyOn"] = now_plain()


class EmulatorState:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Sequences survive reset(), so a long-running stack never sees an id reused.
        self._seq: Counter[str] = Counter()
        self._next_inventory_id = FIRST_INVENTORY_ID
        self.reset()

    @_locked
    def reset(self) -> None:
        self._inventories: dict[int, dict[str, Any]] = {}
        self._prior_handling: dict[int, tuple[str, str]] = {}
        self._resends: dict[int, dict[str, Any]] = {}
        self._consolidations: dict[str, dict[str, Any]] = {}  # by consolidateShippingOrderId
        self._idempotent: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._calls: dict[str, Counter[str]] = defaultdict(Counter)
        self._created_per_key: Counter[str] = Counter()
        self._faults: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._webhooks: deque[dict[str, Any]] = deque(maxlen=WEBHOOK_LOG_LIMIT)

    def _next(self, name: str) -> int:
        self._seq[name] += 1
        return self._seq[name]

    @_locked
    def next_correlation(self) -> int:
        return self._next("correlation")

    @_locked
    def add_inventory(self, spec: dict[str, Any]) -> dict[str, Any]:
        """An item arrives (control API); ``createOn`` backdates it: stock that was there before the stack."""
        warehouse_id, given_id = as_id(spec.get("warehouseId")), spec.get("returnInventoryId")
        handling, handling_status = spec.get("handlingCode", "tbc"), spec.get("handlingStatusCode", "pending")
        require(warehouse_id in WAREHOUSES, f"warehouseId must be one of {sorted(WAREHOUSES)}")
        codes_known = handling in HANDLING_CODES and handling_status in HANDLING_STATUSES
        require(codes_known, "handlingCode / handlingStatusCode must be upstream code names")
        require(given_id is None or as_id(given_id) is not None, "returnInventoryId must be a positive integer")
        reference, photos = spec.get("sellerReferenceNumber"), spec.get("imageUrls", [])
        require(reference is None or (isinstance(reference, str) and reference), "sellerReferenceNumber must be text")
        photos_ok = isinstance(photos, list) and all(isinstance(url, str) and url for url in photos)
        require(photos_ok, "imageUrls must be a list of URLs")
        tracking, fraud = spec.get("trackingNumber"), spec.get("fraudFlag")
        require(tracking is None or (isinstance(tracking, str) and tracking), "trackingNumber must be text")
        fraud_ok = fraud is None or (isinstance(fraud, dict) and isinstance(fraud.get("isFraudulent"), bool))
        require(fraud_ok, 'fraudFlag must be {"isFraudulent": bool, "reasonCode"?: text}')
        if given_id is None:
            inventory_id = next(i for i in itertools.count(self._next_inventory_id) if i not in self._inventories)
            self._next_inventory_id = inventory_id + 1
        else:
            inventory_id = as_id(given_id)
        if inventory_id in self._inventories:
            raise ControlError(409, f"inventory {inventory_id} already exists")
        created, shipment_id = spec.get("createOn") or now_plain(), 9000 + self._next("shipment")
        self._inventories[inventory_id] = {
            "returnInventoryId": inventory_id,
            "warehouseId": warehouse_id,
            "returnRequestId": 60000 + self._next("returnRequest"),
            "returnRequestLineItemId": 70000 + self._next("lineItem"),
            "shipmentId": shipment_id,
            # The return parcel's: known to the merchant before it arrives (a failed delivery coming back).
            "inboundTrackingNumber": tracking or f"EMU-IN-{shipment_id}",
            "fraudFlag": fraud and {"isFraudulent": fraud["isFraudulent"], "reasonCode": fraud.get("reasonCode")},
            "rma": spec.get("rma") or f"EMU-{warehouse_id}-{datetime.now(UTC):%y%m%d}-D{inventory_id:05d}-1",
            "sku": spec.get("sku"),
            "sellerReferenceNumber": reference,  # the return request's (assignUnknown, GetReturnInventory)
            "imageUrls": list(photos),
            "description": spec.get("description") or f"emulated item {inventory_id}",
            "handlingCode": handling,
            "handlingStatusCode": handling_status,
            "inStock": True,
            "weight": float(spec.get("weight", DEFAULT_WEIGHT_GRAMS)),
            "pendingVas": spec.get("pendingVas", False),
            "activeResendId": None,
            "consolidationOrderId": None,
            "handlingUpdatedOn": created,
            "createOn": created,
            "modifyOn": created,
        }
        return self._inventories[inventory_id]

    @_locked
    def inventories(self) -> list[dict[str, Any]]:
        return list(self._inventories.values())

    @_locked
    def update_handling(self, body: Any) -> dict[str, Any]:
        """UpdateReturnInventoryHandling: the item takes the new handling (status pending); returns it.

        Refused as the api doc lists it (VALIDATION_FAILED): an unknown item or handling code, ``rsd`` and
        ``tbc`` (a resend goes through createResend), a pending VAS request, an item in a resend or out of
        stock, a handling status other than ``pending``.
        """
        if not isinstance(body, dict):
            raise invalid("request", "A JSON object body is required.")
        inventory_id, raw_code = as_id(body.get("returnInventoryId")), body.get("handlingCode")
        is_index = isinstance(raw_code, int) and 0 <= raw_code < len(HANDLING_CODES)
        code = HANDLING_CODES[raw_code] if is_index else raw_code
        if code not in HANDLING_CODES:
            raise invalid("handlingCode", f"'{raw_code}' is not a handling code.")
        if code in ("rsd", "tbc"):
            raise invalid("handlingCode", f"Handling '{code}' cannot be set here (resend: createResend).")
        inventory = self._inventories.get(inventory_id)
        if inventory is None:  # an id that is not one too
            refusal = "does not exist."
        elif inventory["pendingVas"]:
            refusal = "has a pending VAS request."
        elif _busy(inventory):
            refusal = "is not available."
        elif inventory["handlingStatusCode"] != "pending":
            refusal = f"handling is {inventory['handlingStatusCode']}."
        else:
            _set_handling(inventory, code, "pending")
            return inventory
        raise invalid("returnInventoryId", f"Return inventory {inventory_id} {refusal}")

    def shipment_service_types(self, warehouse_id_raw: Any) -> list[dict[str, Any]]:
        warehouse_id = as_id(warehouse_id_raw)
        if warehouse_id not in WAREHOUSES:
            raise invalid("warehouseId", f"Warehouse {warehouse_id_raw} does not exist.")
        origin = {"warehouseId": warehouse_id, "description": WAREHOUSES[warehouse_id]["description"]}
        origin["fromCountryCode"] = WAREHOUSES[warehouse_id]["countryCode"]
        return [
            {
                "serviceTypeCode": service.code,
                "serviceType": service.name,
                "countryCodePairList": [{**origin, "toCountryCode": country} for country in service.destinations],
            }
            for service in SHIPMENT_SERVICE_TYPES[warehouse_id]
        ]

    @_locked
    def count_call(self, operation: str, idempotency_key: str | None) -> None:
        self._calls[operation][idempotency_key or "<none>"] += 1

    @_locked
    def idempotent(self, operation: str, key: str | None, raw_body: bytes, correlation_id: str, action: Any) -> dict:
        """Run ``action() -> payload`` once per (operation, key); returns the success envelope.

        A repeat of the key with the same body returns the stored envelope unchanged (same
        correlationId) without running anything; a different body is a real HTTP 409. Refusals
        (SoftError) are not stored, like validation failures at Stripe: the key may be used
        again once the problem is fixed.
        """
        body_id = fingerprint(raw_body)
        if key is not None and (operation, key) in self._idempotent:
            stored_body_id, response = self._idempotent[(operation, key)]
            if stored_body_id != body_id:
                header = "x-returnhelper-idempotency-key"
                message = "This idempotency key was already used with a different request body."
                raise SoftError("IDEMPOTENCY_KEY_REUSED", {header: message}, 409, http_status=409)
            return response
        response = envelope(correlation_id, action())
        if key is not None:
            self._idempotent[(operation, key)] = (body_id, copy.deepcopy(response))
        return response

    @_locked
    def create_resend(self, body: Any, idempotency_key: str | None) -> dict[str, Any]:
        """Validate like upstream and create; returns the CreateResend payload. Call under idempotent()."""
        inventories, shipment = self._validate_create(body)
        seq = self._next("resend")
        resend_id, shipment_id, warehouse_id = 5000 + seq, 8000 + seq, inventories[0]["warehouseId"]
        day, stamp = f"{datetime.now(UTC):%y%m%d}", now_z7()
        resend = self._resends[resend_id] = {
            "resendId": resend_id,
            "resendNumber": f"RSD{day}-{seq:07d}",
            "resendStatusCode": 0,
            "warehouseId": warehouse_id,
            "description": body.get("description"),
            "remarks": body.get("remarks"),
            "warehouseRemarks": None,
            "returnInventoryIdList": [inventory["returnInventoryId"] for inventory in inventories],
            "idempotencyKey": idempotency_key,
            "createOn": stamp,
            "modifyOn": stamp,
            "resendShipmentList": [
                {
                    "resendShipmentId": shipment_id,
                    "resendId": resend_id,
                    "warehouseId": warehouse_id,
                    "resendShipmentNumber": f"RSDS{day}-{seq:07d}",
                    **shipment,
                    "trackingNumber": None,
                    "costCurrencyCode": "usd",
                    **dict.fromkeys(("cost", "chargeTypeCode", "chargeableWeight", "shipmentLabelId")),
                    "error": "",
                    "createOn": stamp,
                    "modifyOn": stamp,
                }
            ],
        }
        for inventory in inventories:
            prior = (inventory["handlingCode"], inventory["handlingStatusCode"])
            self._prior_handling[inventory["returnInventoryId"]] = prior
            inventory["activeResendId"] = resend_id
            _set_handling(inventory, "rsd", "pending")
        self._created_per_key[idempotency_key or "<none>"] += 1
        return {"resendId": resend_id, "resendNumber": resend["resendNumber"], "resendShipmentId": shipment_id}

    def _validate_create(self, body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The items and the cleaned shipment; else every problem, FluentValidation-style (joined per property)."""
        if not isinstance(body, dict):
            raise invalid("request", "A JSON object body is required.")
        problems: dict[str, list[str]] = defaultdict(list)
        inventories = self._check_inventories(body.get("returnInventoryIdList"), problems["returnInventoryIdList"])
        shipment = body.get("resendShipment")
        if isinstance(shipment, dict):
            shipment = self._check_shipment(shipment, inventories, problems)
        else:
            problems["resendShipment"].append("'resendShipment' must not be empty.")
        if any(problems.values()):
            raise SoftError("VALIDATION_FAILED", {key: ", ".join(found) for key, found in problems.items() if found})
        return inventories, shipment

    def _check_inventories(self, raw_ids: Any, problems: list[str]) -> list[dict[str, Any]]:
        ids = [as_id(raw) for raw in raw_ids] if isinstance(raw_ids, list) else []
        if not ids:
            refusal = "'Return Inventory Id List' must not be empty."
        elif len(ids) > GROUP_RESEND_MAX_RMA_COUNT:
            refusal = f"'Return Inventory Id List' must contain at most {GROUP_RESEND_MAX_RMA_COUNT} items."
        elif None in ids:
            refusal = "Every return inventory id must be a positive integer."
        elif len(set(ids)) != len(ids):
            refusal = "Return inventory ids must be distinct."
        else:
            problems += [f"Return inventory {i} {why}" for i in ids if (why := self._not_resendable(i))]
            inventories = [self._inventories[i] for i in ids if i in self._inventories]
            if len({inventory["warehouseId"] for inventory in inventories}) > 1:
                problems.append("All return inventories must be in the same warehouse.")
            return inventories
        problems.append(refusal)
        return []

    def _not_resendable(self, inventory_id: int) -> str | None:
        inventory = self._inventories.get(inventory_id)
        if inventory is None:
            return "does not exist."
        if not inventory["inStock"]:
            return "is not in stock."
        if inventory["activeResendId"] is not None:
            return f"is already in resend {inventory['activeResendId']}."
        if inventory["consolidationOrderId"] is not None:
            return f"is in consolidation order {inventory['consolidationOrderId']}."
        handling = f"{inventory['handlingCode']}/{inventory['handlingStatusCode']}"
        if inventory["handlingCode"] not in RESENDABLE_HANDLING or inventory["handlingStatusCode"] != "pending":
            return f"handling {handling} cannot be changed to rsd."
        return None

    @staticmethod
    def _check_shipment(shipment: dict[str, Any], inventories: list[dict[str, Any]], problems: dict) -> dict[str, Any]:
        clean = {field: shipment.get(field) for field in (*REQUIRED_SHIPMENT_FIELDS, *OPTIONAL_SHIPMENT_FIELDS)}
        for field, value in clean.items():
            if value is not None and not isinstance(value, str):
                problems[f"resendShipment.{field}"].append(f"'{field}' must be a string.")
            elif field in REQUIRED_SHIPMENT_FIELDS and not (value or "").strip():
                problems[f"resendShipment.{field}"].append(f"'{field}' must not be empty.")
        country = clean["shipmentCountryCode"] = str(clean["shipmentCountryCode"] or "").lower()
        warehouses = {inventory["warehouseId"] for inventory in inventories}
        warehouse_id = next(iter(warehouses)) if len(warehouses) == 1 else None
        refusal = _service_type_refusal(clean["shipmentServiceType"], warehouse_id, country)
        if refusal:
            problems["resendShipment.shipmentServiceType"].append(refusal)
        return clean

    def _resend(self, resend_id_raw: Any) -> dict[str, Any]:
        resend_id = as_id(resend_id_raw)
        if resend_id not in self._resends:
            raise invalid("resendId", f"Resend {resend_id_raw} does not exist.")
        return self._resends[resend_id]

    @_locked
    def get_resend(self, resend_id_raw: Any) -> dict[str, Any]:
        resend = self._resend(resend_id_raw)
        internal = {"returnInventoryIdList", "idempotencyKey", "createOn", "modifyOn"}  # not in GetResend's answer
        payload = {key: value for key, value in resend.items() if key not in internal}
        payload["returnInventoryId"] = resend["returnInventoryIdList"][0]  # legacy single-item field
        return {**payload, "returnRequestLineItemId": None, "returnRequestLineItemNumber": None}

    @_locked
    def cancel_resend(self, body: Any) -> dict[str, Any]:
        resend = self._resend(body.get("resendId") if isinstance(body, dict) else None)
        if resend["resendStatusCode"] != 0:
            status = RESEND_STATUSES[resend["resendStatusCode"]][0]
            message = f"Resend {resend['resendId']} is {status} and can no longer be canceled."
            raise SoftError("RESEND_CANNOT_BE_CANCELED", {"resendId": message})
        self._finish(resend, 1)
        return {"resendId": resend["resendId"], "resendShipmentList": resend["resendShipmentList"]}

    @_locked
    def advance_resend(self, resend_id: int, to: Any, tracking_number: Any = None, error: Any = None) -> None:
        """Warehouse-side progress (control API). Terminal statuses never move."""
        require(to in ADVANCE_TARGETS, f"to must be one of {', '.join(ADVANCE_TARGETS)}")
        resend = self._resends.get(resend_id)
        if resend is None:
            raise ControlError(404, f"resend {resend_id} does not exist")
        current = resend["resendStatusCode"]
        if current not in ACTIVE_RESEND_STATUSES or (to == "inProgress" and current == 2):
            raise ControlError(409, f"resend {resend_id} is {RESEND_STATUSES[current][0]}; cannot move to {to}")
        shipment = resend["resendShipmentList"][0]
        if to == "inProgress":
            resend["resendStatusCode"] = 2
            shipment["shipmentLabelId"] = str(uuid.uuid4())
            self._touch(resend)
            for inventory in self._items(resend):
                _set_handling(inventory, "rsd", "inProgress")
        elif to == "completed":
            shipment["trackingNumber"] = tracking_number or "9400" + "".join(random.choices("0123456789", k=18))
            shipment.update(cost=11.03, chargeTypeCode="actualWeight", chargeableWeight=500.0)
            shipment["shipmentLabelId"] = shipment["shipmentLabelId"] or str(uuid.uuid4())
            self._finish(resend, 3)
        elif to == "failed":
            detail = error if isinstance(error, dict) else {"message": str(error or "Invalid address.")}
            shipment["error"] = json.dumps(detail, separators=(",", ":"))
            self._finish(resend, 4)
        else:
            self._finish(resend, 1)

    def _items(self, resend: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._inventories[i] for i in resend["returnInventoryIdList"] if i in self._inventories]

    def _touch(self, resend: dict[str, Any]) -> None:
        resend["modifyOn"] = resend["resendShipmentList"][0]["modifyOn"] = now_z7()

    def _finish(self, resend: dict[str, Any], status: int) -> None:
        """Move to a terminal status; completed ships the items, the others release them."""
        resend["resendStatusCode"] = status
        self._touch(resend)
        for inventory in self._items(resend):
            inventory["activeResendId"] = None
            prior = self._prior_handling.pop(inventory["returnInventoryId"], ("ohd", "pending"))
            if status == 3:
                inventory["inStock"] = False
                _set_handling(inventory, "rsd", "completed")
            else:
                _set_handling(inventory, *prior)

    def _inventory(self, inventory_id: int) -> dict[str, Any]:
        if inventory_id not in self._inventories:
            raise ControlError(404, f"inventory {inventory_id} does not exist")
        return self._inventories[inventory_id]

    @_locked
    def swap_rma(self, inventory_id: int, new_rma: Any = None) -> tuple[dict[str, Any], str]:
        """The warehouse relabels the item (control API): the item and its old RMA."""
        inventory = self._inventory(inventory_id)
        require(new_rma is None or (isinstance(new_rma, str) and new_rma.strip()), "newRma must be text")
        old_rma, warehouse_id = inventory["rma"], inventory["warehouseId"]
        require(new_rma != old_rma, "newRma must differ from the item's RMA")
        relabelled = f"EMU-{warehouse_id}-{datetime.now(UTC):%y%m%d}-D{inventory_id:05d}-{self._next('rma') + 1}"
        inventory.update(rma=new_rma or relabelled, modifyOn=now_plain())
        return inventory, old_rma

    @_locked
    def consolidate(self, raw_ids: Any) -> dict[str, Any]:
        """A consolidation order packs free in-stock items of one warehouse into one box (control API).

        Returned in the order shape of consolidateShippingOrderInventoryAllPacked; the items are then refused by
        createResend and UpdateReturnInventoryHandling until the order is cancelled.
        """
        ids = [as_id(raw) for raw in raw_ids] if isinstance(raw_ids, list) else []
        require(bool(ids) and None not in ids, "returnInventoryIdList must be a non-empty list of ids")
        require(len(set(ids)) == len(ids), "returnInventoryIdList must not repeat an id")
        inventories = [self._inventory(inventory_id) for inventory_id in ids]
        busy = [inventory["returnInventoryId"] for inventory in inventories if _busy(inventory)]
        if busy:
            raise ControlError(409, f"inventories {busy} are out of stock, in a resend or in a consolidation order")
        warehouses = {inventory["warehouseId"] for inventory in inventories}
        require(len(warehouses) == 1, "all inventories must be in one warehouse")
        seq, day, order_id = self._next("consolidation"), f"{datetime.now(UTC):%y%m%d}", ulid()
        rows = [
            {
                "consolidateShippingInventoryId": ulid(),
                "returnInventoryId": inventory["returnInventoryId"],
                "rma": inventory["rma"],
                "consolidateShippingInventoryStatus": "PACKED",
            }
            for inventory in inventories
        ]
        box = {"consolidateShippingShipmentBoxId": ulid(), "boxNumber": "1"}
        box.update(consolidateShippingShipmentBoxStatus="IN_PROGRESS", consolidateShippingInventoryList=rows)
        self._consolidations[order_id] = {
            "consolidateShippingOrderId": order_id,
            "consolidateShippingOrderNumber": f"CNS{day}-{seq:07d}",
            "consolidateShippingOrderStatus": "CONFIRMED",
            "outboundWarehouseId": warehouses.pop(),
            "shipmentList": [
                {
                    "consolidateShippingShipmentId": ulid(),
                    "consolidateShippingShipmentNumber": f"CNSS{day}-{seq:07d}",
                    "consolidateShippingShipmentStatus": "CREATED",
                    "boxList": [box],
                }
            ],
        }
        for inventory in inventories:
            inventory["consolidationOrderId"] = order_id
        return self._consolidations[order_id]

    @_locked
    def cancel_consolidation(self, raw_order_id: str) -> dict[str, Any]:
        """The order is cancelled (control API): its items are free again. ULIDs read case-insensitively."""
        order = self._consolidations.get(raw_order_id.upper())
        if order is None:
            raise ControlError(404, f"consolidation order {raw_order_id} does not exist")
        if order["consolidateShippingOrderStatus"] == "CANCELED":
            raise ControlError(409, f"consolidation order {order['consolidateShippingOrderId']} is already cancelled")
        order["consolidateShippingOrderStatus"] = "CANCELED"
        for inventory in self._inventories.values():
            if inventory["consolidationOrderId"] == order["consolidateShippingOrderId"]:
                inventory["consolidationOrderId"] = None
        return order

    @_locked
    def resend_status_code(self, resend_id: int) -> int | None:
        """The resend's current upstream status code (0-4), or None when it does not exist (any more)."""
        return self._resends[resend_id]["resendStatusCode"] if resend_id in self._resends else None

    @_locked
    def resend_event_parts(self, resend_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A resend and its inventories, for building the updateResendStatus webhook."""
        return self._resends[resend_id], self._items(self._resends[resend_id])

    @_locked
    def push_faults(self, operation: Any, faults: Any) -> int:
        require(operation in OPERATIONS, f"operation must be one of {list(OPERATIONS)}")
        require(
            isinstance(faults, list) and all(isinstance(f, dict) for f in faults), "faults must be a list of objects"
        )
        for fault in faults:
            require(fault.get("kind") in FAULT_KINDS, f"fault kind must be one of {list(FAULT_KINDS)}")
        self._faults[operation].extend(copy.deepcopy(faults))
        return len(self._faults[operation])

    @_locked
    def pop_fault(self, operation: str) -> dict[str, Any] | None:
        queue = self._faults.get(operation)
        return queue.popleft() if queue else None

    @_locked
    def clear_faults(self, operation: str | None = None) -> None:
        if operation is None:
            self._faults.clear()
        else:
            self._faults.pop(operation, None)

    @_locked
    def record_webhook(self, entry: dict[str, Any]) -> None:
        self._webhooks.append(copy.deepcopy(entry))

    @_locked
    def snapshot(self) -> dict[str, Any]:
        return {
            "inventories": list(self._inventories.values()),
            "resends": list(self._resends.values()),
            "consolidations": list(self._consolidations.values()),
            "createResendCalls": dict(self._calls["createResend"]),
            "updateHandlingCalls": dict(self._calls["updateReturnInventoryHandling"]),
            "shippingFeeCalls": sum(self._calls["getShippingFeeListByToShippingOption"].values()),
            "createdPerIdempotencyKey": dict(self._created_per_key),
            "faults": {op: list(queue) for op, queue in self._faults.items() if queue},
            "webhooks": list(self._webhooks),
        }
