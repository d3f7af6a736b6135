"""The delivery log as a tool (contract section 8): list deliveries by status, replay one.

Listing reads the status index, which never holds the body (it holds addresses).
A replay runs the stored bytes through the webhook's own apply path, without the
dedup step; state is versioned by event, so a replay never double-applies.
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from rh_common import errors, wiring
from rh_common.adapters.delivery_log import DeliveryStatus, view
from rh_common.errors import ErrorBody
from rh_common.ingest import ApplyFailed

router = APIGatewayRouter()
ingestor = wiring.webhook_ingestor()
deliveries = wiring.delivery_log()

StatusName = Literal[tuple(status.value for status in DeliveryStatus)]  # the one list of states


class DeliveryView(BaseModel):
    deliveryId: str
    status: str
    category: str | None
    action: str | None
    eventTime: str | None
    receivedAt: str | None
    reason: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryView]
    nextToken: str | None


class ReplayOutcome(BaseModel):
    deliveryId: str
    outcome: Literal["applied", "duplicate", "ignored", "unprocessable"]


def _doc(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


@router.get(
    "/deliveries",
    summary="Webhook deliveries in one state, newest first (never the body)",
    responses={200: _doc("A page of deliveries", DeliveryPage), 422: _doc("Bad status, limit or token")},
)
def list_deliveries(
    status: Annotated[StatusName, Query()],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=1024)] = None,
) -> DeliveryPage:
    try:
        items, token = deliveries.list_by_status(status, limit, nextToken)
    except ValueError as bad_token:
        raise RequestValidationError(
            [{"loc": ("query", "nextToken"), "msg": str(bad_token), "type": "value_error"}]
        ) from bad_token
    return DeliveryPage(items=[DeliveryView(**view(item)) for item in items], nextToken=token)


@router.post(
    "/deliveries/<deliveryId>/replay",
    summary="Run a kept delivery through the apply path again (dedup skipped)",
    responses={
        200: _doc("What the webhook would answer now", ReplayOutcome),
        404: _doc("No such delivery"),
        422: _doc("Not a delivery id"),
        503: _doc("Stored, but could not be applied now; try again"),
    },
)
def replay_delivery(deliveryId: Annotated[str, Path(min_length=1, max_length=200)]):
    item = deliveries.get(deliveryId)
    if item is None:
        return _json(404, errors.error_body(f"delivery {deliveryId} is not known"))
    try:
        result = ingestor.apply_stored(item)
    except ApplyFailed:
        return _json(503, errors.error_body("delivery could not be applied now (marked applyFailed); try again"))
    return _json(200, {"deliveryId": deliveryId, "outcome": result.outcome})


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)
