"""The merchant REST API: health, inventories, service types, resends, and its OpenAPI document.

Thin: Powertools' REST resolver validates each request against the typed
signatures and pydantic models below (the same types generate the OpenAPI
document), the domain services do the work, and every error body has the
contract's shape.
"""

# No `from __future__ import annotations`: Powertools reads these signatures'
# Annotated types at run time to validate requests and build the OpenAPI schema.
# Routes that answer with several shapes (the service's Answer) have no return
# annotation, which would make Powertools validate every body against one model;
# their shapes are documented with `responses=` instead.
import json
import logging
import warnings
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

from rh_common import errors, inventory, observability, wiring
from rh_common.errors import ErrorBody
from rh_common.resend_request import MAX_ID, CreateResendRequest
from rh_common.resend_service import Answer

logger = Logger()
tracer = Tracer(patch_modules=("botocore", "requests"))  # only what it calls (cold start)
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

ELIGIBLE_HANDLING_CODES = wiring.eligible_handling_codes()
store = wiring.inventory_store()
resends = wiring.resend_service(store, on_call=observability.record_upstream_call)
observability.route_library_logs(logger)
# Reads emit no metric (API Gateway counts requests); that is expected, not worth a warning per process.
warnings.filterwarnings("ignore", "No application metrics to publish")
# A CreateResend body is under 2 KB; larger ones are refused before they are parsed
# (API Gateway's own cap is 10 MB).
MAX_BODY_BYTES = 64 * 1024

# Swagger UI's assets come from a CDN so /docs stays a small page.
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
API_KEY_SCHEME = {"ApiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)}


class InventoryView(BaseModel):
    returnInventoryId: int
    warehouseId: int | None
    handlingCode: str | None
    handlingStatusCode: str | None
    inStock: bool
    pendingVas: bool
    activeResendRequestId: str | None
    eligibleForResend: bool
    rma: str | None
    sku: str | None
    description: str | None
    lastEventTime: str | None


class InventoryPage(BaseModel):
    items: list[InventoryView]
    nextToken: str | None


class HealthView(BaseModel):
    status: str


class CountryCodePair(BaseModel):
    warehouseId: int | None = None
    description: str | None = None
    fromCountryCode: str | None = None
    toCountryCode: str | None = None


class ServiceTypeView(BaseModel):
    serviceTypeCode: str
    serviceType: str | None
    countryCodePairList: list[CountryCodePair]


class ServiceTypeList(BaseModel):
    items: list[ServiceTypeView]


class ResendView(BaseModel):
    resendRequestId: str
    status: str
    returnInventoryIdList: list[int]
    resendId: int | None
    resendNumber: str | None
    resendStatusCode: int | None
    trackingNumber: str | None
    attempts: int
    lastError: dict[str, Any] | None
    idempotencyKey: str | None
    createdAt: str | None
    updatedAt: str | None


class ResendAccepted(BaseModel):
    resendRequestId: str
    status: str


class ConflictItem(BaseModel):
    returnInventoryId: int
    resendRequestId: str | None


class ReservationConflictBody(ErrorBody):
    conflicts: list[ConflictItem]


class UpstreamRefusal(BaseModel):
    errorCode: str | None
    error: Any


class RejectedBody(ErrorBody):
    resendRequestId: str
    status: str
    upstream: UpstreamRefusal


def _doc(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


INVALID = {422: _doc("Validation failed: one entry per offending field")}
NOT_FOUND = {404: _doc("Not known")}


class NotFound(Exception):
    pass


@app.get("/health", summary="Liveness", responses={200: _doc("Alive", HealthView), **INVALID})
def health() -> HealthView:
    return HealthView(status="ok")


@app.get(
    "/inventories/<returnInventoryId>",
    summary="One inventory's state",
    responses={200: _doc("The inventory", InventoryView), **NOT_FOUND, **INVALID},
)
@tracer.capture_method
def get_inventory(returnInventoryId: Annotated[int, Path(gt=0, le=MAX_ID)]) -> InventoryView:
    record = store.get(returnInventoryId)
    if record is None:
        raise NotFound(f"inventory {returnInventoryId} is not known")
    return InventoryView(**inventory.view(record, ELIGIBLE_HANDLING_CODES))


@app.get(
    "/inventories",
    summary="A warehouse's inventories, optionally only those eligible",
    responses={200: _doc("A page of inventories", InventoryPage), **INVALID},
)
@tracer.capture_method
def list_inventories(
    warehouseId: Annotated[int, Query(gt=0, le=MAX_ID)],
    eligible: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=512)] = None,
) -> InventoryPage:
    try:
        records, token = store.list_by_warehouse(
            warehouseId, limit, nextToken, ELIGIBLE_HANDLING_CODES if eligible else None
        )
    except ValueError as bad_token:
        raise RequestValidationError(
            [{"loc": ("query", "nextToken"), "msg": str(bad_token), "type": "value_error"}]
        ) from bad_token
    items = [InventoryView(**inventory.view(r, ELIGIBLE_HANDLING_CODES)) for r in records]
    return InventoryPage(items=items, nextToken=token)


@app.get(
    "/service-types",
    summary="The warehouse's shipment service types (cached from Return Helper)",
    responses={
        200: _doc("The service types", ServiceTypeList),
        **INVALID,
        503: _doc("Return Helper unavailable and nothing cached"),
    },
)
@tracer.capture_method
def list_service_types(warehouseId: Annotated[int, Query(gt=0, le=MAX_ID)]):
    return _answer(resends.service_types(warehouseId))


@app.post(
    "/resends",
    summary="Create a resend: validated, reserved, submitted once",
    responses={
        201: _doc("Return Helper accepted it", ResendView),
        202: _doc("Queued for retry after a transient upstream failure", ResendAccepted),
        400: _doc("Body is not JSON"),
        409: _doc("Items reserved by another request, or the same key still in flight", ReservationConflictBody),
        413: _doc(f"Body larger than {MAX_BODY_BYTES} bytes"),
        422: _doc("Not valid (nothing sent upstream), key reused with another body, or refused upstream", RejectedBody),
        503: _doc("Return Helper's service types unavailable"),
    },
)
@tracer.capture_method
def create_resend(
    request: CreateResendRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
):
    observability.log_payload(logger, logging.DEBUG, "resend request", request.model_dump(mode="json"))
    return _answer(resends.create(request, idempotency_key))


@app.get(
    "/resends",
    summary="Find a resend by its idempotency key",
    responses={200: _doc("The resend request", ResendView), **NOT_FOUND, **INVALID},
)
@tracer.capture_method
def find_resend(idempotencyKey: Annotated[str, Query(min_length=1, max_length=255)]):
    return _answer(resends.get_by_key(idempotencyKey))


@app.get(
    "/resends/<resendRequestId>",
    summary="One resend request",
    responses={200: _doc("The resend request", ResendView), **NOT_FOUND, **INVALID},
)
@tracer.capture_method
def get_resend(resendRequestId: Annotated[str, Path(min_length=1, max_length=64)]):
    return _answer(resends.get(resendRequestId))


@app.post(
    "/resends/<resendRequestId>/cancel",
    summary="Cancel a resend Return Helper has not dispatched yet",
    responses={
        200: _doc("Canceled", ResendView),
        **NOT_FOUND,
        **INVALID,
        409: _doc("Not cancellable"),
        503: _doc("Return Helper unavailable"),
    },
)
@tracer.capture_method
def cancel_resend(resendRequestId: Annotated[str, Path(min_length=1, max_length=64)]):
    return _answer(resends.cancel(resendRequestId))


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    document = app.get_openapi_json_schema(
        title="Return Helper resends",
        version="1.0.0",
        security_schemes=API_KEY_SCHEME,
        security=[{"ApiKey": []}],
    )
    return Response(200, content_types.APPLICATION_JSON, document)


@app.get("/docs", include_in_schema=False)
def swagger_ui():
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Return Helper resends API</title>
<link rel="stylesheet" href="{SWAGGER_UI_CDN}/swagger-ui.css"></head>
<body><div id="ui"></div><script src="{SWAGGER_UI_CDN}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "openapi.json", dom_id: "#ui"}});</script></body></html>"""
    return Response(200, "text/html; charset=utf-8", page)


def _answer(answer: Answer) -> Response:
    observability.count_resend_outcome(metrics, answer.outcome)
    return Response(answer.status_code, content_types.APPLICATION_JSON, answer.body)


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response:
    # Powertools' default 422 body does not match its own schema; ours matches ErrorBody.
    problems = exc.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return _json(400, errors.error_body("request body is not valid JSON"))
    return _json(422, errors.error_body("request is not valid", errors.from_validation_errors(problems)))


@app.exception_handler(NotFound)
def not_found(exc: NotFound) -> Response:
    return _json(404, errors.error_body(str(exc)))


@app.not_found
def no_route(_: Exception) -> Response:
    return _json(404, errors.error_body("no such route"))


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return _json(500, errors.error_body("internal error"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    # Checked on the text API Gateway hands over (no binary media types: never base64 here).
    if len(event.get("body") or "") > MAX_BODY_BYTES:
        logger.warning("request body too large", extra={"bytes": len(event["body"])})
        body = errors.error_body(f"body larger than {MAX_BODY_BYTES} bytes")
        return {"statusCode": 413, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
    return app.resolve(event, context)
