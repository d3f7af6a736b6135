"""The delivery log as a tool (contract sections 8 and 11): search deliveries, replay one, replay in bulk.

A search reads one index (status, or what the delivery is about), which never holds the body (it holds
addresses). A replay runs the stored bytes through the webhook's own apply path, without the
dedup step; state is versioned by event, so a replay never double-applies. A bulk replay runs in the
background (rh_common.services.delivery_replay); these routes start it and show its progress.
Answers follow rh_common.http.rest_api: success models returned, every other status raised.
app.py builds the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from rh_common.contract.resend_request import MAX_ID
from rh_common.contract.views import DeliveryView, SuccessModel
from rh_common.domain import field_errors
from rh_common.domain.deliveries import DeliveryOutcome, DeliveryStatus, view
from rh_common.domain.delivery_search import REPLAYABLE, parse_search
from rh_common.domain.errors import InvalidPageToken
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, operator_route
from rh_common.runtime import wiring
from rh_common.services.webhook_ingest import ApplyFailed

if TYPE_CHECKING:  # Literals built at run time (from the one list of each): a type checker sees a str
    StatusName = str
    ReplayableStatus = str
    Outcome = str
else:
    StatusName = Literal[tuple(status.value for status in DeliveryStatus)]
    ReplayableStatus = Literal[REPLAYABLE]
    Outcome = Literal[tuple(outcome.value for outcome in DeliveryOutcome)]  # the webhook answer's `status`
DeliveryIdPath = Annotated[str, Path(min_length=1, max_length=200)]
Window = Annotated[str | None, Query(min_length=1, max_length=64)]  # a date, or a date-time with Z or an offset
IdQuery = Annotated[int | None, Query(gt=0, le=MAX_ID)]


class DeliveryPage(SuccessModel):
    items: list[DeliveryView]
    nextToken: str | None


class ReplayOutcome(SuccessModel):
    deliveryId: str
    outcome: Outcome


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ReplayableStatus
    category: str | None = Field(default=None, min_length=1, max_length=100)
    since: str | None = None  # required; checked with the window so every problem is a field error
    until: str | None = None  # default: now


class ReplayStarted(SuccessModel):
    replayId: str
    status: Literal["RUNNING"]


class ReplayProgress(SuccessModel):
    replayId: str
    status: Literal["RUNNING", "DONE"]
    matched: int
    replayed: int
    outcomes: dict[str, int]


def router(services: wiring.Wiring) -> APIGatewayRouter:
    """The delivery routes over `services` (read at request time: its clients are built on first use)."""
    routes = APIGatewayRouter()

    @operator_route(
        routes.get,
        "/deliveries",
        "list_deliveries",
        "Webhook deliveries by state, category, arrival window, item or resend, newest first (never the body)",
        {200: doc("A page of deliveries", DeliveryPage), **INVALID},
    )
    def list_deliveries(
        status: Annotated[StatusName | None, Query()] = None,
        category: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        since: Window = None,
        until: Window = None,
        inventoryId: IdQuery = None,
        resendId: IdQuery = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        nextToken: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> DeliveryPage:
        now = datetime.now(UTC)
        search, problems = parse_search(now, status, category, since, until, inventoryId, resendId)
        if search is None:
            raise rest_api.ApiError(422, field_errors.error_body("search is not valid", problems))
        try:
            items, token = services.deliveries.search(search, limit, nextToken)
        except InvalidPageToken as bad_token:
            raise rest_api.invalid("nextToken", str(bad_token)) from bad_token
        return DeliveryPage(items=[DeliveryView(**view(item)) for item in items], nextToken=token)

    @operator_route(
        routes.post,
        "/deliveries/replay",
        "replay_deliveries",
        "Replay every delivery of a state and arrival window (runs in the background, paced)",
        {
            202: doc("Started", ReplayStarted),
            422: doc("Not a replayable status, or a bad window: since missing, after until or in the future"),
        },
        takes_body=True,
    )
    def replay_deliveries(request: ReplayRequest) -> Response[ReplayStarted]:
        started, problems = services.delivery_replays.start(
            request.status, request.category, request.since, request.until
        )
        if started is None:
            raise rest_api.ApiError(422, field_errors.error_body("replay is not valid", problems))
        body = ReplayStarted(replayId=started["replayId"], status=started["status"])
        return Response(202, content_types.APPLICATION_JSON, body)

    @operator_route(
        routes.get,
        "/deliveries/replay/<replayId>",
        "get_delivery_replay",
        "A bulk replay's progress",
        {200: doc("The replay", ReplayProgress), **NOT_FOUND, **INVALID},
    )
    def get_delivery_replay(replayId: Annotated[str, Path(min_length=1, max_length=64)]) -> ReplayProgress:
        progress = services.delivery_replays.get(replayId)
        if progress is None:
            raise rest_api.NotFound(f"replay {replayId} is not known")
        return ReplayProgress(**progress)

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
