"""The emulator's HTTP server: Return Helper's user API plus a control API under ``/_emulator/``.

User API (``<url>/uat/user/api``, paths matched case-insensitively, ``x-rr-apikey`` and
``x-rr-apitoken`` required, else a bare HTTP 401): the operations of ``state.OPERATIONS``;
createResend, cancelResend and UpdateReturnInventoryHandling honour
x-returnhelper-idempotency-key (then the signed webhook); getAllResendStatus also answers under
/uat/public/api, without auth.

Control API (JSON, no auth):

    GET    /_emulator/state | config
    POST   /_emulator/reset                    (state and scheduled progress; not the config)
    POST   /_emulator/config                   {"autoProgress"?, "inProgressAfterSeconds"?, "completeAfterSeconds"?,
                                                "outcome"?: "completed"|"failed"}   (progress.py)
    POST   /_emulator/inventories              {"warehouseId", "returnInventoryId"?, "sku"?, "rma"?,
                                                "description"?, "handlingCode"?, "handlingStatusCode"?,
                                                "imageUrls"?: [url], "sellerReferenceNumber"?, "trackingNumber"?,
                                                "fraudFlag"?: {"isFraudulent", "reasonCode"?},
                                                "event"?: "newInventoryCreated"|"assignUnknown", "deliver"?: true}
                                                (newInventoryCreated carries the photos, as imageList; only
                                                assignUnknown has a return request with the seller reference and
                                                a line item with the fraud flag; trackingNumber: the return
                                                parcel's, default EMU-IN-<shipmentId>)
    POST   /_emulator/inventories/{id}/rma-swap {"newRma"?}          (notifyUserRmaSwapped)
    POST   /_emulator/consolidations            {"returnInventoryIdList"}
                                                (consolidateShippingOrderInventoryAllPacked; the items are then
                                                refused by createResend and UpdateReturnInventoryHandling)
    POST   /_emulator/consolidations/{consolidateShippingOrderId}/cancel   (consolidateShippingOrderCancelled)
    POST   /_emulator/inventories/backfill     {"count", "days"?, "warehouseId"?, "handlingCode"?} (no webhooks)
    POST   /_emulator/resends/{id}/advance     {"to": inProgress|completed|failed|canceled,
                                                "trackingNumber"?, "error"?}
    POST   /_emulator/faults                   {"operation", "faults": [{"kind", ...params}]}
    DELETE /_emulator/faults[?operation=]

Fault kinds (one-shot, FIFO per operation, consumed by the next calls of that operation):
``latency`` {seconds}, ``http5xx`` {status=503}, ``http429`` {retryAfter=1},
``reset`` (socket closed, no response), ``timeoutAfterCommit`` {seconds=15} (the operation runs,
then the answer is held back so the client times out), ``softError`` {errorCode, error, status=400}.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.emulator import inventory_reads, quote, webhooks
from local.emulator.progress import ProgressConfig, ResendProgress
from local.emulator.state import OPERATIONS, RESEND_STATUSES, ControlError, EmulatorState, SoftError, envelope, invalid
from local.settings import EMULATOR_API_PATH as USER_API_PREFIX
from local.wsgi import BackgroundServer

log = logging.getLogger("local.emulator")

PUBLIC_API_PREFIX = "/uat/public/api"
CONTROL_PREFIX = "/_emulator"
IDEMPOTENCY_HEADER = "x-returnhelper-idempotency-key"
IDEMPOTENT = frozenset({"createResend", "cancelResend", "updateReturnInventoryHandling"})
COUNTED = IDEMPOTENT | {"getShippingFeeListByToShippingOption"}  # calls per idempotency key, for /_emulator/state
RESEND_STATUS_LIST = [
    {"resendStatusCode": str(code), "resendStatus": label, "resendStageDescription": description}
    for code, (label, description) in RESEND_STATUSES.items()
]


class _Answer(Response):
    default_mimetype = None  # an empty answer (401, 404) has no Content-Type


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    """dict/list as JSON, str as text, None as an empty body."""
    if isinstance(body, dict | list):
        return _Answer(json.dumps(body), status, headers, content_type="application/json; charset=utf-8")
    if body:
        return _Answer(body, status, headers, content_type="text/plain; charset=utf-8")
    return _Answer(b"", status, headers)


def _refusal(correlation_id: str, error: SoftError) -> Response:
    return answer(error.http_status, envelope(correlation_id, error=error))


# Faults that answer instead of the operation: (fault, correlationId) -> the answer.
FAULT_ANSWERS: dict[str, Callable[[dict[str, Any], str], Response]] = {
    "http5xx": lambda fault, _: answer(int(fault.get("status", 503)), "emulated upstream failure\n"),
    "http429": lambda fault, _: answer(429, "too many requests\n", {"Retry-After": str(fault.get("retryAfter", 1))}),
    "softError": lambda fault, correlation_id: _refusal(
        correlation_id,
        SoftError(
            fault.get("errorCode", "INTERNAL_ERROR"),
            fault.get("error") or {"": "Emulated soft error."},
            int(fault.get("status", 400)),
        ),
    ),
}


@dataclass(frozen=True)
class Call:
    """One request as an operation sees it."""

    query: MultiDict  # lower-cased names, first value by get(), every value by getlist(); blank values dropped
    body: bytes
    key: str | None  # x-returnhelper-idempotency-key

    def _json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None

    def user_json(self) -> Any:
        try:
            return self._json()
        except ValueError as exc:
            raise invalid("request", "The request body is not valid JSON.") from exc

    def control_json(self) -> dict[str, Any]:
        try:
            body = self._json()
        except ValueError as exc:
            raise ControlError(400, "body must be JSON") from exc
        if not isinstance(body, dict | None):
            raise ControlError(400, "body must be a JSON object")
        return body or {}


class EmulatorServer(BackgroundServer):
    """Return Helper sandbox emulator; ``start()`` serves in a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        webhook_url: str,
        signing_key: str,
        api_key: str,
        api_token: str,
        *,
        webhook_signed_url: str | None = None,
        auto_progress: bool = False,
        **progress: Any,
    ):
        """``auto_progress`` off by default so direct use (tests) stays deterministic; the stack turns it on.

        Webhooks are posted to ``webhook_url`` and signed for ``webhook_signed_url`` (the URL
        registered with Return Helper, e.g. a tunnel's; default: ``webhook_url``).
        """
        base64.b64decode(signing_key, validate=True)  # fail at start, not at the first webhook
        config = ProgressConfig(auto_progress=auto_progress, **progress)  # and its other fields, by name
        self.webhook_url, self.signing_key = webhook_url, signing_key
        self.webhook_signed_url = webhook_signed_url or webhook_url
        self.api_key, self.api_token = api_key, api_token
        self.state = EmulatorState()
        self.progress = ResendProgress(config, self.state.resend_status_code, self.advance)
        self._correlation_prefix = "EMU" + secrets.token_hex(5).upper()
        super().__init__(self._serve, host, port, "rh-emulator")
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.url = f"http://{shown}:{self.port}"
        self.api_base = self.url + USER_API_PREFIX
        state = self.state
        runs: dict[str, Callable[[Call], Any]] = {  # operation -> run(call) -> payload, or (payload, follow-up)
            "createResend": self._create_resend,
            "getResend": lambda call: state.get_resend(call.query.get("resendid")),
            "cancelResend": self._cancel_resend,
            "getAvailableShipmentServiceType": lambda call: {
                "data": state.shipment_service_types(call.query.get("warehouseid"))
            },
            "listReturnInventory": lambda call: inventory_reads.list_page(state, call.query),
            "getReturnInventory": lambda call: inventory_reads.get_one(state, call.query),
            "getShippingFeeListByToShippingOption": lambda call: quote.shipping_fees(state, call.query),
            "updateReturnInventoryHandling": self._update_handling,
        }
        rules = [
            Rule(f"{USER_API_PREFIX}/{path}", methods=[method], endpoint=(op, runs[op]))
            for op, (method, path) in OPERATIONS.items()
        ]
        statuses = (None, lambda call: {"resendStatusList": RESEND_STATUS_LIST})  # no faults, and public too
        rules += [
            Rule(f"{prefix}/resendstatus/getallresendstatus", endpoint=statuses, methods=["GET"])
            for prefix in (USER_API_PREFIX, PUBLIC_API_PREFIX)
        ]
        rules += [Rule(CONTROL_PREFIX + path, methods=[method], endpoint=run) for method, path, run in self._control()]
        self._urls = Map(rules, merge_slashes=False).bind("localhost")

    def _control(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        """(method, path under /_emulator, run(call, **path values) -> (status, body))."""
        return [
            ("GET", "/state", lambda call: (200, {**self.state.snapshot(), "config": self.progress.config.to_json()})),
            ("POST", "/reset", self._reset),
            ("GET", "/config", lambda call: (200, self.progress.config.to_json())),
            ("POST", "/config", self._configure),
            ("POST", "/inventories", self._add_inventory),
            ("POST", "/inventories/backfill", lambda c: (200, inventory_reads.backfill(self.state, c.control_json()))),
            ("POST", "/faults", self._push_faults),
            ("DELETE", "/faults", self._clear_faults),
            ("POST", "/resends/<int:resend_id>/advance", self._advance_route),
            ("POST", "/inventories/<int:inventory_id>/rma-swap", self._swap_rma),
            ("POST", "/consolidations", self._consolidate),
            ("POST", "/consolidations/<order_id>/cancel", self._cancel_consolidation),
        ]

    def stop(self) -> None:
        self.progress.close()
        super().stop()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @Request.application
    def _serve(self, request: Request) -> Response:
        try:
            response = self.handle(request)
        except Exception:  # a bug here must not kill the connection silently
            log.exception("emulator failed on %s %s", request.method, request.full_path)
            return answer(500, {"error": "emulator bug; see its log"})
        if response is None:  # the reset fault: RST instead of FIN (SO_LINGER on, zero timeout), no answer
            connection = request.environ["werkzeug.socket"]
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
            raise ConnectionResetError("emulated connection reset")  # werkzeug then drops the connection
        return response

    def handle(self, request: Request) -> Response | None:
        path = request.path.rstrip("/") or "/"
        lower = path.lower()
        if lower.startswith(USER_API_PREFIX + "/") and not (
            secrets.compare_digest(request.headers.get("x-rr-apikey", ""), self.api_key)
            and secrets.compare_digest(request.headers.get("x-rr-apitoken", ""), self.api_token)
        ):
            return answer(401)  # rejected at the edge: no envelope
        control = lower == CONTROL_PREFIX or lower.startswith(CONTROL_PREFIX + "/")
        no_route = {"error": f"no control route {request.method} {path}"} if control else None
        try:
            endpoint, values = self._urls.match(lower, request.method)
        except MethodNotAllowed as exc:
            allow = {"Allow": ", ".join(sorted(exc.valid_methods or ()))}
            return answer(404, no_route) if control else answer(405, headers=allow)
        except HTTPException:
            return answer(404, no_route)
        query = MultiDict([(name.lower(), value) for name, value in request.args.items(multi=True) if value])
        call = Call(query, request.get_data(), request.headers.get(IDEMPOTENCY_HEADER) or None)
        try:
            return answer(*endpoint(call, **values)) if control else self._user_call(call, *endpoint)
        except ControlError as exc:
            return answer(exc.status, {"error": exc.message})

    def _user_call(self, call: Call, operation: str | None, run: Callable[[Call], Any]) -> Response | None:
        if operation in COUNTED:
            self.state.count_call(operation, call.key)
        correlation_id = f"{self._correlation_prefix}:{self.state.next_correlation():08d}"
        fault = (self.state.pop_fault(operation) if operation else None) or {}
        if fault:
            log.info("fault for %s: %s", operation, fault)
        kind = fault.get("kind")
        if kind == "latency":
            time.sleep(float(fault.get("seconds", 1.0)))
        elif kind == "reset":
            return None
        elif kind in FAULT_ANSWERS:
            return FAULT_ANSWERS[kind](fault, correlation_id)
        try:
            if operation in IDEMPOTENT:
                response = answer(200, self._idempotent(operation, call, correlation_id, run))
            else:
                response = answer(200, envelope(correlation_id, run(call)))
        except SoftError as exc:  # a reused idempotency key too, a real HTTP 409
            response = _refusal(correlation_id, exc)
        if kind == "timeoutAfterCommit":  # the operation ran; the client times out waiting for its answer
            time.sleep(float(fault.get("seconds", 15.0)))
        return response

    def _idempotent(self, operation: str, call: Call, correlation_id: str, run: Callable) -> dict[str, Any]:
        follow_ups: list[Callable[[], Any]] = []

        def action() -> dict[str, Any]:
            payload, follow_up = run(call)
            follow_ups.append(follow_up)
            return payload

        body = self.state.idempotent(operation, call.key, call.body, correlation_id, action)
        for follow_up in follow_ups:  # none for a replay
            follow_up()
        return body

    # The operations with a follow-up: upstream notifies asynchronously (sending from the request would block it).
    def _create_resend(self, call: Call) -> tuple[dict[str, Any], Callable[[], Any]]:
        payload = self.state.create_resend(call.user_json(), call.key)
        return payload, lambda: self.progress.on_created(payload["resendId"])

    def _cancel_resend(self, call: Call) -> tuple[dict[str, Any], Callable[[], Any]]:
        payload = self.state.cancel_resend(call.user_json())
        return payload, lambda: _in_background(self._send_resend_update, payload["resendId"])

    def _update_handling(self, call: Call) -> tuple[dict[str, Any], Callable[[], Any]]:
        inventory = self.state.update_handling(call.user_json())
        # The answer is the bare envelope, as documented.
        return {}, lambda: _in_background(self._deliver, webhooks.inventory_handling_completed(inventory))

    def _deliver(self, payload: dict[str, Any]) -> dict[str, Any]:
        result = webhooks.deliver(self.webhook_url, self.signing_key, payload, self.webhook_signed_url)
        self.state.record_webhook(result)
        log.info(
            "webhook %s/%s -> %s %s", result["category"], result["action"], result["status"], result["error"] or ""
        )
        return result

    def _send_resend_update(self, resend_id: int) -> dict[str, Any]:
        return self._deliver(webhooks.resend_status_updated(*self.state.resend_event_parts(resend_id)))

    def advance(self, resend_id: int, to: Any, tracking_number: Any = None, error: Any = None) -> dict[str, Any]:
        """Warehouse-side progress, then the signed updateResendStatus webhook.

        The one path for the control route and auto-progress; raises ControlError (409) when the
        resend is finished or already there, so nothing ever moves backwards.
        """
        self.state.advance_resend(resend_id, to, tracking_number, error)
        delivered = self._send_resend_update(resend_id)
        resend, _ = self.state.resend_event_parts(resend_id)
        return {"resend": resend, "status": RESEND_STATUSES[resend["resendStatusCode"]][0], "webhook": delivered}

    def _reset(self, call: Call) -> tuple[int, Any]:
        self.progress.cancel_all()
        self.state.reset()
        return 200, {"reset": True}

    def _configure(self, call: Call) -> tuple[int, Any]:
        try:
            config = self.progress.configure(call.control_json())
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        log.info("config: %s", config.to_json())
        return 200, config.to_json()

    def _add_inventory(self, call: Call) -> tuple[int, Any]:
        body = call.control_json()
        announce = webhooks.ARRIVALS.get(body.get("event", "newInventoryCreated"))
        if announce is None:
            raise ControlError(400, f"event must be one of {', '.join(webhooks.ARRIVALS)}")
        if body.get("fraudFlag") is not None and announce is not webhooks.assign_unknown:
            raise ControlError(400, "only an assignUnknown arrival carries a fraud flag (on its line item)")
        inventory = self.state.add_inventory(body)
        delivered = self._deliver(announce(inventory)) if body.get("deliver", True) else None
        return 201, {"inventory": inventory, "webhook": delivered}

    def _swap_rma(self, call: Call, inventory_id: int) -> tuple[int, Any]:
        inventory, old_rma = self.state.swap_rma(inventory_id, call.control_json().get("newRma"))
        return 200, {"inventory": inventory, "webhook": self._deliver(webhooks.rma_swapped(inventory, old_rma))}

    def _consolidate(self, call: Call) -> tuple[int, Any]:
        order = self.state.consolidate(call.control_json().get("returnInventoryIdList"))
        return 201, {"order": order, "webhook": self._deliver(webhooks.consolidation_packed(order))}

    def _cancel_consolidation(self, call: Call, order_id: str) -> tuple[int, Any]:
        order = self.state.cancel_consolidation(order_id)
        return 200, {"order": order, "webhook": self._deliver(webhooks.consolidation_cancelled(order))}

    def _push_faults(self, call: Call) -> tuple[int, Any]:
        body = call.control_json()
        return 200, {
            "operation": body["operation"],
            "queued": self.state.push_faults(body.get("operation"), body.get("faults")),
        }

    def _clear_faults(self, call: Call) -> tuple[int, Any]:
        self.state.clear_faults(call.query.get("operation"))
        return 200, {"cleared": call.query.get("operation") or "all"}

    def _advance_route(self, call: Call, resend_id: int) -> tuple[int, Any]:
        body = call.control_json()
        return 200, self.advance(resend_id, body.get("to"), body.get("trackingNumber"), body.get("error"))


def _in_background(target: Callable[..., Any], *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()
