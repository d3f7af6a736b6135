"""GET Resend/getShippingFeeListByToShippingOption: deterministic fees per service type and weight.

fee = base + per kg x chargeable weight (the items' weights summed, at least 0.5 kg, rounded
up to 0.1 kg). Like the real list, it is not only the warehouse's shipment services: its return
service type appears too (the cheapest, on purpose) for its own country, so a client that does
not filter to shipment service types would offer it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from local.emulator.state import RETURN_SERVICE_TYPES, SHIPMENT_SERVICE_TYPES, EmulatorState, as_id, invalid

MIN_CHARGEABLE_KG = 0.5
SERVICE_TYPES = {t.code: t for types in SHIPMENT_SERVICE_TYPES.values() for t in types}
SERVICE_TYPES |= {t.code: t for t in RETURN_SERVICE_TYPES.values()}


def chargeable_kg(weights_grams: list[float]) -> float:
    return max(MIN_CHARGEABLE_KG, math.ceil(sum(weights_grams) / 100) / 10)


def fee(code: str, kg: float) -> float:
    return round(SERVICE_TYPES[code].base_fee + SERVICE_TYPES[code].fee_per_kg * kg, 2)


def shipping_fees(state: EmulatorState, query: Any) -> dict[str, Any]:
    ids = [as_id(raw) for raw in query.getlist("returninventoryidlist")]
    country, postal = (query.get("tocountrycode") or "").strip().lower(), (query.get("topostalcode") or "").strip()
    if not ids or None in ids or not re.fullmatch(r"[a-z]{3}", country) or not postal:
        message = "A non-empty list of ids, an ISO 3166 alpha-3 country code and a postal code are required."
        raise invalid("returnInventoryIdList", message)
    inventories = {i["returnInventoryId"]: i for i in state.inventories() if i["returnInventoryId"] in ids}
    warehouses = {inventory["warehouseId"] for inventory in inventories.values()}
    if len(inventories) < len(set(ids)) or len(warehouses) > 1:
        raise invalid("returnInventoryIdList", "Every return inventory must exist, all in one warehouse.")
    (warehouse_id,) = warehouses
    kg = chargeable_kg([inventory["weight"] for inventory in inventories.values()])
    services = (*SHIPMENT_SERVICE_TYPES[warehouse_id], RETURN_SERVICE_TYPES[warehouse_id])
    rows = [
        {
            "serviceTypeCode": service.code,
            "serviceTypeName": service.name,
            "countryCode": country,
            "postalCodePair": {"from": postal[:3], "to": postal[:3]},
            "currencyCode": "usd",
            "fee": fee(service.code, kg),
            "chargeableWeight": kg,
        }
        for service in services
        if country in service.destinations
    ]
    return {"data": {"shippingFeeDetailList": rows}}
