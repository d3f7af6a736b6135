"""Resend prerequisites over our cached state, checked before anything goes upstream.

Pure: takes the request, the inventory records read in one batch and the
warehouse's shipment service types; returns one field error per problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rh_common.domain import inventory
from rh_common.domain.errors import ServiceTypesRefused
from rh_common.domain.field_errors import FieldError
from rh_common.domain.inventory import InventoryRecord


# What the checks read of a request: the contract's models (contract.resend_request,
# contract.workflow_requests) fit these without the domain importing pydantic.
class ItemsRequest(Protocol):
    @property
    def returnInventoryIdList(self) -> Sequence[int]: ...


class Shipment(Protocol):
    @property
    def shipmentServiceType(self) -> str: ...
    @property
    def shipmentCountryCode(self) -> str: ...


class ShipmentRequest(ItemsRequest, Protocol):
    @property
    def resendShipment(self) -> Shipment: ...


@dataclass(frozen=True)
class ServiceType:
    code: str
    name: str
    destinations: frozenset[str]  # lower-case ISO alpha-3 toCountryCode values


def parse_service_types(rows: Iterable[Mapping[str, Any]]) -> list[ServiceType]:
    """Return Helper's getAvailableShipmentServiceType rows -> service types."""
    types = []
    for row in rows:
        code = str(row.get("serviceTypeCode") or "").strip()
        if not code:
            continue
        pairs = row.get("countryCodePairList") or ()
        destinations = frozenset(str(p.get("toCountryCode") or "").lower() for p in pairs if p.get("toCountryCode"))
        types.append(ServiceType(code, str(row.get("serviceType") or code), destinations))
    return types


def warehouse_service_types(
    rows_of: Callable[[int], list[dict[str, Any]]], warehouse_id: int, field: str
) -> tuple[list[ServiceType], list[FieldError]]:
    """The warehouse's shipment service types (`rows_of`: the cache's rows), or the field error when
    Return Helper refuses to list them. ServiceTypesUnavailable (transient) passes through."""
    try:
        rows = rows_of(warehouse_id)
    except ServiceTypesRefused as refused:
        why = f"Return Helper lists no shipment service types for warehouse {warehouse_id} ({refused})"
        return [], [FieldError(field, why)]
    return parse_service_types(rows), []


def check_items(
    request: ItemsRequest,
    records: Mapping[int, InventoryRecord],
    eligible_handling_codes: frozenset[str],
) -> list[FieldError]:
    """Every item known, in one warehouse and eligible (domain/eligibility; reservations: `reserved`).
    The cap and distinctness are the request models' (checked before any look-up)."""
    ids = request.returnInventoryIdList
    problems: list[FieldError] = []
    warehouses = {records[i].values.get("warehouseId") for i in ids if i in records}
    for index, inventory_id in enumerate(ids):
        field = f"returnInventoryIdList.{index}"
        record = records.get(inventory_id)
        if record is None:
            problems.append(FieldError(field, f"inventory {inventory_id} is not known"))
            continue
        problems += [
            FieldError(field, f"inventory {inventory_id} {why}")
            for why in inventory.ineligible_reasons(record, eligible_handling_codes, detailed=True)
        ]
    if len(warehouses) > 1:
        listed = ", ".join(str(w) for w in sorted(warehouses, key=str))
        problems.append(FieldError("returnInventoryIdList", f"items must be in one warehouse, found {listed}"))
    return problems


def reserved(request: ItemsRequest, records: Mapping[int, InventoryRecord]) -> dict[int, str]:
    """Requested items already held by another active request: {inventory id: holding request id}."""
    return {
        inventory_id: holder
        for inventory_id in request.returnInventoryIdList
        if inventory_id in records and (holder := records[inventory_id].active_resend_request_id) is not None
    }


def check_service_type(request: ShipmentRequest, service_types: Sequence[ServiceType]) -> list[FieldError]:
    """The code must be one of the warehouse's *shipment* service types for that destination."""
    shipment = request.resendShipment
    field = "resendShipment.shipmentServiceType"
    chosen = next((t for t in service_types if t.code.lower() == shipment.shipmentServiceType.lower()), None)
    if chosen is None:
        offered = ", ".join(sorted(t.code for t in service_types)) or "none"
        return [
            FieldError(
                field,
                f"{shipment.shipmentServiceType} is not a shipment service type of this warehouse "
                f"(return service types cannot be used for a resend); available: {offered}",
            )
        ]
    if chosen.destinations and shipment.shipmentCountryCode not in chosen.destinations:
        return [
            FieldError(
                field,
                f"{chosen.code} does not ship to {shipment.shipmentCountryCode}; "
                f"it ships to {', '.join(sorted(chosen.destinations))}",
            )
        ]
    return []


def warehouse_of(request: ItemsRequest, records: Mapping[int, InventoryRecord]) -> int:
    return int(records[request.returnInventoryIdList[0]].values["warehouseId"])
