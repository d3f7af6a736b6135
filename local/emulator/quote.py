"""GET Resend/getShippingFeeListByToShippingOption: deterministic fees per service type and weight.

fee = base + per kg x chargeable weight (the items' weights summed, at least 0.5 kg, rounded
up to 0.1 kg). Like the real list, it is not only the warehouse's shipment services: a return
service type of the warehouse appears too (the cheapest, on purpose), so a client that does
not filter to shipment service types would offer it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from local.emulator.state import SHIPMENT_SERVICE_TYPES, WAREHOUSES, EmulatorState, SoftError, _as_id, invalid

OPERATION = "getShippingFeeListByToShippingOption"

# serviceTypeCode -> (base fee, fee per kg), USD
FEES: dict[str, tuple[float, float]] = {
    "SHIPMENT_USPS_GA_SIG_NJ": (6.10, 1.20),
    "SHIPMENT_USPS_PM_NJ": (8.70, 1.50),
    "SHIPMENT_UPS_GROUND_NJ": (7.40, 0.30),
    "SHIPMENT_FEDEX_INTL_ECONOMY_NJ": (24.00, 4.00),
    "SHIPMENT_DHL_PAKET_DE": (4.99, 0.50),
    "SHIPMENT_DPD_CLASSIC_DE": (5.49, 0.40),
    "SHIPMENT_UPS_STANDARD_DE": (9.90, 1.00),
}
# warehouseId -> (return service type code, name, base, per kg): inbound codes a resend must not use.
RETURN_FEES = {
    2: ("RETURN_USPS_GA_NJ", "USPS Ground Advantage return (NJ)", 2.00, 0.10),
    5: ("RETURN_DHL_PAKET_DE", "DHL Paket return (DE)", 2.50, 0.10),
}
MIN_CHARGEABLE_KG = 0.5


def chargeable_kg(weights_grams: list[float]) -> float:
    return max(MIN_CHARGEABLE_KG, math.ceil(sum(weights_grams) / 100) / 10)


def fee(code: str, kg: float) -> float:
    base, per_kg = FEES[code]
    return round(base + per_kg * kg, 2)


def shipping_fees(state: EmulatorState, ids_raw: list[str], country_raw: Any, postal_raw: Any) -> dict[str, Any]:
    errors: dict[str, str] = {}
    ids = [_as_id(raw) for raw in ids_raw]
    country = (country_raw or "").strip().lower()
    postal = (postal_raw or "").strip()
    if not ids or None in ids:
        errors["returnInventoryIdList"] = "'Return Inventory Id List' must be a non-empty list of ids."
    if not re.fullmatch(r"[a-z]{3}", country):
        errors["toCountryCode"] = "'To Country Code' must be an ISO 3166 alpha-3 code."
    if not postal:
        errors["toPostalCode"] = "'To Postal Code' must not be empty."
    if errors:
        raise SoftError("VALIDATION_FAILED", errors)
    inventories = state.inventories_of(ids)
    missing = [i for i in ids if i not in inventories]
    if missing:
        raise invalid("returnInventoryIdList", f"Return inventory {missing[0]} does not exist.")
    warehouses = {inventory["warehouseId"] for inventory in inventories.values()}
    if len(warehouses) > 1:
        raise invalid("returnInventoryIdList", "All return inventories must be in one warehouse.")
    (warehouse_id,) = warehouses
    kg = chargeable_kg([inventory["weight"] for inventory in inventories.values()])
    rows = [
        _row(code, name, country, postal, fee(code, kg), kg)
        for code, name, destinations in SHIPMENT_SERVICE_TYPES[warehouse_id]
        if country in destinations
    ]
    code, name, base, per_kg = RETURN_FEES[warehouse_id]
    if country == WAREHOUSES[warehouse_id]["countryCode"]:
        rows.append(_row(code, name, country, postal, round(base + per_kg * kg, 2), kg))
    return {"data": {"shippingFeeDetailList": rows}}


def _row(code: str, name: str, country: str, postal: str, amount: float, kg: float) -> dict[str, Any]:
    return {
        "serviceTypeCode": code,
        "serviceTypeName": name,
        "countryCode": country,
        "postalCodePair": {"from": postal[:3], "to": postal[:3]},
        "currencyCode": "usd",
        "fee": amount,
        "chargeableWeight": kg,
    }
