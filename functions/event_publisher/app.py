"""DynamoDB streams of the resend and inventory tables -> EventBridge (the outbox, CONTRACT section 9).

Powertools' batch processor translates each stream record (rh_common.adapters.dynamodb.stream_records
decodes it, rh_common.domain.published_events decides the event); a record it cannot read is a
batch item failure. The events of the records it could read go
out in PutEvents calls of ten, failed entries re-sent on their own; records whose event
still failed are batch item failures too. Lambda then retries from the first failed
record (ReportBatchItemFailures), bisects, and after MaximumRetryAttempts sends the
batch's description to the on-failure queue, so nothing blocks the shard. Delivery is at
least once: a redelivered record carries the same eventId.
"""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from rh_common.adapters.dynamodb import stream_records
from rh_common.adapters.event_bus import Entry
from rh_common.domain import published_events
from rh_common.runtime import wiring

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# Reported per record even when every record failed (the failures are the answer, not an error).
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
publisher = wiring.Wiring(metrics, tracer).publisher
eligible_handling_codes = wiring.eligible_handling_codes()


def translate(record: DynamoDBRecord) -> published_events.ChangeEvent | None:
    return stream_records.from_stream_record(record.raw_event, eligible_handling_codes)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    with processor(records=event["Records"], handler=translate):
        processed = processor.process()
    entries = [
        Entry(record["dynamodb"]["SequenceNumber"], change.detail_type, change.detail)
        for status, change, record in processed
        if status == "success" and change is not None
    ]
    for status, error, record in processed:
        if status == "fail":  # the message names the record and what is missing, never a value of it
            sequence = (record.raw_event.get("dynamodb") or {}).get("SequenceNumber")
            logger.warning("stream record not readable", extra={"sequenceNumber": sequence, "error": error})
    result = publisher.put(entries)
    failures = processor.response()["batchItemFailures"] + [{"itemIdentifier": key} for key in result.failed]
    published = len(entries) - len(result.failed)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=published)
    metrics.add_metric(name="EventsPublishFailed", unit=MetricUnit.Count, value=len(result.failed))
    metrics.add_metric(name="EventsPublishRetried", unit=MetricUnit.Count, value=result.retried)
    logger.info(
        "stream batch published",
        extra={
            "records": len(processed),
            "events": len(entries),
            "published": published,
            "unreadable": len(processor.fail_messages),
            "publishFailed": len(result.failed),
            "eventIds": [entry.detail["eventId"] for entry in entries],
        },
    )
    return {"batchItemFailures": failures}


cold_start.finished()  # the module's init is done (rh_common/runtime/cold_start.py)
