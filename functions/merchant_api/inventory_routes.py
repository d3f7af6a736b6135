"""Inventories (contract section 3): one inventory's state, a warehouse's inventories.

Answers follow rh_common.http.rest_api: success models returned, every other status raised.
app.py builds the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from seeded_examples import EXAMPLE_INVENTORY_ID, EXAMPLE_WAREHOUSE_ID, example

from rh_common.contract.views import InventoryView, SuccessModel
from rh_common.domain import inventory, references
from rh_common.domain.errors import InvalidPageToken
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, Id, doc, keyed_route
from rh_common.runtime import wiring
from rh_common.services import aging, inventory_references


class InventoryPage(SuccessModel):
    items: list[InventoryView]
    nextToken: str | None


# The look-ups' values (GET /inventories?rma=...): strings as Return Helper sends them.
Reference = Annotated[str | None, Query(min_length=1, max_length=1024)]


def router(services: wiring.Wiring) -> Router:
    """The inventory routes over `services` (read at request time: its clients are built on first use)."""
    routes = Router()
    eligible_handling_codes = wiring.eligible_handling_codes()

    @keyed_route(
        routes.get,
        "/inventories/<returnInventoryId>",
        "get_inventory",
        "One inventory's state",
        {200: doc("The inventory", InventoryView), **NOT_FOUND, **INVALID},
    )
    def get_inventory(
        returnInventoryId: Annotated[Id, Path(openapi_examples=example(EXAMPLE_INVENTORY_ID))],
    ) -> InventoryView:
        record = services.inventories.get(returnInventoryId)
        if record is None:
            raise rest_api.NotFound(f"inventory {returnInventoryId} is not known")
        return InventoryView(**inventory.view(record, eligible_handling_codes))

    @keyed_route(
        routes.get,
        "/inventories",
        "list_inventories",
        "A warehouse's inventories (optionally only those eligible, or those idle in stock for over agedOverDays "
        "days), or the inventories with one reference",
        {200: doc("A page of inventories", InventoryPage), **INVALID},
    )
    def list_inventories(
        warehouseId: Annotated[Id | None, Query(openapi_examples=example(EXAMPLE_WAREHOUSE_ID))] = None,
        eligible: Annotated[bool, Query()] = False,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        nextToken: Annotated[str | None, Query(max_length=512)] = None,
        rma: Reference = None,
        sellerReferenceNumber: Reference = None,
        returnRequestId: Annotated[Id | None, Query()] = None,
        inboundTrackingNumber: Reference = None,
        sku: Reference = None,
        agedOverDays: Annotated[int | None, Query(ge=0, le=36500, description="with warehouseId")] = None,
    ) -> InventoryPage:
        given = {"warehouseId": warehouseId, "rma": rma, "sellerReferenceNumber": sellerReferenceNumber}
        given |= {"returnRequestId": returnRequestId, "inboundTrackingNumber": inboundTrackingNumber, "sku": sku}
        store = services.inventories
        try:
            name, value = references.selector(given, eligible, agedOverDays)
            if agedOverDays is not None:
                now = datetime.now(UTC)
                records, token = aging.aged_items(
                    services.references, store, value, agedOverDays, now, limit, nextToken
                )
            elif name == references.WAREHOUSE:
                codes = eligible_handling_codes if eligible else None
                records, token = store.list_by_warehouse(value, limit, nextToken, codes)
            else:
                records, token = inventory_references.find(services.references, store, name, value, limit, nextToken)
        except references.SelectorError as bad_query:
            raise rest_api.invalid(bad_query.field, str(bad_query)) from bad_query
        except InvalidPageToken as bad_token:
            raise rest_api.invalid("nextToken", str(bad_token)) from bad_token
        items = [InventoryView(**inventory.view(r, eligible_handling_codes)) for r in records]
        return InventoryPage(items=items, nextToken=token)

    return routes
