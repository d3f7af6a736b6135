"""Schedule: nothing stuck, within the invocation's remaining time. Applies webhook deliveries left
unapplied, asks again for PENDING requests with an unknown attempt, re-queues PENDING requests with
no attempt due, polls (a capped number of) quiet submissions, sweeps (a capped number of) waiting resend
instructions (expired ones stored EXPIRED, missed arrivals matched), publishes InventoryAging for items idle
in stock past AGING_ALERT_DAYS (once per item).

Stream (the resend table's, filtered in template.yaml to records that have just got their resend
id): applies the status reports parked under that id, so the create path does not wait for it."""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from rh_common.runtime import observability, settings, wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what it calls (cold start); requests: wiring
metrics = Metrics()
# The scheduled runs' services (the reconciler, the inventory sync) call Return Helper: built on the first
# run, so a stream invocation, which only releases parked reports, never imports requests or builds the client.
services = wiring.Wiring(metrics, tracer=tracer)  # requests traced once the upstream client is built
release_parked = services.release_parked
INVENTORY_SYNC_DAYS = settings.integer("INVENTORY_SYNC_DAYS")
observability.route_library_logs(logger)


# The correlation id of a run is the EventBridge event id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, object]:
    if "Records" in event:  # the ResendIdRecorded stream mapping
        return release_parked_reports(event["Records"])
    if event.get("inventorySync") == "scheduled":  # the ScheduledInventorySync schedule's Input
        sync = services.syncs.start_scheduled(INVENTORY_SYNC_DAYS)
        logger.info("scheduled inventory sync started", extra={"syncId": sync["syncId"]})
        return {"syncId": sync["syncId"], "pagesTotal": sync["pagesTotal"]}
    report = services.reconciler.run(context.get_remaining_time_in_millis)
    metrics.add_metric(name="DeliveriesAppliedLate", unit=MetricUnit.Count, value=len(report.deliveries_applied))
    metrics.add_metric(name="ApprovalsTimedOut", unit=MetricUnit.Count, value=len(report.approvals_timed_out))
    metrics.add_metric(name="ResendsAskedAgain", unit=MetricUnit.Count, value=len(report.asked_again))
    metrics.add_metric(name="ResendsRequeued", unit=MetricUnit.Count, value=len(report.requeued))
    metrics.add_metric(name="ResendsPolled", unit=MetricUnit.Count, value=len(report.polled))
    metrics.add_metric(name="ResendsUpdatedByPoll", unit=MetricUnit.Count, value=len(report.updated))
    metrics.add_metric(name="InstructionsExpired", unit=MetricUnit.Count, value=len(report.instructions_expired))
    metrics.add_metric(name="InstructionsMatchedLate", unit=MetricUnit.Count, value=len(report.instructions_matched))
    metrics.add_metric(name="InventoryAgingPublished", unit=MetricUnit.Count, value=len(report.aging_published))
    metrics.add_metric(name="ReconcileOutOfTime", unit=MetricUnit.Count, value=int(report.out_of_time))
    logger.info(
        "reconciled",
        extra={
            "deliveriesApplied": report.deliveries_applied,
            "approvalsTimedOut": report.approvals_timed_out,
            "askedAgain": report.asked_again,
            "requeued": report.requeued,
            "polled": len(report.polled),
            "updated": report.updated,
            "agingPublished": report.aging_published,
            "instructionsExpired": report.instructions_expired,
            "instructionsMatched": report.instructions_matched,
            "outOfTime": report.out_of_time,
        },
    )
    return {
        "deliveriesApplied": len(report.deliveries_applied),
        "approvalsTimedOut": len(report.approvals_timed_out),
        "askedAgain": len(report.asked_again),
        "requeued": len(report.requeued),
        "polled": len(report.polled),
        "updated": len(report.updated),
        "agingPublished": len(report.aging_published),
        "instructionsExpired": len(report.instructions_expired),
        "instructionsMatched": len(report.instructions_matched),
        "outOfTime": report.out_of_time,
    }


def release_parked_reports(records: list[dict]) -> PartialItemFailureResponse:
    """A failed record is a batch item failure: the mapping retries from it (the reports stay parked).

    Answered by Powertools' batch processor, as every batch of this system is; built on the first stream
    invocation: its import (the data_classes package, ~40 ms) stays off the scheduled runs' cold start."""
    processor = _stream_processor()
    with processor(records=records, handler=_release_record):
        processed = processor.process()
    released = sum(count for status, count, _ in processed if status == "success")
    metrics.add_metric(name="ParkedResendReportsApplied", unit=MetricUnit.Count, value=released)
    logger.info("parked resend reports released", extra={"records": len(records), "released": released})
    return processor.response()


def _release_record(record: DynamoDBRecord) -> int:
    resend_id = int(record.raw_event["dynamodb"]["NewImage"]["resendId"]["N"])
    try:
        return release_parked(resend_id)
    except Exception:
        logger.exception("parked resend reports not applied yet", extra={"resendId": resend_id})
        raise


@functools.cache
def _stream_processor() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    # Reported per record even when every record failed (the failures are the answer, not an error).
    return BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


cold_start.finished()  # the module's init is done (rh_common/runtime/cold_start.py)
