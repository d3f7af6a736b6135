"""Inventory sync (contract section 8): start one, follow its progress.

The work runs in the background through SQS (rh_common.inventory_sync_service); this
module only records the sync and answers.
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from rh_common import errors, wiring
from rh_common.errors import ErrorBody

router = APIGatewayRouter()
syncs = wiring.inventory_sync_service()


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str | None = None  # required; checked with the window so every problem is a field error
    until: str | None = None


class SyncStarted(BaseModel):
    syncId: str
    status: str


class SyncError(BaseModel):
    message: str


class SyncProgress(BaseModel):
    syncId: str
    status: str
    since: str | None
    until: str | None
    pagesDone: int
    pagesTotal: int
    inventoriesSeen: int
    inventoriesChanged: int
    errors: list[SyncError]


def _doc(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


@router.post(
    "/sync/inventories",
    summary="Start reading Return Helper's inventories of a window (runs in the background)",
    responses={
        202: _doc("Started", SyncStarted),
        400: _doc("Body is not JSON"),
        422: _doc("Bad window: since after until or in the future, dates that do not parse"),
    },
)
def start_sync(request: SyncRequest):
    started, problems = syncs.start(request.since, request.until)
    if started is None:
        return _json(422, errors.error_body("sync window is not valid", problems))
    return _json(202, {"syncId": started["syncId"], "status": started["status"]})


@router.get(
    "/sync/inventories/<syncId>",
    summary="A sync's progress",
    responses={200: _doc("The sync", SyncProgress), 404: _doc("No such sync"), 422: _doc("Not a sync id")},
)
def get_sync(syncId: Annotated[str, Path(min_length=1, max_length=64)]):
    progress = syncs.get(syncId)
    if progress is None:
        return _json(404, errors.error_body(f"sync {syncId} is not known"))
    return _json(200, progress)


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)
