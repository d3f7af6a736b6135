"""Inventory sync (contract section 8): start one, follow its progress.

The work runs in the background through SQS (rh_common.services.inventory_sync); this
module only records the sync and answers (rh_common.http.rest_api's pattern). app.py builds
the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from rh_common.contract.views import SuccessModel, SyncProgress
from rh_common.domain import field_errors
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, operator_route
from rh_common.runtime import wiring


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str | None = None  # required; checked with the window so every problem is a field error
    until: str | None = None


class SyncStarted(SuccessModel):
    syncId: str
    status: Literal["RUNNING"]


def router(services: wiring.Wiring) -> APIGatewayRouter:
    """The sync routes over `services` (read at request time: its clients are built on first use)."""
    routes = APIGatewayRouter()

    @operator_route(
        routes.post,
        "/sync/inventories",
        "start_inventory_sync",
        "Start reading Return Helper's inventories of a window (runs in the background)",
        {
            202: doc("Started", SyncStarted),
            422: doc("Bad window: since after until or in the future, dates that do not parse"),
        },
        takes_body=True,
    )
    def start_sync(request: SyncRequest) -> Response[SyncStarted]:
        started, problems = services.syncs.start(request.since, request.until)
        if started is None:
            raise rest_api.ApiError(422, field_errors.error_body("sync window is not valid", problems))
        body = SyncStarted(syncId=started["syncId"], status=started["status"])
        return Response(202, content_types.APPLICATION_JSON, body)

    @operator_route(
        routes.get,
        "/sync/inventories/<syncId>",
        "get_inventory_sync",
        "A sync's progress",
        {200: doc("The sync", SyncProgress), **NOT_FOUND, **INVALID},
    )
    def get_sync(syncId: Annotated[str, Path(min_length=1, max_length=64)]) -> SyncProgress:
        progress = services.syncs.get(syncId)
        if progress is None:
            raise rest_api.NotFound(f"sync {syncId} is not known")
        return SyncProgress(**progress)

    return routes
