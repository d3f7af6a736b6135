"""POST /resends/quote: the fees of the warehouse's shipment services for these items and destination.

Checked like POST /resends (reserved: 409; unknown, ineligible, several warehouses, over
the cap, or no service shipping to the country: 422), then Return Helper's
getShippingFeeListByToShippingOption, filtered and sorted by `quote.quote_body`,
cached briefly (`QuoteCache`). Nothing is reserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rh_common import prerequisites, quote
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.adapters.quote_cache import QuoteCache, quote_key
from rh_common.adapters.resend_store import Conflict, ReservationConflict
from rh_common.adapters.service_type_cache import ServiceTypeCache, ServiceTypesUnavailable
from rh_common.errors import FieldError, error_body
from rh_common.inventory_lookup import read_through

# The same 409 body as POST /resends (one home for its shape).
from rh_common.resend_service import Answer, _conflict_answer
from rh_common.workflow_requests import QuoteRequest

# Long enough for "quote, then batch"; short because fees change.
QUOTE_CACHE_SECONDS = 300


@dataclass(frozen=True)
class QuoteSettings:
    eligible_handling_codes: frozenset[str]
    max_items: int


class QuoteService:
    def __init__(
        self,
        inventories: InventoryStore,
        service_types: ServiceTypeCache,
        upstream: Any,  # adapters.returnhelper_client.ReturnHelperClient
        cache: QuoteCache,
        settings: QuoteSettings,
    ) -> None:
        self._inventories = inventories
        self._service_types = service_types
        self._upstream = upstream
        self._cache = cache
        self._settings = settings

    def quote(self, request: QuoteRequest) -> Answer:
        ids = request.returnInventoryIdList
        records = read_through(self._upstream, self._inventories, ids, self._inventories.get_many(ids, consistent=True))
        held = prerequisites.reserved(request, records)
        if held:
            return _conflict_answer(ReservationConflict([Conflict(i, holder) for i, holder in held.items()]))
        problems = prerequisites.check_items(
            request, records, self._settings.eligible_handling_codes, self._settings.max_items
        )
        if problems:
            return Answer(422, error_body("items cannot be quoted for a resend", problems), "invalid")
        warehouse_id = prerequisites.warehouse_of(request, records)
        try:
            service_types, refused = prerequisites.warehouse_service_types(
                self._service_types.rows, warehouse_id, "shipmentCountryCode"
            )
        except ServiceTypesUnavailable:
            return _unavailable("Return Helper's service types are unavailable; try again")
        if refused:  # a warehouse Return Helper does not know: 422 as for POST /resends, not a 500
            return Answer(422, error_body("items cannot be quoted for a resend", refused), "invalid")
        offered = quote.shipping_to(service_types, request.shipmentCountryCode)
        if not offered:
            message = f"no shipment service of warehouse {warehouse_id} ships to {request.shipmentCountryCode}"
            return Answer(422, error_body(message, [FieldError("shipmentCountryCode", message)]), "invalid")

        key = quote_key(records, request.shipmentCountryCode, request.shipmentPostalCode)
        cached = self._cache.get(key)
        if cached is not None:
            return Answer(200, cached, "quoted")
        outcome = self._upstream.shipping_fees(ids, request.shipmentCountryCode, request.shipmentPostalCode)
        if outcome.transient:
            return _unavailable(f"Return Helper could not be reached ({outcome.detail}); try again")
        if not outcome.ok:
            upstream = {"errorCode": outcome.error_code, "error": outcome.errors or outcome.detail}
            field_errors = [FieldError(name or None, message) for name, message in (outcome.errors or {}).items()]
            message = f"Return Helper refused the quote: {outcome.error_code or outcome.detail}"
            return Answer(422, {**error_body(message, field_errors), "upstream": upstream}, "rejected")
        rows = outcome.payload.get("shippingFeeDetailList") or []
        body = quote.quote_body(warehouse_id, rows if isinstance(rows, list) else [], offered)
        self._cache.put(key, body)
        return Answer(200, body, "quoted")


def _unavailable(message: str) -> Answer:
    return Answer(503, error_body(message), "unavailable")
