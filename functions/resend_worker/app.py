"""SQS: resend requests from the merchant's automation, and retries of transient upstream failures.

One record at a time through the same service as POST /resends (one code path,
two doors). Powertools' batch processor reports per-record failures, so one bad
record never fails the rest of the batch; a record that fails repeatedly goes to
the DLQ through the queue's redrive policy.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from rh_common import queue_messages, wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
service = wiring.resend_service()


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    message = queue_messages.parse(record.body)
    if isinstance(message, queue_messages.RetryMessage):
        logger.append_keys(resendRequestId=message.resend_request_id)
        answer = service.retry(message.resend_request_id)
    else:
        logger.append_keys(idempotencyKey=message.idempotency_key)
        answer = service.intake(message.idempotency_key, message.request)
    metrics.add_metric(name=f"Resend_{answer.outcome}", unit=MetricUnit.Count, value=1)
    logger.info("resend message handled", extra={"outcome": answer.outcome, "statusCode": answer.status_code})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
