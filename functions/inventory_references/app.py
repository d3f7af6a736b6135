"""DynamoDB streams of the inventory and reference tables -> the reference table's rows, the freeing of a
cancelled consolidation order's items (rh_common.services.inventory_references says how), and the resend
instructions an arrival matches (rh_common.services.instruction_service).

Powertools' batch processor hands each record to the keeper; a record that fails (unreadable, or a write
that failed) is a batch item failure: Lambda retries from the first one (ReportBatchItemFailures), bisects,
and after MaximumRetryAttempts sends the batch's description to the on-failure queue. Every write is
idempotent, so a retried record changes nothing twice.
"""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from rh_common.adapters.dynamodb.reference_store import stream_change
from rh_common.domain.references import ItemChanged
from rh_common.runtime import wiring

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
services = wiring.Wiring(metrics, tracer)
keeper = services.reference_keeper


def keep(record: DynamoDBRecord) -> None:
    change = stream_change(record.raw_event)
    if change is None:
        return
    keeper.apply(change)
    if isinstance(change, ItemChanged) and change.new is not None:
        # The resend instructions waiting for a reference it gained (built on first use: only then are the
        # resend service and the Return Helper client imported).
        services.instructions.arrived(change.inventory_id, change.old, change.new)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    with processor(records=event["Records"], handler=keep):
        processed = processor.process()
    for status, error, record in processed:
        if status == "fail":  # the error names what failed, never a value of the item
            sequence = (record.raw_event.get("dynamodb") or {}).get("SequenceNumber")
            logger.warning("stream record not kept", extra={"sequenceNumber": sequence, "error": error})
    failures = processor.response()["batchItemFailures"]
    metrics.add_metric(name="ReferenceRecordsFailed", unit=MetricUnit.Count, value=len(failures))
    logger.info("stream batch kept", extra={"records": len(processed), "failed": len(failures)})
    return {"batchItemFailures": failures}


cold_start.finished()  # the module's init is done (rh_common/runtime/cold_start.py)
