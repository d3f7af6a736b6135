"""POST /resends/quote: the fees of the warehouse's shipment services for these items and destination.

Checked like POST /resends (over the cap or repeated ids: 422 by QuoteRequest, before any look-up;
a postal code the destination country's rules refuse: 422, before anything upstream; reserved: 409;
unknown, ineligible, several warehouses, or no service shipping to the country: 422),
then Return Helper's getShippingFeeListByToShippingOption, filtered and sorted by `quote.quote_body`,
cached briefly (`QuoteCache`). Nothing is reserved.
"""

from __future__ import annotations

from dataclasses import dataclass

from rh_common.contract.workflow_requests import QuoteRequest
from rh_common.domain import address, prerequisites, quote, results
from rh_common.domain.errors import Conflict, ServiceTypesUnavailable
from rh_common.domain.field_errors import FieldError
from rh_common.domain.results import Outcome, Result
from rh_common.services.inventory_lookup import read_through
from rh_common.services.ports import AddressRules, Inventories, Quotes, ReturnHelper, ServiceTypes

# Long enough for "quote, then batch" (or POST /resends, which records the fee as quotedFee); short
# because fees change.
QUOTE_CACHE_SECONDS = 300


@dataclass(frozen=True)
class QuoteSettings:
    eligible_handling_codes: frozenset[str]


class QuoteService:
    def __init__(
        self,
        inventories: Inventories,
        service_types: ServiceTypes,
        upstream: ReturnHelper,
        cache: Quotes,
        address_rules: AddressRules,
        settings: QuoteSettings,
    ) -> None:
        self._inventories = inventories
        self._service_types = service_types
        self._upstream = upstream
        self._cache = cache
        self._address_rules = address_rules
        self._settings = settings

    def quote(self, request: QuoteRequest) -> Result:
        ids = request.returnInventoryIdList
        destination = address.Address(request.shipmentCountryCode, postal_code=request.shipmentPostalCode)
        wrong_address = address.check(destination, self._address_rules.judge)
        if wrong_address:
            return results.invalid(address.REFUSED, wrong_address)
        records = read_through(self._upstream, self._inventories, ids, self._inventories.get_many(ids, consistent=True))
        held = prerequisites.reserved(request, records)
        if held:
            # The same 409 body as POST /resends.
            return results.reservation_conflict(Conflict(i, holder) for i, holder in held.items())
        problems = prerequisites.check_items(request, records, self._settings.eligible_handling_codes)
        if problems:
            return results.invalid("items cannot be quoted for a resend", problems)
        warehouse_id = prerequisites.warehouse_of(request, records)
        try:
            service_types, refused = prerequisites.warehouse_service_types(
                self._service_types.rows, warehouse_id, "shipmentCountryCode"
            )
        except ServiceTypesUnavailable:
            return results.unavailable("Return Helper's service types are unavailable; try again")
        if refused:  # a warehouse Return Helper does not know: invalid as for POST /resends, not a 500
            return results.invalid("items cannot be quoted for a resend", refused)
        offered = quote.shipping_to(service_types, request.shipmentCountryCode)
        if not offered:
            message = f"no shipment service of warehouse {warehouse_id} ships to {request.shipmentCountryCode}"
            return results.invalid(message, [FieldError("shipmentCountryCode", message)])

        key = quote.quote_key(ids, request.shipmentCountryCode, request.shipmentPostalCode)
        cached = quote.current_quote(self._cache.get(key), records)
        if cached is not None:
            return Result(Outcome.QUOTED, cached)
        outcome = self._upstream.shipping_fees(ids, request.shipmentCountryCode, request.shipmentPostalCode)
        if outcome.transient:
            return results.unavailable(f"Return Helper could not be reached ({outcome.detail}); try again")
        if not outcome.ok:
            return results.refused_upstream("quote", outcome)
        rows = outcome.payload.get("shippingFeeDetailList") or []
        body = quote.quote_body(warehouse_id, rows if isinstance(rows, list) else [], offered)
        self._cache.put(key, quote.cache_entry(records, body))
        return Result(Outcome.QUOTED, body)
