"""Return Helper's fee list -> the quote: only the warehouse's shipment service types that ship
to the destination (a return service type never appears), cheapest first. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.prerequisites import ServiceType


def quote_key(inventory_ids: Iterable[int], country_code: str, postal_code: str) -> str:
    """The cache key of a quote: the items and the destination, known before the items are read (so the
    create path reads a quote in the same transaction as the items: `ResendRecords.get_with_items`)."""
    raw = json.dumps([sorted(set(inventory_ids)), country_code.lower(), postal_code], separators=(",", ":"))
    return "quote#" + hashlib.sha256(raw.encode()).hexdigest()


def cache_entry(records: Mapping[int, InventoryRecord], body: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a quote: the body and every item's last applied event version then."""
    return {"versions": _versions(records), "quote": dict(body)}


def current_quote(entry: Mapping[str, Any] | None, records: Mapping[int, InventoryRecord]) -> dict[str, Any] | None:
    """The cached quote while every item is as it was quoted (a newer event on one, such as a
    completeRecalibrate changing the weight, makes it stale); None otherwise."""
    if not entry or entry.get("versions") != _versions(records):
        return None
    return dict(entry["quote"])


def _versions(records: Mapping[int, InventoryRecord]) -> list[list[Any]]:
    return [[inventory_id, records[inventory_id].last_version] for inventory_id in sorted(records)]


def shipping_to(service_types: Sequence[ServiceType], country_code: str) -> list[ServiceType]:
    """The shipment service types that list `country_code` among their destinations."""
    return [t for t in service_types if country_code.lower() in t.destinations]


def quote_body(
    warehouse_id: int, fee_rows: Iterable[Mapping[str, Any]], offered: Sequence[ServiceType]
) -> dict[str, Any]:
    """The contract's quote; `offered` are the service types shipping to the destination."""
    names = {t.code.lower(): t for t in offered}
    items = []
    for row in fee_rows:
        service = names.get(str(row.get("serviceTypeCode") or "").lower())
        fee = _number(row.get("fee"))
        if service is None or fee is None:
            continue
        items.append(
            {
                "serviceTypeCode": service.code,
                "serviceTypeName": row.get("serviceTypeName") or service.name,
                "fee": fee,
                "currencyCode": str(row.get("currencyCode") or "").upper() or None,
                "chargeableWeight": _number(row.get("chargeableWeight")),
            }
        )
    items.sort(key=lambda item: (item["fee"], item["serviceTypeCode"]))
    return {
        "warehouseId": warehouse_id,
        "currencyCode": items[0]["currencyCode"] if items else None,
        "items": items,
        "cheapestServiceTypeCode": items[0]["serviceTypeCode"] if items else None,
    }


def fee_for(quote: Mapping[str, Any] | None, service_type: str) -> Any:
    """The fee `quote` (a `quote_body`) gives `service_type`, or None when it has none for it."""
    for item in (quote or {}).get("items") or []:
        if str(item.get("serviceTypeCode") or "").lower() == service_type.lower():
            return item.get("fee")
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no fee
