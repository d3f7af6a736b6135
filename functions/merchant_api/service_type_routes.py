"""Service types (contract section 3): the warehouse's shipment service types, cached from Return Helper.

Read through the resend service (the same cache its create checks against), so the answer is
counted as a resend outcome (an upstream outage: ReturnHelperUnavailable). app.py builds the
Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel
from seeded_examples import EXAMPLE_WAREHOUSE_ID, example

from rh_common.contract.views import SuccessModel
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, UNAVAILABLE, Id, doc, keyed_route
from rh_common.runtime import outcome_metrics, wiring

metrics = Metrics()  # Powertools shares one metric set across instances: app.py's handler publishes it


class CountryCodePair(BaseModel):  # upstream rows, passed on: not ours to close
    warehouseId: int | None = None
    description: str | None = None
    fromCountryCode: str | None = None
    toCountryCode: str | None = None


class ServiceTypeView(SuccessModel):
    serviceTypeCode: str
    serviceType: str | None
    countryCodePairList: list[CountryCodePair]


class ServiceTypeList(SuccessModel):
    items: list[ServiceTypeView]


def router(services: wiring.Wiring) -> Router:
    """The service-type route over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.get,
        "/service-types",
        "list_service_types",
        "The warehouse's shipment service types (cached from Return Helper)",
        {200: doc("The service types", ServiceTypeList), **INVALID, **UNAVAILABLE},
    )
    def list_service_types(
        warehouseId: Annotated[Id, Query(openapi_examples=example(EXAMPLE_WAREHOUSE_ID))],
    ) -> Response[ServiceTypeList]:
        result = services.resends.service_types(warehouseId)
        outcome_metrics.count_resend_outcome(metrics, result.outcome)
        return rest_api.respond(result)

    return routes
