"""Resends (contract section 3): create one, find one by key or list by status, read one, cancel one.

Answers follow rh_common.http.rest_api: success models returned, every other status raised;
each answer is counted as a resend outcome (rh_common.runtime.outcome_metrics). app.py builds
the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
import logging
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from seeded_examples import EXAMPLE_IDEMPOTENCY_KEY, EXAMPLE_RESEND, EXAMPLE_RESEND_REQUEST_ID, example

from rh_common.contract.error_schemas import ErrorBody, UpstreamRefusal
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.contract.views import ResendAccepted, ResendView, ReservationConflictBody, SuccessModel
from rh_common.domain import resend_lifecycle, results
from rh_common.domain.errors import InvalidPageToken
from rh_common.domain.resend_lifecycle import Status
from rh_common.domain.results import Result
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, UNAVAILABLE, doc, keyed_route
from rh_common.runtime import observability, outcome_metrics, wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from rh_common.services.ports import ResendPages

# Powertools shares these with app.py's: one metric set (its handler publishes it), and a child of
# its Logger (the same JSON lines, level and correlation id).
logger = Logger(child=True)
metrics = Metrics()


class ResendPage(SuccessModel):
    items: list[ResendView]
    nextToken: str | None


class RejectedBody(ErrorBody):
    resendRequestId: str
    status: str
    upstream: UpstreamRefusal


ResendRequestIdPath = Annotated[
    str, Path(min_length=1, max_length=64, openapi_examples=example(EXAMPLE_RESEND_REQUEST_ID))
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


def resends_with_status(listing: "ResendPages", status: str, limit: int, next_token: str | None) -> Result:
    """GET /resends?status= (the route is shared with ?idempotencyKey=); InvalidPageToken: a bad token."""
    records, token = listing.page(status, limit, next_token)
    return results.found({"items": [resend_lifecycle.view(r) for r in records], "nextToken": token})


def _answer(result: Result) -> Response:
    outcome_metrics.count_resend_outcome(metrics, result.outcome)
    return rest_api.respond(result)


def router(services: wiring.Wiring) -> Router:
    """The resend routes over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.post,
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
    def create_resend(
        request: Annotated[CreateResendRequest, Body(openapi_examples=example(EXAMPLE_RESEND))],
        idempotency_key: Annotated[
            rest_api.IdempotencyKey, rest_api.idempotency_key_header(openapi_examples=example(EXAMPLE_IDEMPOTENCY_KEY))
        ] = None,
    ) -> Response[ResendView | ResendAccepted]:
        observability.log_payload(logger, logging.DEBUG, "resend request", request.model_dump(mode="json"))
        return _answer(services.resends.create(request, idempotency_key))

    @keyed_route(
        routes.get,
        "/resends",
        "find_resend",
        "Find a resend by its idempotency key, or list resends by status (newest updatedAt first)",
        {
            200: doc("The resend for the key, or a page of resends with the status", ResendView, ResendPage),
            **NOT_FOUND,
            **INVALID,
        },
    )
    def find_resend(
        idempotencyKey: Annotated[
            str | None, Query(min_length=1, max_length=255, openapi_examples=example(EXAMPLE_IDEMPOTENCY_KEY))
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
            return _answer(resends_with_status(services.listing, status, limit, nextToken))
        except InvalidPageToken as bad_token:
            raise rest_api.invalid("nextToken", str(bad_token)) from bad_token

    @keyed_route(
        routes.get,
        "/resends/<resendRequestId>",
        "get_resend",
        "One resend request",
        {200: doc("The resend request", ResendView), **NOT_FOUND, **INVALID},
    )
    def get_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
        return _answer(services.resends.get(resendRequestId))

    @keyed_route(
        routes.post,
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
                "is unknown (try again once it resolves); AWAITING_APPROVAL: as its reject"
            ),
            **UNAVAILABLE,
        },
        takes_body=True,
    )
    def cancel_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
        return _answer(services.resends.cancel(resendRequestId))

    @keyed_route(
        routes.post,
        "/resends/<resendRequestId>/approve",
        "approve_resend",
        "Approve a resend AWAITING_APPROVAL: it is sent (then as any PENDING request)",
        {
            200: doc("Approved (or approved before): the current view", ResendView),
            **NOT_FOUND,
            **INVALID,
            409: doc("Never awaited approval, or rejected or timed out already"),
        },
        takes_body=True,
    )
    def approve_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
        return _answer(services.resends.approve(resendRequestId))

    @keyed_route(
        routes.post,
        "/resends/<resendRequestId>/reject",
        "reject_resend",
        "Reject a resend AWAITING_APPROVAL: CANCELED, its items eligible again at once",
        {
            200: doc("Rejected (or rejected or timed out before): the current view", ResendView),
            **NOT_FOUND,
            **INVALID,
            409: doc("Never awaited approval, or approved already"),
        },
        takes_body=True,
    )
    def reject_resend(resendRequestId: ResendRequestIdPath) -> Response[ResendView]:
        return _answer(services.resends.reject(resendRequestId))

    return routes
