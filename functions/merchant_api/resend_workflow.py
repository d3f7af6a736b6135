"""Routes around a resend (contract section 7): hold, quote, plan, batch, and the batch result.

A Powertools Router that app.py builds once at init with the process's one set of clients
(`router(services)`, rh_common.runtime.wiring). The answer pattern of
rh_common.http.rest_api: success models returned, every other status raised, every status
documented. The services in rh_common decide; their `Result`s go through `rest_api.respond`.
"""

# No `from __future__ import annotations`: Powertools reads the Annotated signatures at run time.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from rh_common.contract.error_schemas import ErrorBody, FieldErrorModel, UpstreamRefusal
from rh_common.contract.resend_request import MAX_ID
from rh_common.contract.views import InventoryView, ReservationConflictBody, SuccessModel
from rh_common.contract.workflow_requests import BatchRequest, PlanRequest, QuoteRequest
from rh_common.domain.results import Result
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, keyed_route
from rh_common.runtime import wiring

RETRY_AFTER_SECONDS = "5"
# Quote, plan and batch bodies (a batch of BATCH_MAX_ITEMS items with its shipment is under 8 KB)
# fit the merchant API's one limit, rest_api.MAX_BODY_BYTES.


class RefusedUpstreamBody(ErrorBody):
    upstream: UpstreamRefusal


class QuoteItem(SuccessModel):
    serviceTypeCode: str
    serviceTypeName: str | None
    fee: float
    currencyCode: str | None
    chargeableWeight: float | None


class QuoteView(SuccessModel):
    warehouseId: int
    currencyCode: str | None
    items: list[QuoteItem]
    cheapestServiceTypeCode: str | None


class PlannedGroup(SuccessModel):
    warehouseId: int
    returnInventoryIdList: list[int]


class Exclusion(SuccessModel):
    returnInventoryId: int
    reason: str


class PlanView(SuccessModel):
    groups: list[PlannedGroup]
    excluded: list[Exclusion]


class BatchEntry(SuccessModel):
    resendRequestId: str | None
    status: str
    returnInventoryIdList: list[int]
    warehouseId: int
    shipmentServiceType: str | None
    errors: list[FieldErrorModel] | None = None


class BatchView(SuccessModel):
    batchKey: str
    resends: list[BatchEntry]
    excluded: list[Exclusion]


UNAVAILABLE = {503: doc("Return Helper unavailable; try again after Retry-After seconds")}


def _answer(result: Result) -> Response:
    return rest_api.respond(result, retry_after_seconds=RETRY_AFTER_SECONDS)


def router(services: wiring.Wiring) -> Router:
    """The routes around a resend over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.post,
        "/inventories/<returnInventoryId>/hold",
        "hold_inventory",
        "Put an item on hold (ohd) with Return Helper, so it can be resent the documented way",
        {
            200: doc("On hold (or already was)", InventoryView),
            **NOT_FOUND,
            409: doc("Not holdable: reserved, pending VAS, handling not pending, or not in stock"),
            422: doc("Not valid, or refused by Return Helper (with `upstream`)", ErrorBody, RefusedUpstreamBody),
            **UNAVAILABLE,
        },
        takes_body=True,
    )
    def hold_inventory(returnInventoryId: Annotated[int, Path(gt=0, le=MAX_ID)]) -> Response[InventoryView]:
        return _answer(services.holds.hold(returnInventoryId))

    @keyed_route(
        routes.post,
        "/resends/quote",
        "quote_resend",
        "The fees of the warehouse's shipment services for these items and destination, cheapest first",
        {
            200: doc("The quote", QuoteView),
            409: doc("Items reserved by an active resend (with `conflicts`)", ReservationConflictBody),
            422: doc("Not valid (items, country), or refused by Return Helper", ErrorBody, RefusedUpstreamBody),
            **UNAVAILABLE,
        },
        takes_body=True,
    )
    def quote_resend(request: QuoteRequest) -> Response[QuoteView]:
        return _answer(services.quotes.quote(request))

    @keyed_route(
        routes.post,
        "/resends/plan",
        "plan_resends",
        "How these items would be resent (groups of one warehouse, at most RESEND_MAX_ITEMS); nothing reserved",
        {200: doc("The plan", PlanView), **INVALID},
        takes_body=True,
    )
    def plan_resends(request: PlanRequest) -> Response[PlanView]:
        return _answer(services.batches.plan(request))

    @keyed_route(
        routes.post,
        "/resends/batch",
        "create_resend_batch",
        "Resend many items of any warehouses: one resend per planned group, each created once",
        {
            200: doc("Every group has an answer", BatchView),
            409: doc("A batch with this key is still running"),
            **INVALID,
            503: doc("A group could not be decided (Return Helper unavailable); retry with the same key"),
        },
        takes_body=True,
    )
    def create_batch(request: BatchRequest, idempotency_key: rest_api.BatchKeyHeader) -> Response[BatchView]:
        return _answer(services.batches.run(request, idempotency_key))

    @keyed_route(
        routes.get,
        "/resends/batch/<batchKey>",
        "get_resend_batch",
        "A batch's result with each group's current status",
        {200: doc("The batch", BatchView), **NOT_FOUND, **INVALID},
    )
    def get_batch(batchKey: Annotated[str, Path(min_length=1, max_length=200)]) -> Response[BatchView]:
        return _answer(services.batches.get(batchKey))

    return routes
