"""Resend instructions (contract section 12): register, read, list by status, cancel.

app.py builds the Router once at init with the process's one wiring (`router(services)`).
"""

# No `from __future__ import annotations`: Powertools reads the Annotated types at run time.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from rh_common.contract.instructions import InstructionRequest
from rh_common.contract.views import SuccessModel
from rh_common.domain.instructions import Status
from rh_common.http import rest_api
from rh_common.http.rest_api import INVALID, NOT_FOUND, doc, keyed_route
from rh_common.runtime import wiring


class InstructionView(SuccessModel):
    instructionId: str
    status: str
    match: dict[str, str | int]
    sku: str | None
    resendRequestId: str | None
    returnInventoryId: int | None
    expiresAt: str
    createdAt: str
    updatedAt: str


class InstructionPage(SuccessModel):
    items: list[InstructionView]
    nextToken: str | None


INSTRUCTION_ID = Annotated[str, Path(min_length=1, max_length=64)]


def router(services: wiring.Wiring) -> Router:
    """The instruction routes over `services` (read at request time: its clients are built on first use)."""
    routes = Router()

    @keyed_route(
        routes.post,
        "/instructions",
        "create_instruction",
        "Resend a parcel when it comes back: matched when an item with this reference is logged",
        {
            201: doc("Registered (WAITING, or MATCHED at once)", InstructionView),
            **INVALID,
            503: doc("Its arrived item could not be resent now (Return Helper unavailable); retry with the same key"),
        },
        takes_body=True,
    )
    def create_instruction(
        request: InstructionRequest,
        idempotency_key: Annotated[rest_api.IdempotencyKey, rest_api.idempotency_key_header()] = None,
    ) -> Response[InstructionView]:
        if idempotency_key is None:
            raise rest_api.invalid("Idempotency-Key", "an instruction needs an Idempotency-Key")
        return rest_api.respond(services.instructions.register(request, idempotency_key))

    @keyed_route(
        routes.get,
        "/instructions/<instructionId>",
        "get_instruction",
        "An instruction, with its resend once matched",
        {200: doc("The instruction", InstructionView), **NOT_FOUND, **INVALID},
    )
    def get_instruction(instructionId: INSTRUCTION_ID) -> Response[InstructionView]:
        return rest_api.respond(services.instructions.get(instructionId))

    @keyed_route(
        routes.get,
        "/instructions",
        "list_instructions",
        "The instructions in a status, oldest first",
        {200: doc("A page of instructions", InstructionPage), **INVALID},
    )
    def list_instructions(
        status: Annotated[Status, Query()],
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        nextToken: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> Response[InstructionPage]:
        return rest_api.respond(services.instructions.list(status, limit, nextToken))

    @keyed_route(
        routes.post,
        "/instructions/<instructionId>/cancel",
        "cancel_instruction",
        "Cancel a WAITING instruction",
        {200: doc("Cancelled", InstructionView), **NOT_FOUND, 409: doc("Not WAITING"), **INVALID},
        takes_body=True,
    )
    def cancel_instruction(instructionId: INSTRUCTION_ID) -> Response[InstructionView]:
        return rest_api.respond(services.instructions.cancel(instructionId))

    return routes
