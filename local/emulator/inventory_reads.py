"""Return Helper's inventory reads, emulated (returnhelper-api.md 5.5), and a backfill hook.

    GET /ReturnInventory/list?createFrom=&createTo=&pageSize=&offset=
        window <= 62 days and pageSize 1-50, else Return Helper's soft error (VALIDATION_FAILED);
        {"data": [...], "totalNumberOfRecords"}, oldest first
    GET /ReturnInventory/GetReturnInventory?returnInventoryId=
        the ReturnInventoryPayload fields, top level

The backfill (control API) creates inventories spread over the last days without any webhook:
stock that exists upstream before the stack knows it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from local.emulator.state import ControlError, EmulatorState, as_id, invalid

MAX_WINDOW_DAYS = 62  # Return Helper's SearchConfig.simpleRecordsMaxDays
MAX_PAGE_SIZE = 50
LIST_FIELDS = (
    "returnInventoryId",
    "returnRequestId",
    "returnRequestLineItemId",
    "rma",
    "sku",
    "handlingCode",
    "handlingStatusCode",
    "warehouseId",
    "createOn",
)


def _moment(raw: str | None, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat((raw or "").replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, f"'{name}' is not a valid date.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def list_page(state: EmulatorState, query: dict[str, str]) -> dict[str, Any]:
    start, end = _moment(query.get("createfrom"), "createFrom"), _moment(query.get("createto"), "createTo")
    if not timedelta(0) <= end - start <= timedelta(days=MAX_WINDOW_DAYS):
        raise invalid("createTo", f"The date range must be 0 to {MAX_WINDOW_DAYS} days long.")
    page_size, offset = query.get("pagesize", "10"), query.get("offset", "0")
    if not (page_size.isdigit() and offset.isdigit() and 1 <= int(page_size) <= MAX_PAGE_SIZE):
        raise invalid("pageSize", f"'Page Size' must be 1 to {MAX_PAGE_SIZE} and 'Offset' at least 0.")
    matching = sorted(
        (i for i in state.inventories() if start <= datetime.fromisoformat(i["createOn"]).replace(tzinfo=UTC) <= end),
        key=lambda i: (i["createOn"], i["returnInventoryId"]),
    )
    rows = matching[int(offset) : int(offset) + int(page_size)]
    return {"data": [{name: i.get(name) for name in LIST_FIELDS} for i in rows], "totalNumberOfRecords": len(matching)}


def get_one(state: EmulatorState, query: dict[str, str]) -> dict[str, Any]:
    inventory_id = as_id(query.get("returninventoryid"))  # None (not an id) is never found
    found = next((i for i in state.inventories() if i["returnInventoryId"] == inventory_id), None)
    if found is None:
        raise invalid("returnInventoryId", f"Return inventory {query.get('returninventoryid')} does not exist.")
    updated = datetime.fromisoformat(found["handlingUpdatedOn"])
    return {
        **{name: found.get(name) for name in LIST_FIELDS if name != "createOn"},
        "description": found.get("description"),
        "sellerReferenceNumber": found.get("sellerReferenceNumber"),
        "weight": 500,
        "weightUom": "g",
        "returnRequestLineItemImages": [],
        "returnRequestLineItemVasList": found.get("vasList", []),
        "warehouseRemarks": "",
        # Upstream's ...Str fields are not ISO: a space, four fraction digits.
        "handlingUpdatedOnStr": updated.strftime("%Y-%m-%d %H:%M:%S.") + f"{updated.microsecond // 100:04d}",
    }


def backfill(state: EmulatorState, spec: dict[str, Any]) -> dict[str, Any]:
    count, days = spec.get("count"), spec.get("days", 30)
    if not isinstance(count, int) or not 1 <= count <= 10_000 or not isinstance(days, int | float) or days <= 0:
        raise ControlError(400, "count must be 1-10000 and days a positive number")
    start, step = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days), timedelta(days=days) / count
    item = {"warehouseId": spec.get("warehouseId", 2), "handlingCode": spec.get("handlingCode", "ohd")}
    moments = [(start + step * (index + 0.5)).isoformat(timespec="microseconds") for index in range(count)]
    return {
        "returnInventoryIdList": [state.add_inventory({**item, "createOn": at})["returnInventoryId"] for at in moments]
    }
