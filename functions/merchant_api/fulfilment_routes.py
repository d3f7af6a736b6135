"""Fulfil an order from returned stock (contract section 12): POST /fulfilments, GET /fulfilments/{id}.

app.py builds the Router once at init with the process's one wiring (`router(services)`); the service
(rh_common.services.fulfilment_service) decides, its `Result`s go through `rest_api.respond`.
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from rh_common.contract.error_schemas import ErrorBody, FieldErrorModel
from rh_common.contract.fulfilment_request import FulfilmentRequest
from rh_common.contract.views import SuccessModel
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, keyed_route
from rh_common.runtime import wiring

RETRY_AFTER_SECONDS = "5"


class FulfilmentEntry(SuccessModel):
    resendRequestId: str | None
    status: str
    returnInventoryIdList: list[int]
    warehouseId: int
    shipmentServiceType: str | None
    errors: list[FieldErrorModel] | None = None


class UnfilledLine(SuccessModel):
    sku: str
    quantity: int


class FulfilmentView(SuccessModel):
    fulfilmentId: str
    orderReference: str
    status: str
    resends: list[FulfilmentEntry]
    unfilled: list[UnfilledLine]


class UnfilledBody(ErrorBody):
    fulfilmentId: str
    orderReference: str
    status: str
    resends: list[FulfilmentEntry]
    unfilled: list[UnfilledLine]


def router(services: wiring.Wiring) -> Router:
    """The fulfilment routes over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.post,
        "/fulfilments",
        "create_fulfilment",
        "Fill an order's lines (by SKU) from returned stock: cheapest warehouse first, one resend per warehouse",
        {
            201: doc("Created (CREATED, PARTIAL with `unfilled`, or AWAITING_APPROVAL)", FulfilmentView),
            409: doc("No line can be filled (`unfilled`), or the same key is still running", UnfilledBody, ErrorBody),
            **INVALID,
            503: doc("Return Helper unavailable; retry with the same key"),
        },
        takes_body=True,
    )
    def create_fulfilment(
        request: FulfilmentRequest, idempotency_key: rest_api.BatchKeyHeader
    ) -> Response[FulfilmentView]:
        return rest_api.respond(
            services.fulfilments.run(request, idempotency_key), retry_after_seconds=RETRY_AFTER_SECONDS
        )

    @keyed_route(
        routes.get,
        "/fulfilments/<fulfilmentId>",
        "get_fulfilment",
        "A fulfilment with each resend's current status",
        {200: doc("The fulfilment", FulfilmentView), **NOT_FOUND, **INVALID},
    )
    def get_fulfilment(fulfilmentId: Annotated[str, Path(min_length=1, max_length=64)]) -> Response[FulfilmentView]:
        return rest_api.respond(services.fulfilments.get(fulfilmentId))

    return routes
