"""Stock by SKU (contract section 12): a SKU's eligible units per warehouse, from the sparse stock index.

app.py builds the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from rh_common.contract.resend_request import iso_alpha3
from rh_common.contract.views import SuccessModel
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, UNAVAILABLE, doc, keyed_route
from rh_common.runtime import wiring


class StockUnits(SuccessModel):
    warehouseId: int
    eligible: int
    onHold: int  # eligible units on hold (`ohd`)
    toBeConfirmed: int  # eligible units still `tbc` (a resend holds them first)
    oldestLoggedAt: str | None


class Stock(SuccessModel):
    sku: str
    units: list[StockUnits]


def router(services: wiring.Wiring) -> Router:
    """The stock route over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.get,
        "/stock",
        "get_stock",
        "A SKU's eligible units per warehouse (only those shipping to `shipTo` when given); eventually consistent",
        {200: doc("The SKU's eligible units", Stock), **INVALID, **UNAVAILABLE},
    )
    def get_stock(
        sku: Annotated[str, Query(min_length=1, max_length=1024)],
        shipTo: Annotated[str | None, Query(min_length=3, max_length=3, description="ISO 3166 alpha-3")] = None,
    ) -> Response[Stock]:
        try:
            country = None if shipTo is None else iso_alpha3(shipTo)
        except ValueError as not_a_country:
            raise rest_api.invalid("shipTo", str(not_a_country)) from not_a_country
        return rest_api.respond(services.stock.stock(sku, country))

    return routes
