"""DynamoDB streams of the resend and inventory tables -> EventBridge (the outbox, CONTRACT section 9).

Powertools' batch processor translates each stream record (rh_common.adapters.dynamodb.stream_records
decodes it, rh_common.domain.published_events decides the event); a record it cannot read is a
batch item failure. The events of the records it could read go out in PutEvents calls of ten,
failed entries re-sent on their own; records whose event still failed are batch item failures
too (told to the processor, whose answer lists both). Lambda then retries from the first failed
record (ReportBatchItemFailures), bisects, and after MaximumRetryAttempts sends the
batch's description to the on-failure queue, so nothing blocks the shard. Delivery is at
least once: a redelivered record carries the same eventId.
"""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from rh_common.adapters.dynamodb import stream_records
from rh_common.adapters.event_bus import Entry
from rh_common.domain import published_events
from rh_common.runtime import wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# Reported per record even when every record failed (the failures are the answer, not an error).
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
publisher = wiring.Wiring(metrics, tracer).publisher
eligible_handling_codes = wiring.eligible_handling_codes()


def translate(record: DynamoDBRecord) -> published_events.ChangeEvent | None:
    return stream_records.from_stream_record(record.raw_event, eligible_handling_codes)


class NotPublished(Exception):
    """EventBridge refused the record's event on every attempt (rh_common.adapters.event_bus)."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> PartialItemFailureResponse:
    with processor(records=event["Records"], handler=translate):
        processed = processor.process()
        unreadable = len(processor.fail_messages)
        for status, error, record in processed:
            if status == "fail":  # the message names the record and what is missing, never a value of it
                sequence = (record.raw_event.get("dynamodb") or {}).get("SequenceNumber")
                logger.warning("stream record not readable", extra={"sequenceNumber": sequence, "error": error})
        # (the processor hands back a success as the record it was given, a failure as its DynamoDBRecord)
        to_publish = {
            record["dynamodb"]["SequenceNumber"]: (record, change)
            for status, change, record in processed
            if status == "success" and change is not None
        }
        entries = [Entry(key, change.detail_type, change.detail) for key, (_, change) in to_publish.items()]
        result = publisher.put(entries)
        for key in result.failed:
            # A failure of its record like an unreadable one's: the processor's answer lists both.
            record = DynamoDBRecord(to_publish[key][0])
            processor.failure_handler(record, (NotPublished, NotPublished(key), None))
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
            "unreadable": unreadable,
            "publishFailed": len(result.failed),
            "eventIds": [entry.detail["eventId"] for entry in entries],
        },
    )
    return processor.response()


cold_start.finished()  # the module's init is done (rh_common/runtime/cold_start.py)
