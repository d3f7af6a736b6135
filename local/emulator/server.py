"""The emulator's HTTP server: Return Helper's user API plus a control API under ``/_emulator/``.

User API (``<url>/uat/user/api``, paths matched case-insensitively, ``x-rr-apikey`` and
``x-rr-apitoken`` required, else a bare HTTP 401):

    GET  /Shipment/getAvailableShipmentServiceType?warehouseId=
    POST /Resend/createResend          honours x-returnhelper-idempotency-key
    GET  /Resend/getResend?resendId=
    POST /Resend/cancelResend          honours x-returnhelper-idempotency-key
    GET  /resendstatus/getAllResendStatus   (also under /uat/public/api, no auth there)
    GET  /Resend/getShippingFeeListByToShippingOption   (quote.py)
    POST /ReturnInventory/UpdateReturnInventoryHandling (handling.py; then the signed rinv webhook)

Control API (JSON, no auth):

    GET    /_emulator/health
    GET    /_emulator/state
    POST   /_emulator/reset                    (state and scheduled progress; not the config)
    GET    /_emulator/config
    POST   /_emulator/config                   {"autoProgress"?: bool, "inProgressAfterSeconds"?: float,
                                                "completeAfterSeconds"?: float,
                                                "outcome"?: "completed"|"failed"}
    POST   /_emulator/inventories              {"warehouseId", "returnInventoryId"?, "sku"?, "rma"?,
                                                "description"?, "handlingCode"?, "handlingStatusCode"?,
                                                "deliver"?: true}
    POST   /_emulator/inventories/backfill     {"count", "days"?, "warehouseId"?, "handlingCode"?} (no webhooks)
    POST   /_emulator/resends/{id}/advance     {"to": inProgress|completed|failed|canceled,
                                                "trackingNumber"?, "error"?}
    POST   /_emulator/faults                   {"operation", "faults": [{"kind", ...params}]}
    DELETE /_emulator/faults[?operation=]

Auto-progress (``auto_progress=True``, or ``{"autoProgress": true}`` on /_emulator/config): after a
createResend that created a resend, the emulated warehouse moves it to inProgress after
``inProgressAfterSeconds``, then ``completeAfterSeconds`` later to completed (generated tracking
number) or failed (``{"message":"Invalid address."}``) per ``outcome``; each step is the same
advance as the control route, with its signed webhook. Steps never move a status backwards and
leave a canceled or otherwise finished resend alone. Timings and outcome are fixed per resend
when it is created; turning auto-progress off stops pending steps.

Fault kinds (one-shot, FIFO per operation, consumed by the next calls of that operation):
``latency`` {seconds}, ``http5xx`` {status=503}, ``http429`` {retryAfter=1},
``reset`` (socket closed, no response), ``timeoutAfterCommit`` {seconds=15} (the operation runs,
then the answer is held back so the client times out), ``softError`` {errorCode, error, status=400}.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.emulator import handling, inventory_reads, quote, webhooks
from local.emulator.progress import ProgressConfig, ResendProgress
from local.emulator.state import (
    RESEND_STATUSES,
    ControlError,
    EmulatorState,
    IdempotencyKeyReused,
    SoftError,
    envelope,
    error_envelope,
)

log = logging.getLogger("local.emulator")

USER_API_PREFIX = "/uat/user/api"
PUBLIC_API_PREFIX = "/uat/public/api"
CONTROL_PREFIX = "/_emulator"
IDEMPOTENCY_HEADER = "x-returnhelper-idempotency-key"
_ADVANCE_RE = re.compile(r"^/_emulator/resends/(\d+)/advance$", re.IGNORECASE)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str -> as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection without answering
    hold_seconds: float = 0.0  # sleep before answering (timeoutAfterCommit)


@dataclass
class Request:
    method: str
    path: str  # without query, trailing slash removed
    query: dict[str, str]  # lower-cased keys, first value
    headers: dict[str, str]  # lower-cased names
    body: bytes
    query_lists: dict[str, list[str]] = field(default_factory=dict)  # lower-cased keys, every value

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


class EmulatorServer:
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
        in_progress_after_seconds: float = ProgressConfig.in_progress_after_seconds,
        complete_after_seconds: float = ProgressConfig.complete_after_seconds,
        outcome: str = ProgressConfig.outcome,
    ):
        """``auto_progress`` off by default so direct use (tests) stays deterministic; the stack turns it on.

        Webhooks are posted to ``webhook_url`` and signed for ``webhook_signed_url`` (the URL
        registered with Return Helper, e.g. a tunnel's; default: ``webhook_url``).
        """
        base64.b64decode(signing_key, validate=True)  # fail at start, not at the first webhook
        config = ProgressConfig(auto_progress, in_progress_after_seconds, complete_after_seconds, outcome)
        self.webhook_url, self.signing_key = webhook_url, signing_key
        self.webhook_signed_url = webhook_signed_url or webhook_url
        self.api_key, self.api_token = api_key, api_token
        self.state = EmulatorState()
        self.progress = ResendProgress(config, self.state.resend_status_code, self.advance)
        self.notify_on_cancel = True  # cancelResend also sends updateResendStatus (async, like upstream)
        self._correlation_prefix = "EMU" + secrets.token_hex(5).upper()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.emulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self.port = self._httpd.server_address[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.url = f"http://{shown}:{self.port}"
        self.api_base = self.url + USER_API_PREFIX
        self._user_routes = {
            "/shipment/getavailableshipmentservicetype": (
                "GET",
                "getAvailableShipmentServiceType",
                self._service_types,
            ),
            "/resend/createresend": ("POST", "createResend", self._create_resend),
            "/resend/getresend": ("GET", "getResend", self._get_resend),
            "/resend/cancelresend": ("POST", "cancelResend", self._cancel_resend),
            "/resendstatus/getallresendstatus": ("GET", None, self._resend_statuses),
            "/resend/getshippingfeelistbytoshippingoption": ("GET", quote.OPERATION, self._shipping_fees),
            "/returninventory/updatereturninventoryhandling": ("POST", handling.OPERATION, self._update_handling),
        }
        inventory_reads.register(self._user_routes, self.state, Response)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="rh-emulator", daemon=True)
        self._thread.start()
        log.info("Return Helper emulator on %s (user API %s)", self.url, self.api_base)
        return self

    def stop(self) -> None:
        self.progress.close()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        lower = request.path.lower()
        try:
            if lower == CONTROL_PREFIX or lower.startswith(CONTROL_PREFIX + "/"):
                return self._control(request)
            if lower.startswith(USER_API_PREFIX + "/"):
                return self._user_api(request, lower[len(USER_API_PREFIX) :], authenticated=True)
            if lower == PUBLIC_API_PREFIX + "/resendstatus/getallresendstatus":
                return self._user_api(request, lower[len(PUBLIC_API_PREFIX) :], authenticated=False)
        except ControlError as exc:
            return Response(exc.status, {"error": exc.message})
        return Response(404)

    def _correlation_id(self) -> str:
        return f"{self._correlation_prefix}:{self.state.next_correlation():08d}"

    def _user_api(self, request: Request, route: str, authenticated: bool) -> Response:
        if authenticated and not (
            secrets.compare_digest(request.headers.get("x-rr-apikey", ""), self.api_key)
            and secrets.compare_digest(request.headers.get("x-rr-apitoken", ""), self.api_token)
        ):
            return Response(401)  # rejected at the edge: no envelope
        if route not in self._user_routes:
            return Response(404)
        method, operation, handler = self._user_routes[route]
        if request.method != method:
            return Response(405, headers={"Allow": method})
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if operation in ("createResend", "cancelResend", handling.OPERATION, quote.OPERATION):
            self.state.count_call(operation, key)
        correlation_id = self._correlation_id()
        fault = self.state.pop_fault(operation) if operation else None
        hold = 0.0
        if fault:
            log.info("fault for %s: %s", operation, fault)
            kind = fault["kind"]
            if kind == "latency":
                time.sleep(float(fault.get("seconds", 1.0)))
            elif kind == "http5xx":
                return Response(int(fault.get("status", 503)), "emulated upstream failure\n")
            elif kind == "http429":
                retry_after = fault.get("retryAfter", 1)
                return Response(429, "too many requests\n", {"Retry-After": str(retry_after)})
            elif kind == "reset":
                return Response(reset=True)
            elif kind == "softError":
                error = fault.get("error") or {"": "Emulated soft error."}
                return Response(
                    200,
                    error_envelope(
                        correlation_id, fault.get("errorCode", "INTERNAL_ERROR"), error, int(fault.get("status", 400))
                    ),
                )
            elif kind == "timeoutAfterCommit":
                hold = float(fault.get("seconds", 15.0))
        try:
            response = handler(request, correlation_id, key)
        except SoftError as exc:
            response = Response(200, error_envelope(correlation_id, exc.error_code, exc.error, exc.status))
        except IdempotencyKeyReused:
            response = Response(
                409,
                error_envelope(
                    correlation_id,
                    "IDEMPOTENCY_KEY_REUSED",
                    {
                        IDEMPOTENCY_HEADER: "This idempotency key was already used with a different request body.",
                    },
                    409,
                ),
            )
        response.hold_seconds = hold
        return response

    # -- user API operations ---------------------------------------------------------------------

    def _body(self, request: Request) -> Any:
        try:
            return request.json()
        except ValueError as exc:
            raise SoftError("VALIDATION_FAILED", {"request": "The request body is not valid JSON."}) from exc

    def _service_types(self, request: Request, correlation_id: str, key: str | None) -> Response:
        data = self.state.shipment_service_types(request.query.get("warehouseid"))
        return Response(200, envelope(correlation_id, {"data": data}))

    def _create_resend(self, request: Request, correlation_id: str, key: str | None) -> Response:
        created: list[int] = []

        def action() -> dict[str, Any]:
            payload = self.state.create_resend(self._body(request), key)
            created.append(payload["resendId"])
            return payload

        body = self.state.idempotent("createResend", key, request.body, correlation_id, action)
        if created:  # not for an idempotent replay
            self.progress.on_created(created[0])
        return Response(200, body)

    def _get_resend(self, request: Request, correlation_id: str, key: str | None) -> Response:
        return Response(200, envelope(correlation_id, self.state.get_resend(request.query.get("resendid"))))

    def _cancel_resend(self, request: Request, correlation_id: str, key: str | None) -> Response:
        canceled: list[int] = []

        def action() -> dict[str, Any]:
            payload = self.state.cancel_resend(self._body(request))
            canceled.append(payload["resendId"])
            return payload

        body = self.state.idempotent("cancelResend", key, request.body, correlation_id, action)
        if canceled and self.notify_on_cancel:
            # Upstream notifies asynchronously; sending from here would block the caller's request.
            threading.Thread(target=self.send_resend_update, args=(canceled[0],), daemon=True).start()
        return Response(200, body)

    def _shipping_fees(self, request: Request, correlation_id: str, key: str | None) -> Response:
        ids = request.query_lists.get("returninventoryidlist", [])
        payload = quote.shipping_fees(
            self.state, ids, request.query.get("tocountrycode"), request.query.get("topostalcode")
        )
        return Response(200, envelope(correlation_id, payload))

    def _update_handling(self, request: Request, correlation_id: str, key: str | None) -> Response:
        updated: list[dict[str, Any]] = []

        def action() -> dict[str, Any]:
            updated.append(handling.update_handling(self.state, self._body(request)))
            return {}  # envelope only, as documented

        body = self.state.idempotent(handling.OPERATION, key, request.body, correlation_id, action)
        if updated:  # upstream notifies asynchronously, as for cancelResend
            event = handling.handling_event(updated[0])
            threading.Thread(target=self._deliver, args=(event,), daemon=True).start()
        return Response(200, body)

    def _resend_statuses(self, request: Request, correlation_id: str, key: str | None) -> Response:
        statuses = [
            {"resendStatusCode": str(code), "resendStatus": label, "resendStageDescription": description}
            for code, (label, description) in RESEND_STATUSES.items()
        ]
        return Response(200, envelope(correlation_id, {"resendStatusList": statuses}))

    # -- webhooks ------------------------------------------------------------------------------

    def _deliver(self, payload: dict[str, Any]) -> dict[str, Any]:
        result = webhooks.deliver(self.webhook_url, self.signing_key, payload, signed_url=self.webhook_signed_url)
        self.state.record_webhook(result)
        log.info(
            "webhook %s/%s -> %s %s", result["category"], result["action"], result["status"], result["error"] or ""
        )
        return result

    def send_inventory_created(self, inventory: dict[str, Any]) -> dict[str, Any]:
        return self._deliver(webhooks.new_inventory_created(inventory))

    def send_resend_update(self, resend_id: int) -> dict[str, Any]:
        resend, inventories = self.state.resend_event_parts(resend_id)
        return self._deliver(webhooks.resend_status_updated(resend, inventories))

    def advance(self, resend_id: int, to: Any, tracking_number: Any = None, error: Any = None) -> dict[str, Any]:
        """Warehouse-side progress, then the signed updateResendStatus webhook.

        The one path for the control route and auto-progress; raises ControlError (409) when the
        resend is finished or already there, so nothing ever moves backwards.
        """
        self.state.advance_resend(resend_id, to, tracking_number, error)
        delivered = self.send_resend_update(resend_id)
        resend, _ = self.state.resend_event_parts(resend_id)
        status = RESEND_STATUSES[resend["resendStatusCode"]][0]
        return {"resend": resend, "status": status, "webhook": delivered}

    # -- control API ---------------------------------------------------------------------------

    def _control_body(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:
            raise ControlError(400, "body must be JSON") from exc
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    def _control(self, request: Request) -> Response:
        route, method = request.path.lower(), request.method
        if (method, route) == ("GET", "/_emulator/health"):
            return Response(200, {"status": "ok"})
        if (method, route) == ("GET", "/_emulator/state"):
            return Response(200, {**self.state.snapshot(), "config": self.progress.config.to_json()})
        if (method, route) == ("POST", "/_emulator/reset"):
            self.progress.cancel_all()
            self.state.reset()
            return Response(200, {"reset": True})
        if (method, route) == ("GET", "/_emulator/config"):
            return Response(200, self.progress.config.to_json())
        if (method, route) == ("POST", "/_emulator/config"):
            try:
                config = self.progress.configure(self._control_body(request))
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
            log.info("config: %s", config.to_json())
            return Response(200, config.to_json())
        if (method, route) == ("POST", "/_emulator/inventories"):
            body = self._control_body(request)
            inventory = self.state.add_inventory(body)
            delivered = self.send_inventory_created(inventory) if body.get("deliver", True) else None
            return Response(201, {"inventory": inventory, "webhook": delivered})
        if (method, route) == ("POST", "/_emulator/inventories/backfill"):
            return Response(200, inventory_reads.backfill(self.state, self._control_body(request)))
        if route == "/_emulator/faults" and method == "POST":
            body = self._control_body(request)
            queued = self.state.push_faults(body.get("operation"), body.get("faults"))
            return Response(200, {"operation": body["operation"], "queued": queued})
        if route == "/_emulator/faults" and method == "DELETE":
            self.state.clear_faults(request.query.get("operation"))
            return Response(200, {"cleared": request.query.get("operation") or "all"})
        match = _ADVANCE_RE.match(request.path)
        if match and method == "POST":
            body = self._control_body(request)
            resend_id = int(match.group(1))
            return Response(200, self.advance(resend_id, body.get("to"), body.get("trackingNumber"), body.get("error")))
        return Response(404, {"error": f"no control route {method} {request.path}"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ReturnHelperEmulator/0.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        request = Request(
            method=method,
            path=split.path.rstrip("/") or "/",
            query={k.lower(): v[0] for k, v in parse_qs(split.query).items()},
            query_lists={k.lower(): v for k, v in parse_qs(split.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=raw,
        )
        emulator: EmulatorServer = self.server.emulator  # type: ignore[attr-defined]
        try:
            response = emulator.handle(request)
        except Exception:  # a bug here must not kill the connection silently
            log.exception("emulator failed on %s %s", method, self.path)
            response = Response(500, {"error": "emulator bug; see its log"})
        if response.reset:
            # RST instead of FIN: SO_LINGER on with a zero timeout, then close.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if response.hold_seconds:
            time.sleep(response.hold_seconds)
        self._write(response)

    def _write(self, response: Response) -> None:
        body, content_type = response.body, "text/plain; charset=utf-8"
        if isinstance(body, dict | list):
            body, content_type = json.dumps(body).encode("utf-8"), "application/json; charset=utf-8"
        elif isinstance(body, str):
            body = body.encode("utf-8")
        body = body or b""
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if body:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (e.g. after timeoutAfterCommit)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)
