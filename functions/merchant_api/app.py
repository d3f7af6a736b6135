"""The merchant REST API: health, inventories, service types, resends, and its OpenAPI document.

Thin: Powertools' REST resolver validates each request against the typed
signatures and pydantic models below (the same types generate the OpenAPI
document), the domain services do the work, and every error body has the
contract's shape.
"""

# No `from __future__ import annotations`: Powertools reads these signatures'
# Annotated types at run time to validate requests and build the OpenAPI schema.
# The answer pattern (success models returned, every other status raised, documented
# responses) lives in rh_common.http.rest_api, for these routes and for Router modules alike.

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

import functools
import logging
import warnings
from typing import TYPE_CHECKING, Annotated, Any

import annotated_types
import delivery_routes
import resend_workflow
import sync_routes
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from rh_common.contract.error_schemas import ErrorBody, UpstreamRefusal
from rh_common.contract.resend_request import MAX_ID, CreateResendRequest
from rh_common.contract.views import InventoryView, ResendAccepted, ResendView, ReservationConflictBody, SuccessModel
from rh_common.domain import inventory
from rh_common.domain.errors import InvalidPageToken
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.resend_lifecycle import Status
from rh_common.domain.results import Result
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, UNAVAILABLE, doc, keyed_route
from rh_common.runtime import observability, outcome_metrics, snapstart, wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what it calls (cold start); requests: wiring
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
rest_api.register(app, logger)

ELIGIBLE_HANDLING_CODES = wiring.eligible_handling_codes()
# One set of clients for every route of this process, handed to each Router module as it is built
# (no module globals); requests traced once the upstream client is built.
services = wiring.Wiring(metrics, tracer=tracer)
store = services.inventories
for routes in (delivery_routes, sync_routes, resend_workflow):  # deliveries, syncs; hold, quote, plan, batch
    app.include_router(routes.router(services))
observability.route_library_logs(logger)
# Reads emit no metric (API Gateway counts requests); that is expected, not worth a warning per process.
warnings.filterwarnings("ignore", "No application metrics to publish")

# The document /openapi.json serves and /docs embeds. The server is relative: resolved against
# where the document is read (https://<api>/<stage>/ deployed, http://127.0.0.1:<port>/ locally).
# Servers, security schemes and examples are plain dicts that Powertools validates into its OpenAPI
# models when it builds the document: those models (~40 ms to import) are not imported at init, so
# only the requests for /openapi.json and /docs load them.
OPENAPI: dict[str, Any] = {
    "title": "Return Helper resends",
    "version": "1.0.0",
    "security_schemes": rest_api.SECURITY_SCHEMES,
    "servers": [{"url": "."}],
}

# Example values that name real records on a seeded stack (tests/integration/test_api_fuzz.py
# seeds them), so a fuzzer's examples reach the 200s, not only 404s.
EXAMPLE_INVENTORY_ID = 7001
EXAMPLE_WAREHOUSE_ID = 2
EXAMPLE_IDEMPOTENCY_KEY = "example-resend-1"
EXAMPLE_RESEND_REQUEST_ID = request_id_for(EXAMPLE_IDEMPOTENCY_KEY)  # a keyed request's id is derived from its key
EXAMPLE_RESEND = {
    "returnInventoryIdList": [EXAMPLE_INVENTORY_ID],
    "description": "Resend with a corrected address",
    "resendShipment": {
        "shipmentServiceType": "SHIPMENT_UPS_GROUND_NJ",
        "shipmentCountryCode": "usa",
        "shipmentName": "Test Recipient",
        "shipmentPhone": "5550100",
        "shipmentStreet1": "1 Test Street",
        "shipmentState": "NJ",
        "shipmentCity": "Testville",
        "shipmentPostalCode": "00000",
    },
}


# Every id parameter: a positive int64. (Powertools' OpenAPI Schema model types bounds as floats,
# so the document shows 2**63 - 1 as 9.223372036854776e+18; validation uses the exact int.)
Id = Annotated[int, annotated_types.Gt(0), annotated_types.Le(MAX_ID)]


def _example(value: Any) -> dict[str, dict[str, Any]]:  # an OpenAPI Example object
    return {"seeded": {"summary": "exists on a seeded local stack", "value": value}}


class InventoryPage(SuccessModel):
    items: list[InventoryView]
    nextToken: str | None


class HealthView(SuccessModel):
    status: str


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


class ResendPage(SuccessModel):
    items: list[ResendView]
    nextToken: str | None


class RejectedBody(ErrorBody):
    resendRequestId: str
    status: str
    upstream: UpstreamRefusal


ResendRequestIdPath = Annotated[
    str, Path(min_length=1, max_length=64, openapi_examples=_example(EXAMPLE_RESEND_REQUEST_ID))
]

# POST /resends answers a request id: these links tell clients (and schemathesis' stateful
# phase) where it leads.
RESEND_LINKS = {
    "GetResend": {
        "operationId": "get_resend",
        "parameters": {"resendRequestId": "$response.body#/resendRequestId"},
    },
    "CancelResend": {
        "operationId": "cancel_resend",
        "parameters": {"resendRequestId": "$response.body#/resendRequestId"},
    },
}


def _linked(response: "OpenAPIResponse") -> "OpenAPIResponse":
    return {**response, "links": RESEND_LINKS}


@app.get("/health", operation_id="health", summary="Liveness", responses={200: doc("Alive", HealthView), **INVALID})
def health() -> HealthView:
    return HealthView(status="ok")


@keyed_route(
    app.get,
    "/inventories/<returnInventoryId>",
    "get_inventory",
    "One inventory's state",
    {200: doc("The inventory", InventoryView), **NOT_FOUND, **INVALID},
)
@tracer.capture_method
def get_inventory(
    returnInventoryId: Annotated[Id, Path(openapi_examples=_example(EXAMPLE_INVENTORY_ID))],
) -> InventoryView:
    record = store.get(returnInventoryId)
    if record is None:
        raise rest_api.NotFound(f"inventory {returnInventoryId} is not known")
    return InventoryView(**inventory.view(record, ELIGIBLE_HANDLING_CODES))


@keyed_route(
    app.get,
    "/inventories",
    "list_inventories",
    "A warehouse's inventories, optionally only those eligible",
    {200: doc("A page of inventories", InventoryPage), **INVALID},
)
@tracer.capture_method
def list_inventories(
    warehouseId: Annotated[Id, Query(openapi_examples=_example(EXAMPLE_WAREHOUSE_ID))],
    eligible: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=512)] = None,
) -> InventoryPage:
    try:
        records, token = store.list_by_warehouse(
            warehouseId, limit, nextToken, ELIGIBLE_HANDLING_CODES if eligible else None
        )
    except InvalidPageToken as bad_token:
        raise rest_api.invalid("nextToken", str(bad_token)) from bad_token
    items = [InventoryView(**inventory.view(r, ELIGIBLE_HANDLING_CODES)) for r in records]
    return InventoryPage(items=items, nextToken=token)


@keyed_route(
    app.get,
    "/service-types",
    "list_service_types",
    "The warehouse's shipment service types (cached from Return Helper)",
    {200: doc("The service types", ServiceTypeList), **INVALID, **UNAVAILABLE},
)
@tracer.capture_method
def list_service_types(
    warehouseId: Annotated[Id, Query(openapi_examples=_example(EXAMPLE_WAREHOUSE_ID))],
) -> Response[ServiceTypeList]:
    return _answer(services.resends.service_types(warehouseId))


@keyed_route(
    app.post,
    "/resends",
    "create_resend",
    "Create a resend: validated, reserved, submitted once",
    {
        201: _linked(doc("Return Helper accepted it", ResendView)),
        202: _linked(doc("Queued for retry after a transient upstream failure (or DEAD)", ResendAccepted)),
        409: doc(
            "Items reserved by another request (with `conflicts`), or the same key still in flight",
            ReservationConflictBody,
            ErrorBody,
        ),
        422: doc(
            "Not valid (nothing sent upstream), key reused with another body, or refused upstream (REJECTED)",
            ErrorBody,
            RejectedBody,
        ),
        503: doc("Return Helper's service types unavailable"),
    },
    takes_body=True,
)
@tracer.capture_method
def create_resend(
    request: Annotated[CreateResendRequest, Body(openapi_examples=_example(EXAMPLE_RESEND))],
    idempotency_key: Annotated[
        rest_api.IdempotencyKey, rest_api.idempotency_key_header(openapi_examples=_example(EXAMPLE_IDEMPOTENCY_KEY))
    ] = None,
) -> Response[ResendView | ResendAccepted]:
    observability.log_payload(logger, logging.DEBUG, "resend request", request.model_dump(mode="json"))
    return _answer(services.resends.create(request, idempotency_key))


@keyed_route(
    app.get,
    "/resends",
    "find_resend",
    "Find a resend by its idempotency key, or list resends by status (newest updatedAt first)",
    {
        200: doc("The resend for the key, or a page of resends with the status", ResendView, ResendPage),
        **NOT_FOUND,
        **INVALID,
    },
)
@tracer.capture_method
def find_resend(
    idempotencyKey: Annotated[
        str | None, Query(min_length=1, max_length=255, openapi_examples=_example(EXAMPLE_IDEMPOTENCY_KEY))
    ] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[ResendView | ResendPage]:
    if idempotencyKey is not None and status is None:
        return _answer(services.resends.get_by_key(idempotencyKey))
    if status is None or idempotencyKey is not None:
        raise rest_api.invalid("status", "give exactly one of idempotencyKey and status")
    try:
        return _answer(resend_workflow.resends_with_status(services.listing, status, limit, nextToken))
    except InvalidPageToken as bad_token:
        raise rest_api.invalid("nextToken", str(bad_token)) from bad_token


@keyed_route(
    app.get,
    "/resends/<resendRequestId>",
    "get_resend",
    "One resend request",
    {200: doc("The resend request", ResendView), **NOT_FOUND, **INVALID},
)
@tracer.capture_method
def get_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
    return _answer(services.resends.get(resendRequestId))


@keyed_route(
    app.post,
    "/resends/<resendRequestId>/cancel",
    "cancel_resend",
    "Cancel a resend Return Helper has not dispatched yet, or a PENDING one none of whose attempts can have "
    "reached Return Helper",
    {
        200: doc("Canceled (the items are eligible again at once)", ResendView),
        **NOT_FOUND,
        **INVALID,
        409: doc(
            "Not cancellable: dispatched, finished, refused upstream, or PENDING with an attempt whose outcome "
            "is unknown (try again once it resolves)"
        ),
        **UNAVAILABLE,
    },
    takes_body=True,
)
@tracer.capture_method
def cancel_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
    return _answer(services.resends.cancel(resendRequestId))


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():  # type: ignore[no-untyped-def]  # none: Powertools would validate the document against it
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(**OPENAPI))


DOCS_PATH = "/docs"


@functools.cache
def _enable_docs() -> None:
    """Powertools' own Swagger UI: the page inlines the Swagger UI assets Powertools ships (no CDN),
    so /docs works on a machine without internet; the document is embedded in the page.

    Enabled on the first request for /docs, not at init: enable_swagger imports Powertools' OpenAPI
    models (~40 ms) that no other route needs.
    """
    app.enable_swagger(path=DOCS_PATH, persist_authorization=True, **OPENAPI)


def _answer(result: Result) -> Response:
    outcome_metrics.count_resend_outcome(metrics, result.outcome)
    return rest_api.respond(result)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: "LambdaContext") -> dict:
    observability.set_api_correlation_id(logger, event)
    refused = rest_api.refuse_unreadable_body(event, rest_api.MAX_BODY_BYTES)
    if refused is not None:
        return refused
    if event.get("resource") == DOCS_PATH:  # the route template.yaml declares, whatever the stage
        _enable_docs()
    return app.resolve(event, context)


snapstart.register()  # SnapStart's hooks (rh_common/runtime/snapstart.py says what each does and why)
cold_start.finished()
