"""The delivery log as a tool (contract section 8): list deliveries by status, replay one.

Listing reads the status index, which never holds the body (it holds addresses).
A replay runs the stored bytes through the webhook's own apply path, without the
dedup step; state is versioned by event, so a replay never double-applies.
Answers follow rh_common.http.rest_api: success models returned, every other status raised.
app.py builds the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from rh_common.contract.views import DeliveryView, SuccessModel
from rh_common.domain import field_errors
from rh_common.domain.deliveries import DeliveryStatus, view
from rh_common.domain.errors import InvalidPageToken
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, operator_route
from rh_common.runtime import wiring
from rh_common.services.webhook_ingest import ApplyFailed

if TYPE_CHECKING:  # a Literal built at run time (from the one list of states): a type checker sees a str
    StatusName = str
else:
    StatusName = Literal[tuple(status.value for status in DeliveryStatus)]
Outcome = Literal["applied", "duplicate", "ignored", "unprocessable"]  # the webhook answer's `status`
DeliveryIdPath = Annotated[str, Path(min_length=1, max_length=200)]


class DeliveryPage(SuccessModel):
    items: list[DeliveryView]
    nextToken: str | None


class ReplayOutcome(SuccessModel):
    deliveryId: str
    outcome: Outcome


def router(services: wiring.Wiring) -> APIGatewayRouter:
    """The delivery routes over `services` (read at request time: its clients are built on first use)."""
    routes = APIGatewayRouter()

    @operator_route(
        routes.get,
        "/deliveries",
        "list_deliveries",
        "Webhook deliveries in one state, newest first (never the body)",
        {200: doc("A page of deliveries", DeliveryPage), **INVALID},
    )
    def list_deliveries(
        status: Annotated[StatusName, Query()],
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        nextToken: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> DeliveryPage:
        try:
            items, token = services.deliveries.list_by_status(status, limit, nextToken)
        except InvalidPageToken as bad_token:
            raise rest_api.invalid("nextToken", str(bad_token)) from bad_token
        return DeliveryPage(items=[DeliveryView(**view(item)) for item in items], nextToken=token)

    @operator_route(
        routes.post,
        "/deliveries/<deliveryId>/replay",
        "replay_delivery",
        "Run a kept delivery through the apply path again (dedup skipped)",
        {
            200: doc("What the webhook would answer now", ReplayOutcome),
            **NOT_FOUND,
            **INVALID,
            503: doc("Stored, but could not be applied now (marked applyFailed); try again"),
        },
        takes_body=True,
    )
    def replay_delivery(deliveryId: DeliveryIdPath) -> ReplayOutcome:
        item = services.deliveries.get(deliveryId)
        if item is None:
            raise rest_api.NotFound(f"delivery {deliveryId} is not known")
        try:
            result = services.ingestor.apply_stored(item)
        except ApplyFailed as failed:
            refusal = field_errors.error_body("delivery could not be applied now; try again")
            raise rest_api.ApiError(503, refusal) from failed
        return ReplayOutcome(deliveryId=deliveryId, outcome=result.outcome)

    return routes
