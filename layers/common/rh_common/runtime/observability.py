"""Metric names, upstream-call metrics and PII-safe payload logging, shared by the functions.

The domain modules stay free of Powertools: they report through plain callbacks
(`ReturnHelperClient(on_call=...)`, `ResendTracker(on_status=...)`) and the
handlers plug in the callbacks made here. Every metric name the template's
alarms and dashboard use is emitted from this module, runtime.outcome_metrics
or a handler (tests/functional/test_observability.py runs the flows and compares).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from rh_common.domain import json_limits
from rh_common.domain.resend_lifecycle import Status

if TYPE_CHECKING:  # an annotation only: the webhook and the event publisher never import upstream
    from rh_common.domain.upstream_outcome import UpstreamOutcome

# Upstream status reports (webhook or reconciler poll) that end a request.
RESEND_STATUS_METRICS: Mapping[Status, str] = {
    Status.COMPLETED: "ResendsCompleted",
    Status.FAILED: "ResendsFailed",
    Status.CANCELED: "ResendsCanceled",
}

UPSTREAM_CALLS = "UpstreamCalls"  # dimensions: operation, outcome (success | permanent | transient)
UPSTREAM_LATENCY = "UpstreamLatency"  # dimension: operation
# Return Helper answered 401/403: our credentials (a rotation half done). Dimension: service only (alarmed).
UPSTREAM_CREDENTIALS_REFUSED = "UpstreamCredentialsRefused"

# Masking is by allow-list: a value is logged only under a field name known to hold no person
# (ids, codes, statuses, numbers and units, dates, RMAs and SKUs), and an object or list is walked
# only under a name known to be Return Helper's or our own structure; everything else, whatever it
# is called, becomes MASK. Free text (descriptions, remarks, errors, instructions), URLs and
# user-defined maps (customFieldMap, metaMap) are masked too: anyone can write an address there.
MASK = "*****"
SAFE_FIELDS: frozenset[str] = frozenset(
    {
        # event identity
        *("category", "action", "eventTime", "version", "notificationId"),
        # ids
        *("returnInventoryId", "returnInventoryIdList", "warehouseId", "shipToWarehouseId", "outboundWarehouseId"),
        *("warehouseApiId", "apiId", "userApiId", "returnRequestId", "returnRequestLineItemId", "shipmentId"),
        *("returnRequestLineItemVasId", "labelId", "resendId", "resendShipmentId", "recallId", "resendRequestId"),
        *("consolidateShippingOrderId", "consolidateShippingShipmentId", "consolidateShippingShipmentBoxId"),
        "consolidateShippingInventoryId",
        # codes and statuses
        *("handlingCode", "handlingStatusCode", "resendStatusCode", "vasStatusCode", "recallStatusCode"),
        *("labelRequestStatusCode", "shipmentStatusCode", "returnStatusCode", "recallUpdateTypeStatus"),
        *("consolidateShippingOrderStatus", "consolidateShippingShipmentStatus", "metaType"),
        *("consolidateShippingShipmentBoxStatus", "consolidateShippingInventoryStatus", "isDeleted", "isArchived"),
        *("shipmentServiceType", "serviceType", "shippingMethod", "serviceProvider", "chargeTypeCode"),
        # item and parcel facts
        *("rma", "oldRma", "newRma", "sku", "quantity", "weight", "weightUom", "dimensionUom", "boxType"),
        *("dimension1", "dimension2", "dimension3", "chargeableWeight", "canRecalibrate"),
        *("value", "valueCurrencyCode", "cost", "costCurrencyCode", "shippingFee", "currencyCode"),
        # numbers that name a document, not a person
        *("resendNumber", "resendShipmentNumber", "returnRequestNumber", "returnRequestLineItemNumber"),
        *("shipmentNumber", "recallNumber", "trackingNumber", "awb", "boxNumber"),
        *("consolidateShippingOrderNumber", "consolidateShippingShipmentNumber"),
        # dates
        *("createOn", "modifyOn", "handlingUpdatedOn", "recalibratedOn", "completeOn", "receiveDate", "shipDate"),
        "stopAgingOn",
    }
)
SAFE_CONTAINERS: frozenset[str] = frozenset(
    {
        *("returnInventory", "returnInventoryList", "shipment", "returnRequest", "returnRequestLineItem"),
        *("resend", "resendShipmentList", "recalibrateSupplement", "payload", "recall", "recallInventoryList"),
        *("updateVasList", "splitLineItemAndReturnInventoryList", "returnRequestLineItemSupplement", "label"),
        *("lineItems", "order", "shipmentList", "boxList", "consolidateShippingInventoryList"),
        *("returnInventoryMetaList", "request", "resendShipment"),
    }
)
_MAX_MASK_DEPTH = json_limits.MAX_DEPTH  # no payload this system reads is deeper (json_limits)


def resend_status_counter(metrics: Metrics) -> Callable[[Status], None]:
    """A ResendTracker `on_status` callback: counts requests that reached an end state upstream."""

    def on_status(status: Status) -> None:
        name = RESEND_STATUS_METRICS.get(status)
        if name is not None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    return on_status


def record_upstream_call(outcome: UpstreamOutcome) -> None:
    """A ReturnHelperClient `on_call` callback: one EMF document per metric and dimension set.

    single_metric, not the handler's Metrics: these carry their own dimensions
    (operation, outcome) that must not spill onto the invocation's other metrics.
    """
    with single_metric(
        name=UPSTREAM_CALLS,
        unit=MetricUnit.Count,
        value=1,
        default_dimensions={"operation": outcome.operation, "outcome": outcome.kind.value},
    ):
        pass
    if outcome.credentials_refused:
        with single_metric(name=UPSTREAM_CREDENTIALS_REFUSED, unit=MetricUnit.Count, value=1):
            pass
    with single_metric(
        name=UPSTREAM_LATENCY,
        unit=MetricUnit.Milliseconds,
        value=round(outcome.elapsed_seconds * 1000, 1),
        default_dimensions={"operation": outcome.operation},
    ):
        pass


def masked(payload: Any) -> Any:
    """A copy of a JSON object with every value masked but those SAFE_FIELDS name (walking
    SAFE_CONTAINERS); anything but an object is masked whole."""
    return _masked_members(payload, 0) if isinstance(payload, dict) else MASK


def _masked_members(node: dict, depth: int) -> dict:
    return {name: _masked(name, value, depth + 1) for name, value in node.items()}


def _masked(name: Any, value: Any, depth: int) -> Any:
    if depth > _MAX_MASK_DEPTH:
        return MASK
    if isinstance(value, dict):
        return _masked_members(value, depth) if name in SAFE_CONTAINERS else MASK
    if isinstance(value, list):
        if name in SAFE_CONTAINERS or name in SAFE_FIELDS:  # its members are what the name says
            return [_masked(name, member, depth + 1) for member in value]
        return MASK
    return value if name in SAFE_FIELDS else MASK


def log_payload(logger: Logger, level: int, message: str, payload: Any, **extra: Any) -> None:
    """Log a payload, masked; nothing is masked when the level is off, nothing logged if masking fails."""
    # isEnabledFor and log: std logging's, which Powertools' Logger proxies to its logger but hides from type
    # checkers on purpose (powertools-lambda-python issue 1660).
    if not logger.isEnabledFor(level):  # type: ignore[attr-defined]
        return
    try:
        payload = masked(payload)
    except Exception as exc:  # a log line must never fail the request, nor go out unmasked
        logger.warning(f"{message}: not logged, masking failed", extra={**extra, "error": type(exc).__name__})
        return
    logger.log(level, message, extra={**extra, "payload": payload}, stacklevel=2)  # type: ignore[attr-defined]


def set_api_correlation_id(logger: Logger, event: Mapping[str, Any]) -> None:
    """The API Gateway request id as the log lines' correlation id (REST proxy events), set after
    `inject_lambda_context(clear_state=True)` has cleared the previous invocation's keys.

    The same value as `correlation_id_path=correlation_paths.API_GATEWAY_REST`, read directly: the
    decorator's path is a JMESPath search on every invocation (~12 us, profiled 2026-12-02: about
    1% of a duplicate delivery's whole time against DynamoDB Local)."""
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))


def route_library_logs(logger: Logger) -> None:
    """rh_common modules log with the standard library; send them through the function's JSON logger
    (same correlation id, same level) instead of the runtime's plain-text root handler."""
    logging.getLogger("rh_common")  # the package logger must exist to be found
    copy_config_to_registered_loggers(source_logger=logger, include={"rh_common"})
