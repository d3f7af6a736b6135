"""The emulator's in-memory world: reference data, inventories, resends, idempotency, faults.

Every public method of :class:`EmulatorState` takes one re-entrant lock, so the threaded HTTP
server can call it from any request thread. Methods return deep copies; nothing outside this
module holds a reference into the live state. Upstream refusals are raised as
:class:`SoftError` (HTTP 200, ``meta.status`` 400), control-API misuse as :class:`ControlError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from typing import Any

# -- Reference data ----------------------------------------------------------------------------

API_ID = 21  # the emulated customer account
WAREHOUSE_API_ID = 3

RESEND_STATUSES: dict[int, tuple[str, str]] = {
    0: ("pending", "Accepted, waiting for the warehouse"),
    1: ("canceled", "Canceled"),
    2: ("inProgress", "The warehouse is working on it"),
    3: ("completed", "Shipped; tracking number available"),
    4: ("failed", "Failed, see the shipment error"),
}
ACTIVE_RESEND_STATUSES = frozenset({0, 2})

HANDLING_CODES = {"tbc": 0, "rtn": 1, "dis": 2, "rsd": 3, "ohd": 4, "oth": 5}
HANDLING_STATUS_CODES = {"pending": 0, "inProgress": 1, "completed": 2}
RESENDABLE_HANDLING = frozenset({"tbc", "ohd"})

WAREHOUSES: dict[int, dict[str, str]] = {
    2: {"countryCode": "usa", "description": "2-United States - NJ (DEV)"},
    5: {"countryCode": "deu", "description": "5-Germany - Hamburg (DEV)"},
}

# warehouseId -> [(serviceTypeCode, serviceType, destination countries)]
SHIPMENT_SERVICE_TYPES: dict[int, list[tuple[str, str, tuple[str, ...]]]] = {
    2: [
        ("SHIPMENT_USPS_GA_SIG_NJ", "USPS Ground Advantage with Signature (NJ)", ("usa",)),
        ("SHIPMENT_USPS_PM_NJ", "USPS Priority Mail (NJ)", ("usa", "gbr")),
        ("SHIPMENT_UPS_GROUND_NJ", "UPS Ground (NJ)", ("usa", "can")),
        ("SHIPMENT_FEDEX_INTL_ECONOMY_NJ", "FedEx International Economy (NJ)", ("can", "mex", "gbr", "aus")),
    ],
    5: [
        ("SHIPMENT_DHL_PAKET_DE", "DHL Paket (DE)", ("deu", "aut", "fra", "nld", "bel", "gbr")),
        ("SHIPMENT_DPD_CLASSIC_DE", "DPD Classic (DE)", ("deu", "aut")),
        ("SHIPMENT_UPS_STANDARD_DE", "UPS Standard (DE)", ("deu", "aut", "che", "gbr", "ita", "esp")),
    ],
}
# Inbound (buyer -> warehouse) codes: they exist upstream but createResend refuses them.
RETURN_SERVICE_TYPES = frozenset({"RETURN_DHL_PARCEL_GROUND_WA", "RETURN_USPS_GA_NJ", "RETURN_DHL_PAKET_DE"})

# Upstream server setting ResendConfig.groupResendMaxRmaCount ("typically a single-digit cap").
GROUP_RESEND_MAX_RMA_COUNT = 5

SHIPMENT_FIELDS = (
    "shipmentServiceType",
    "shipmentCountryCode",
    "shipmentName",
    "shipmentPhone",
    "shipmentFax",
    "shipmentEmail",
    "shipmentStreet1",
    "shipmentStreet2",
    "shipmentStreet3",
    "shipmentState",
    "shipmentCity",
    "shipmentPostalCode",
)
# The rest are required in both the old field table and the new docs' sample (Street2, Fax, Email disputed).
OPTIONAL_SHIPMENT_FIELDS = frozenset({"shipmentFax", "shipmentEmail", "shipmentStreet2", "shipmentStreet3"})
SHIPMENT_MAX_LENGTHS = {"shipmentName": 255, "shipmentStreet1": 255, "shipmentCity": 50, "shipmentPostalCode": 50}
TRACKING_NUMBER_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")

OPERATIONS = (  # listReturnInventory, getReturnInventory: inventory_reads.py
    "createResend",
    "getResend",
    "cancelResend",
    "getAvailableShipmentServiceType",
    "listReturnInventory",
    "getReturnInventory",
    "getShippingFeeListByToShippingOption",
    "updateReturnInventoryHandling",
)
FAULT_KINDS = ("latency", "http5xx", "http429", "reset", "timeoutAfterCommit", "softError")
FIRST_INVENTORY_ID = 30001
DEFAULT_WEIGHT_GRAMS = 500
WEBHOOK_LOG_LIMIT = 200


# -- Errors, envelope, time --------------------------------------------------------------------


class SoftError(Exception):
    """An upstream refusal: HTTP 200 (409 for a reused key) with ``meta.status`` 400 and a non-null ``errorCode``."""

    http_status = 200

    def __init__(self, error_code: str, error: dict[str, str], status: int = 400):
        super().__init__(f"{error_code}: {error}")
        self.error_code, self.error, self.status = error_code, error, status


def invalid(key: str, message: str) -> SoftError:
    """Return Helper's VALIDATION_FAILED soft error about one property."""
    return SoftError("VALIDATION_FAILED", {key: message})


class IdempotencyKeyReused(SoftError):
    """The same idempotency key arrived with a different body (answered with a real HTTP 409)."""

    http_status = 409

    def __init__(self, header: str):
        super().__init__(
            "IDEMPOTENCY_KEY_REUSED",
            {header: "This idempotency key was already used with a different request body."},
            409,
        )


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
    ns = time.time_ns()
    whole = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{(ns % 1_000_000_000) // 100:07d}Z"


def now_plain() -> str:
    """UTC now in the offset-less 6-digit form many upstream record fields use."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def fingerprint(raw_body: bytes) -> str:
    """Body identity for idempotency: canonical JSON when it parses, the raw bytes otherwise."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw_body
    return hashlib.sha256(canonical).hexdigest()


def _label(field: str) -> str:
    """``shipmentCity`` -> ``Shipment City`` (FluentValidation's display name)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", field[:1].upper() + field[1:])


def _as_id(value: Any) -> int | None:
    """A positive int64 from a JSON number or digit string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit():
        return _as_id(int(value.strip()))
    return None


class _Errors:
    """FluentValidation-style collector: messages per property, comma-joined on output."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[str]] = defaultdict(list)

    def add(self, key: str, message: str) -> None:
        self._by_key[key].append(message)

    def raise_if_any(self) -> None:
        if self._by_key:
            raise SoftError("VALIDATION_FAILED", {k: ", ".join(v) for k, v in self._by_key.items()})


# -- State -------------------------------------------------------------------------------------


class EmulatorState:
    def __init__(self, max_resend_items: int = GROUP_RESEND_MAX_RMA_COUNT):
        self.max_resend_items = max_resend_items
        self._lock = threading.RLock()
        # Sequences survive reset(), so a long-running stack never sees an id reused.
        self._seq: Counter[str] = Counter()
        self._next_inventory_id = FIRST_INVENTORY_ID
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._inventories: dict[int, dict[str, Any]] = {}
            self._prior_handling: dict[int, tuple[str, str]] = {}
            self._resends: dict[int, dict[str, Any]] = {}
            self._idempotent: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
            self._calls: dict[str, Counter[str]] = defaultdict(Counter)
            self._created_per_key: Counter[str] = Counter()
            self._faults: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
            self._webhooks: deque[dict[str, Any]] = deque(maxlen=WEBHOOK_LOG_LIMIT)

    def _next(self, name: str) -> int:
        self._seq[name] += 1
        return self._seq[name]

    def next_correlation(self) -> int:
        with self._lock:
            return self._next("correlation")

    # -- inventories (control API) ---------------------------------------------------------------

    def add_inventory(self, spec: dict[str, Any]) -> dict[str, Any]:
        warehouse_id = _as_id(spec.get("warehouseId"))
        if warehouse_id not in WAREHOUSES:
            raise ControlError(400, f"warehouseId must be one of {sorted(WAREHOUSES)}")
        handling = spec.get("handlingCode", "tbc")
        handling_status = spec.get("handlingStatusCode", "pending")
        if handling not in HANDLING_CODES or handling_status not in HANDLING_STATUS_CODES:
            raise ControlError(400, "handlingCode / handlingStatusCode must be upstream code names")
        for key in ("sku", "rma", "description"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ControlError(400, f"{key} must be a string")
        weight = spec.get("weight", DEFAULT_WEIGHT_GRAMS)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ControlError(400, "weight must be a positive number of grams")
        if not isinstance(spec.get("pendingVas", False), bool):
            raise ControlError(400, "pendingVas must be true or false")
        with self._lock:
            if spec.get("returnInventoryId") is None:
                while self._next_inventory_id in self._inventories:
                    self._next_inventory_id += 1
                inventory_id = self._next_inventory_id
                self._next_inventory_id += 1
            else:
                inventory_id = _as_id(spec["returnInventoryId"])
                if inventory_id is None:
                    raise ControlError(400, "returnInventoryId must be a positive integer")
            if inventory_id in self._inventories:
                raise ControlError(409, f"inventory {inventory_id} already exists")
            stamp = now_plain()
            created = spec.get("createOn") or stamp  # backdated: stock that was there before the stack
            inventory = {
                "returnInventoryId": inventory_id,
                "warehouseId": warehouse_id,
                "returnRequestId": 60000 + self._next("returnRequest"),
                "returnRequestLineItemId": 70000 + self._next("lineItem"),
                "shipmentId": 9000 + self._next("shipment"),
                "rma": spec.get("rma") or f"EMU-{warehouse_id}-{datetime.now(UTC):%y%m%d}-D{inventory_id:05d}-1",
                "sku": spec.get("sku"),
                "description": spec.get("description") or f"emulated item {inventory_id}",
                "handlingCode": handling,
                "handlingStatusCode": handling_status,
                "inStock": True,
                "weight": float(weight),
                "pendingVas": spec.get("pendingVas", False),
                "activeResendId": None,
                "handlingUpdatedOn": created,
                "createOn": created,
                "modifyOn": created,
            }
            self._inventories[inventory_id] = inventory
            return copy.deepcopy(inventory)

    def inventories(self) -> list[dict[str, Any]]:
        """A copy of every inventory, for the read operations."""
        with self._lock:
            return copy.deepcopy(list(self._inventories.values()))

    def inventories_of(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """Copies of the listed inventories that exist."""
        with self._lock:
            return {i: copy.deepcopy(self._inventories[i]) for i in ids if i in self._inventories}

    def change_inventory(self, inventory_id: int, change: Any) -> dict[str, Any]:
        """``change(live inventory or None)`` under the lock (it may raise SoftError); returns a copy after."""
        with self._lock:
            inventory = self._inventories.get(inventory_id)
            change(inventory)
            return copy.deepcopy(inventory)

    @staticmethod
    def set_handling(inventory: dict[str, Any], code: str, status: str) -> None:
        """A handling change with its timestamps (also for ``change_inventory`` callbacks)."""
        inventory.update(handlingCode=code, handlingStatusCode=status)
        inventory["handlingUpdatedOn"] = inventory["modifyOn"] = now_plain()

    # -- service types -------------------------------------------------------------------------

    def shipment_service_types(self, warehouse_id_raw: Any) -> list[dict[str, Any]]:
        warehouse_id = _as_id(warehouse_id_raw)
        if warehouse_id is None:
            raise invalid("warehouseId", "'Warehouse Id' must be a valid id.")
        if warehouse_id not in WAREHOUSES:
            raise invalid("warehouseId", f"Warehouse {warehouse_id} does not exist.")
        warehouse = WAREHOUSES[warehouse_id]
        return [
            {
                "serviceTypeCode": code,
                "serviceType": name,
                "countryCodePairList": [
                    {
                        "warehouseId": warehouse_id,
                        "description": warehouse["description"],
                        "fromCountryCode": warehouse["countryCode"],
                        "toCountryCode": country,
                    }
                    for country in countries
                ],
            }
            for code, name, countries in SHIPMENT_SERVICE_TYPES[warehouse_id]
        ]

    # -- idempotency ---------------------------------------------------------------------------

    def count_call(self, operation: str, idempotency_key: str | None) -> None:
        with self._lock:
            self._calls[operation][idempotency_key or "<none>"] += 1

    def idempotent(self, operation: str, key: str | None, raw_body: bytes, correlation_id: str, action):
        """Run ``action() -> payload`` once per (operation, key); returns the success envelope.

        A repeat of the key with the same body returns the stored envelope unchanged (same
        correlationId) without running anything; a different body raises IdempotencyKeyReused.
        Refusals (SoftError) are not stored, like validation failures at Stripe: the key may be
        used again once the problem is fixed.
        """
        with self._lock:
            body_id = fingerprint(raw_body)
            if key is not None and (operation, key) in self._idempotent:
                stored_body_id, response = self._idempotent[(operation, key)]
                if stored_body_id != body_id:
                    raise IdempotencyKeyReused("x-returnhelper-idempotency-key")
                return copy.deepcopy(response)
            response = envelope(correlation_id, action())
            if key is not None:
                self._idempotent[(operation, key)] = (body_id, copy.deepcopy(response))
            return response

    # -- resends -------------------------------------------------------------------------------

    def create_resend(self, body: Any, idempotency_key: str | None) -> dict[str, Any]:
        """Validate like upstream and create; returns the CreateResend payload. Call under idempotent()."""
        with self._lock:
            inventories, shipment = self._validate_create(body)
            seq = self._next("resend")
            resend_id, shipment_id = 5000 + seq, 8000 + seq
            day, stamp = f"{datetime.now(UTC):%y%m%d}", now_z7()
            resend = {
                "resendId": resend_id,
                "resendNumber": f"RSD{day}-{seq:07d}",
                "resendStatusCode": 0,
                "warehouseId": inventories[0]["warehouseId"],
                "description": body.get("description"),
                "remarks": body.get("remarks"),
                "warehouseRemarks": None,
                "returnInventoryIdList": [inv["returnInventoryId"] for inv in inventories],
                "idempotencyKey": idempotency_key,
                "createOn": stamp,
                "modifyOn": stamp,
                "resendShipmentList": [
                    {
                        "resendShipmentId": shipment_id,
                        "resendId": resend_id,
                        "warehouseId": inventories[0]["warehouseId"],
                        "resendShipmentNumber": f"RSDS{day}-{seq:07d}",
                        **shipment,
                        "trackingNumber": None,
                        "costCurrencyCode": "usd",
                        "cost": None,
                        "chargeTypeCode": None,
                        "chargeableWeight": None,
                        "shipmentLabelId": None,
                        "error": "",
                        "createOn": stamp,
                        "modifyOn": stamp,
                    }
                ],
            }
            self._resends[resend_id] = resend
            for inventory in inventories:
                inventory_id = inventory["returnInventoryId"]
                self._prior_handling[inventory_id] = (inventory["handlingCode"], inventory["handlingStatusCode"])
                inventory["activeResendId"] = resend_id
                self.set_handling(inventory, "rsd", "pending")
            self._created_per_key[idempotency_key or "<none>"] += 1
            return {"resendId": resend_id, "resendNumber": resend["resendNumber"], "resendShipmentId": shipment_id}

    def _validate_create(self, body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        errors = _Errors()
        if not isinstance(body, dict):
            raise invalid("request", "A JSON object body is required.")
        ids_key = "returnInventoryIdList"
        raw_ids = body.get(ids_key)
        inventories: list[dict[str, Any]] = []
        if not isinstance(raw_ids, list) or not raw_ids:
            errors.add(ids_key, "'Return Inventory Id List' must not be empty.")
        elif len(raw_ids) > self.max_resend_items:
            errors.add(ids_key, f"'Return Inventory Id List' must contain at most {self.max_resend_items} items.")
        else:
            ids = [_as_id(raw) for raw in raw_ids]
            if None in ids:
                errors.add(ids_key, "Every return inventory id must be a positive integer.")
            elif len(set(ids)) != len(ids):
                errors.add(ids_key, "Return inventory ids must be distinct.")
            else:
                inventories = self._check_inventories(ids, errors)

        shipment = body.get("resendShipment")
        clean: dict[str, Any] = {}
        if not isinstance(shipment, dict):
            errors.add("resendShipment", "'Resend Shipment' must not be empty.")
        else:
            clean = self._check_shipment(shipment, inventories, errors)
        for key in ("description", "remarks"):
            if body.get(key) is not None and not isinstance(body[key], str):
                errors.add(key, f"'{_label(key)}' must be a string.")
        errors.raise_if_any()
        return inventories, clean

    def _check_inventories(self, ids: list[int], errors: _Errors) -> list[dict[str, Any]]:
        key = "returnInventoryIdList"
        found = []
        for inventory_id in ids:
            inventory = self._inventories.get(inventory_id)
            if inventory is None:
                errors.add(key, f"Return inventory {inventory_id} does not exist.")
                continue
            found.append(inventory)
            if not inventory["inStock"]:
                errors.add(key, f"Return inventory {inventory_id} is not in stock.")
            elif inventory["activeResendId"] is not None:
                errors.add(key, f"Return inventory {inventory_id} is already in resend {inventory['activeResendId']}.")
            elif inventory["handlingCode"] not in RESENDABLE_HANDLING or inventory["handlingStatusCode"] != "pending":
                errors.add(
                    key,
                    f"Return inventory {inventory_id} handling {inventory['handlingCode']}/"
                    f"{inventory['handlingStatusCode']} cannot be changed to rsd.",
                )
        if len({inventory["warehouseId"] for inventory in found}) > 1:
            errors.add(key, "All return inventories must be in the same warehouse.")
        return found

    def _check_shipment(
        self, shipment: dict[str, Any], inventories: list[dict[str, Any]], errors: _Errors
    ) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for field in SHIPMENT_FIELDS:
            key, value = f"resendShipment.{field}", shipment.get(field)
            if value is not None and not isinstance(value, str):
                errors.add(key, f"'{_label(field)}' must be a string.")
            elif field not in OPTIONAL_SHIPMENT_FIELDS and not (value or "").strip():
                errors.add(key, f"'{_label(field)}' must not be empty.")
            elif field in SHIPMENT_MAX_LENGTHS and len(value or "") > SHIPMENT_MAX_LENGTHS[field]:
                errors.add(
                    key,
                    f"The length of '{_label(field)}' must be {SHIPMENT_MAX_LENGTHS[field]} characters or fewer. "
                    f"You entered {len(value)} characters.",
                )
            else:
                clean[field] = value
        country = (clean.get("shipmentCountryCode") or "").lower()
        if country and not re.fullmatch(r"[a-z]{3}", country):
            errors.add("resendShipment.shipmentCountryCode", f"'{country}' is not an ISO 3166 alpha-3 country code.")
            country = ""
        if country:
            clean["shipmentCountryCode"] = country
        code = clean.get("shipmentServiceType")
        warehouses = {inventory["warehouseId"] for inventory in inventories}
        if code:
            key = "resendShipment.shipmentServiceType"
            known = {c: dests for types in SHIPMENT_SERVICE_TYPES.values() for c, _, dests in types}
            if code in RETURN_SERVICE_TYPES:
                errors.add(key, f"'{code}' is a return service type and cannot be used for a resend.")
            elif code not in known:
                errors.add(key, f"Shipment service type '{code}' does not exist.")
            elif len(warehouses) == 1:
                (warehouse_id,) = warehouses
                offered = {c: dests for c, _, dests in SHIPMENT_SERVICE_TYPES[warehouse_id]}
                if code not in offered:
                    errors.add(key, f"Shipment service type '{code}' is not available for warehouse {warehouse_id}.")
                elif country and country not in offered[code]:
                    errors.add(key, f"Shipment service type '{code}' does not ship to '{country}'.")
        return clean

    def _resend(self, resend_id_raw: Any) -> dict[str, Any]:
        resend_id = _as_id(resend_id_raw)
        if resend_id is None:
            raise invalid("resendId", "'Resend Id' must be a valid id.")
        if resend_id not in self._resends:
            raise invalid("resendId", f"Resend {resend_id} does not exist.")
        return self._resends[resend_id]

    def get_resend(self, resend_id_raw: Any) -> dict[str, Any]:
        with self._lock:
            resend = self._resend(resend_id_raw)
            internal = {"returnInventoryIdList", "idempotencyKey", "createOn", "modifyOn"}  # not in GetResend's answer
            payload = {key: value for key, value in resend.items() if key not in internal}
            payload["returnInventoryId"] = resend["returnInventoryIdList"][0]  # legacy single-item field
            payload.update(returnRequestLineItemId=None, returnRequestLineItemNumber=None)
            return copy.deepcopy(payload)

    def cancel_resend(self, body: Any) -> dict[str, Any]:
        with self._lock:
            resend = self._resend(body.get("resendId") if isinstance(body, dict) else None)
            if resend["resendStatusCode"] != 0:
                label = RESEND_STATUSES[resend["resendStatusCode"]][0]
                raise SoftError(
                    "RESEND_CANNOT_BE_CANCELED",
                    {"resendId": f"Resend {resend['resendId']} is {label} and can no longer be canceled."},
                )
            self._finish(resend, 1)
            return copy.deepcopy({"resendId": resend["resendId"], "resendShipmentList": resend["resendShipmentList"]})

    def advance_resend(self, resend_id: int, to: Any, tracking_number: Any = None, error: Any = None) -> None:
        """Warehouse-side progress (control API). Terminal statuses never move."""
        if to not in ("inProgress", "completed", "failed", "canceled"):
            raise ControlError(400, "to must be one of inProgress, completed, failed, canceled")
        if tracking_number is not None and not (
            isinstance(tracking_number, str) and TRACKING_NUMBER_RE.match(tracking_number)
        ):
            raise ControlError(400, "trackingNumber must be 1-50 letters, digits, '-' or '_'")
        with self._lock:
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
                    self.set_handling(inventory, "rsd", "inProgress")
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
                self.set_handling(inventory, "rsd", "completed")
            else:
                self.set_handling(inventory, *prior)

    def resend_status_code(self, resend_id: int) -> int | None:
        """The resend's current upstream status code (0-4), or None when it does not exist (any more)."""
        with self._lock:
            resend = self._resends.get(resend_id)
            return None if resend is None else resend["resendStatusCode"]

    def resend_event_parts(self, resend_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Deep copies of a resend and its inventories, for building the updateResendStatus webhook."""
        with self._lock:
            resend = self._resends[resend_id]
            return copy.deepcopy(resend), copy.deepcopy(self._items(resend))

    # -- faults --------------------------------------------------------------------------------

    def push_faults(self, operation: Any, faults: Any) -> int:
        if operation not in OPERATIONS:
            raise ControlError(400, f"operation must be one of {list(OPERATIONS)}")
        if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
            raise ControlError(400, "faults must be a list of objects")
        for fault in faults:
            if fault.get("kind") not in FAULT_KINDS:
                raise ControlError(400, f"fault kind must be one of {list(FAULT_KINDS)}")
            for param in ("seconds", "retryAfter", "status"):
                if param in fault and (isinstance(fault[param], bool) or not isinstance(fault[param], int | float)):
                    raise ControlError(400, f"{param} must be a number")
        with self._lock:
            self._faults[operation].extend(copy.deepcopy(faults))
            return len(self._faults[operation])

    def pop_fault(self, operation: str) -> dict[str, Any] | None:
        with self._lock:
            queue = self._faults.get(operation)
            return queue.popleft() if queue else None

    def clear_faults(self, operation: str | None = None) -> None:
        with self._lock:
            if operation is None:
                self._faults.clear()
            else:
                self._faults.pop(operation, None)

    # -- webhooks log and snapshot -------------------------------------------------------------

    def record_webhook(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._webhooks.append(copy.deepcopy(entry))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(
                {
                    "inventories": list(self._inventories.values()),
                    "resends": list(self._resends.values()),
                    "createResendCalls": dict(self._calls["createResend"]),
                    "cancelResendCalls": dict(self._calls["cancelResend"]),
                    "updateHandlingCalls": dict(self._calls["updateReturnInventoryHandling"]),
                    "shippingFeeCalls": sum(self._calls["getShippingFeeListByToShippingOption"].values()),
                    "createdPerIdempotencyKey": dict(self._created_per_key),
                    "faults": {op: list(queue) for op, queue in self._faults.items() if queue},
                    "webhooks": list(self._webhooks),
                }
            )
