"""The merchant REST API: health and the inventory state that webhooks keep.

Thin: Powertools' REST resolver validates the request against the typed
signatures below (the same types generate the OpenAPI schema), the store reads
DynamoDB, and the domain shapes the view.
"""

# No `from __future__ import annotations`: Powertools reads these signatures'
# Annotated types at run time to validate requests and build the OpenAPI schema.
from typing import Annotated

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

from rh_common import errors, inventory, settings
from rh_common.adapters.inventory_store import InventoryStore

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)

ELIGIBLE_HANDLING_CODES = settings.code_set("ELIGIBLE_HANDLING_CODES", "ohd,tbc")
store = InventoryStore(
    settings.required("INVENTORY_TABLE"), settings.optional("INVENTORY_WAREHOUSE_INDEX") or "ByWarehouse"
)

MAX_ID = 2**63 - 1


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


class NotFound(Exception):
    pass


@app.get("/health")
def health() -> HealthView:
    return HealthView(status="ok")


@app.get("/inventories/<returnInventoryId>")
@tracer.capture_method
def get_inventory(returnInventoryId: Annotated[int, Path(gt=0, le=MAX_ID)]) -> InventoryView:
    record = store.get(returnInventoryId)
    if record is None:
        raise NotFound(f"inventory {returnInventoryId} is not known")
    return InventoryView(**inventory.view(record, ELIGIBLE_HANDLING_CODES))


@app.get("/inventories")
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


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response:
    # Powertools' default 422 body does not match the contract: one entry per field.
    return _json(422, errors.error_body("request is not valid", errors.from_validation_errors(exc.errors())))


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
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
