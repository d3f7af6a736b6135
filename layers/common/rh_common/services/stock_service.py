"""GET /stock (contract section 12): a SKU's eligible units per warehouse, from the sparse `stock#<sku>` rows.

One Query of the reference table (domain/stock.py says what the rows are); with `shipTo`, only the
warehouses with a shipment service to that country, by the same service-type cache that quote and
POST /resends check against. Eventually consistent, as the index it reads.
"""

from __future__ import annotations

from rh_common.domain import prerequisites, quote, results, stock
from rh_common.domain.errors import ServiceTypesRefused, ServiceTypesUnavailable
from rh_common.domain.results import Outcome, Result
from rh_common.services.ports import ServiceTypes, StockIndex


class StockService:
    def __init__(self, index: StockIndex, service_types: ServiceTypes) -> None:
        self._index = index
        self._service_types = service_types

    def stock(self, sku: str, ship_to: str | None = None) -> Result:
        rows = self._index.stock_rows(sku)
        warehouses = None
        if ship_to is not None:
            try:
                warehouses = [w for w in sorted({row.warehouse_id for row in rows}) if self._ships_to(w, ship_to)]
            except ServiceTypesUnavailable:
                return results.unavailable("Return Helper's service types are unavailable; try again")
        return Result(Outcome.READ, {"sku": sku, "units": stock.units_by_warehouse(rows, warehouses)})

    def _ships_to(self, warehouse_id: int, country_code: str) -> bool:
        try:
            rows = self._service_types.rows(warehouse_id)
        except ServiceTypesRefused:  # Return Helper lists nothing for it: it ships nowhere we can tell
            return False
        return bool(quote.shipping_to(prerequisites.parse_service_types(rows), country_code))
