"""Schedule: nothing stuck. Re-queues PENDING requests with no attempt due, polls quiet submissions,
applies webhook deliveries left unapplied."""

from __future__ import annotations

# isort: off
from rh_common import cold_start  # first: no garbage collection while the rest imports
# isort: on

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from rh_common import observability, settings, wiring

logger = Logger()
tracer = Tracer(patch_modules=("botocore", "requests"))  # only what it calls (cold start)
metrics = Metrics()
reconciler = wiring.reconciler(
    on_call=observability.record_upstream_call, on_status=observability.resend_status_counter(metrics)
)
inventory_syncs = wiring.inventory_sync_service(on_call=observability.record_upstream_call)
INVENTORY_SYNC_DAYS = settings.integer("INVENTORY_SYNC_DAYS", 3)
observability.route_library_logs(logger)


# The correlation id of a run is the EventBridge event id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    if event.get("inventorySync") == "scheduled":  # the ScheduledInventorySync schedule's Input
        sync = inventory_syncs.start_scheduled(INVENTORY_SYNC_DAYS)
        logger.info("scheduled inventory sync started", extra={"syncId": sync["syncId"]})
        return {"syncId": sync["syncId"], "pagesTotal": sync["pagesTotal"]}
    report = reconciler.run()
    metrics.add_metric(name="ResendsRequeued", unit=MetricUnit.Count, value=len(report.requeued))
    metrics.add_metric(name="ResendsPolled", unit=MetricUnit.Count, value=len(report.polled))
    metrics.add_metric(name="ResendsUpdatedByPoll", unit=MetricUnit.Count, value=len(report.updated))
    metrics.add_metric(name="DeliveriesAppliedLate", unit=MetricUnit.Count, value=len(report.deliveries_applied))
    logger.info(
        "reconciled",
        extra={
            "requeued": report.requeued,
            "polled": len(report.polled),
            "updated": report.updated,
            "deliveriesApplied": report.deliveries_applied,
        },
    )
    return {
        "requeued": len(report.requeued),
        "polled": len(report.polled),
        "updated": len(report.updated),
        "deliveriesApplied": len(report.deliveries_applied),
    }


cold_start.finished()  # the module's init is done (rh_common/cold_start.py)
