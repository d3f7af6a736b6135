"""POST /webhooks/returnhelper: verify the signature, keep the delivery once, apply it.

200 for every verified delivery (new, duplicate, unknown type, unreadable body, an
apply that would fail the same way again); 401 for a bad signature or timestamp and
413 for a body over MAX_BODY_BYTES, both before any DynamoDB call; 5xx only when the
delivery could not be stored or its apply failed for a reason a retry can cure
(Return Helper then redelivers).
"""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

import base64
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit

from rh_common.adapters.returnhelper import credentials
from rh_common.domain import field_errors, signature
from rh_common.domain.deliveries import DeliveryOutcome
from rh_common.http.json_responses import json_response, too_large
from rh_common.runtime import observability, settings, snapstart, wiring
from rh_common.services.webhook_ingest import ApplyFailed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what it calls: patch_all would import requests, sqlite3...
metrics = Metrics()
app = APIGatewayRestResolver()

SECRET_ID = settings.required("RH_SECRET_ID")
PUBLIC_URL = settings.optional("WEBHOOK_PUBLIC_URL")
MAX_SKEW_SECONDS = settings.integer("WEBHOOK_MAX_SKEW_SECONDS")
# Return Helper's events are a few KB; anything this big is refused before the
# signature is even computed.
MAX_BODY_BYTES = 256 * 1024
ingestor = wiring.Wiring(metrics, tracer).ingestor

# The metric of each answer: names the alarms and the dashboard read (an `applied` delivery is `accepted`
# in the log, hence DeliveriesAccepted).
METRIC_OF: Mapping[DeliveryOutcome, str] = {
    DeliveryOutcome.APPLIED: "DeliveriesAccepted",
    DeliveryOutcome.IGNORED: "DeliveriesKeptUnprocessed",
    DeliveryOutcome.UNPROCESSABLE: "DeliveriesKeptUnprocessed",
    DeliveryOutcome.DUPLICATE: "DeliveriesDuplicate",
}


def raw_body(event: dict) -> bytes:
    """The exact bytes Return Helper signed (API Gateway may hand them over base64-encoded)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


def signed_url() -> str:
    # The URL registered with Return Helper; without a configured one, the
    # execute-api URL this request came in on (stage included).
    if PUBLIC_URL:
        return PUBLIC_URL
    context = app.current_event.request_context
    return f"https://{context.domain_name}{context.path}"


def _rejected(reason: str) -> None:
    # The only metric of this invocation: counted in total ([service], what the alarm
    # watches) and by reason (a second dimension set, [service, reason]).
    metrics.add_metric(name="DeliveriesRejected", unit=MetricUnit.Count, value=1)
    metrics.add_dimensions(service=metrics.service, reason=reason)
    logger.warning("webhook rejected", extra={"reason": reason})


# No @tracer.capture_method: its subsegment would only nest inside the handler's own (capture_lambda_handler)
# and add CPU (a subsegment built and sent) to every delivery; the DynamoDB calls are traced anyway.
@app.post("/webhooks/returnhelper")
def receive_webhook() -> Response:
    body = raw_body(app.current_event.raw_event)
    oversized = too_large(body, MAX_BODY_BYTES)
    if oversized is not None:
        _rejected("body_too_large")
        return json_response(413, oversized)
    try:
        keys = credentials.signing_keys(SECRET_ID)
        signature.verify(app.current_event.headers, body, signed_url(), keys, MAX_SKEW_SECONDS)
    except signature.SignatureError as rejected:
        _rejected(rejected.reason)
        reason = [field_errors.FieldError(None, rejected.reason)]
        return json_response(401, field_errors.error_body("signature or timestamp not valid", reason))

    try:
        result = ingestor.ingest(body)
    except ApplyFailed as failed:  # only for a failure a retry can cure
        metrics.add_metric(name="DeliveriesApplyFailed", unit=MetricUnit.Count, value=1)
        logger.exception("delivery stored but not applied", extra={"deliveryId": str(failed)})
        return json_response(500, field_errors.error_body("delivery stored but not applied; redeliver"))
    logger.append_keys(deliveryId=result.delivery_id)
    logger.info(
        "webhook delivery", extra={"outcome": result.outcome, "category": result.category, "action": result.action}
    )
    if result.outcome == DeliveryOutcome.IGNORED:
        # Worth seeing, but only by its names: an unknown type's values are unknown (addresses included).
        names = sorted(str(name)[:64] for name in result.payload or ())[:50]
        logger.info(
            "webhook event type not handled",
            extra={"category": result.category, "action": result.action, "keys": names},
        )
    elif result.outcome == DeliveryOutcome.APPLIED:  # the payload as read (never parsed twice), masked, at DEBUG only
        observability.log_payload(logger, logging.DEBUG, "webhook payload", result.payload)
    metrics.add_metric(name=METRIC_OF[result.outcome], unit=MetricUnit.Count, value=1)
    return json_response(200, {"status": result.outcome, "deliveryId": result.delivery_id})


@app.exception_handler(Exception)
def storage_failure(exc: Exception) -> Response:
    # Only reached when the delivery could not be stored durably: the one 5xx case.
    logger.exception("webhook delivery not stored")
    metrics.add_metric(name="DeliveriesNotStored", unit=MetricUnit.Count, value=1)
    return json_response(503, field_errors.error_body("delivery could not be stored; redeliver"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    observability.set_api_correlation_id(logger, event)
    return app.resolve(event, context)


snapstart.register()  # SnapStart's hooks (rh_common/runtime/snapstart.py says what each does and why)
cold_start.finished()
