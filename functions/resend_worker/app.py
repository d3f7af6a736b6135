"""SQS: resend requests from the merchant's automation, retries of transient upstream failures,
inventory sync pages, and delivery replay pages (contract section 11: the webhook's apply path, paced).

Sync pages run here rather than in a function of their own: they need the same upstream
client, credentials and retry policy, and this function's reserved concurrency is the one
cap on how hard the system calls Return Helper (which publishes no rate limit), whatever
the work. They come on their own queue, one page per invocation.

One record at a time through the same service as POST /resends (one code path,
two doors). Powertools' batch processor reports per-record failures, so one bad
record never fails the rest of the batch; a record that fails repeatedly goes to
the DLQ through the queue's redrive policy.

One shape per queue, told apart by the record's eventSourceARN (rh_common.contract.queue_messages):
retries, sync and replay pages are acted on only from their own queues, which only this system
writes to. Any other source is the automation queue, whose senders are outside: there only
the intake shapes are acted on, and any other message is moved to that queue's DLQ at once,
untouched, logged by its key names only.
"""

from __future__ import annotations

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

import logging
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from rh_common.contract import queue_messages
from rh_common.http import status_codes
from rh_common.runtime import observability, outcome_metrics, settings, wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rh_common.domain.results import Result

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what it calls (cold start); requests: wiring
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
services = wiring.Wiring(metrics, tracer=tracer)  # requests traced once the upstream client is built
service, syncs = services.resends, services.syncs  # the batch service is built by the first batch message
observability.route_library_logs(logger)


# The queues only this system writes to; everything else arrives by the automation door.
RETRY_QUEUE_ARN = settings.required("RESEND_RETRY_QUEUE_ARN")
SYNC_QUEUE_ARN = settings.required("SYNC_QUEUE_ARN")
REPLAY_QUEUE_ARN = settings.required("DELIVERY_REPLAY_QUEUE_ARN")


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    # One correlation id per message; nothing of the previous record's keys carries over.
    logger.set_correlation_id(record.message_id)
    logger.remove_keys(["resendRequestId", "idempotencyKey", "syncId", "replayId"])
    source = record.event_source_arn
    if source == REPLAY_QUEUE_ARN:
        replay = queue_messages.replay_page(record.body)
        logger.append_keys(replayId=replay.body["replayId"])
        # Built by the first replay page: the other sources never import the replay service.
        logger.info("delivery replay page handled", extra={"outcome": services.delivery_replays.handle(replay.body)})
        return
    if source == SYNC_QUEUE_ARN:
        page = queue_messages.sync_page(record.body)
        logger.append_keys(syncId=page.body.get("syncId"))
        logger.info("inventory sync page handled", extra={"outcome": syncs.handle(page.body)})
        return
    if source == RETRY_QUEUE_ARN:
        retry = queue_messages.retry(record.body)
        logger.append_keys(resendRequestId=retry.resend_request_id)
        _handled(service.retry(retry.resend_request_id))
        return
    try:
        message = queue_messages.intake(record.body)
    except queue_messages.MalformedMessage as refused:
        # Never retried (it cannot become an intake message): moved now, and deleted from the queue as handled.
        services.automation_dead_letters.move(record.body, str(refused))
        keys = queue_messages.key_names(record.body)
        logger.warning("automation message moved to its DLQ", extra={"reason": str(refused), "keys": keys})
        return
    logger.append_keys(idempotencyKey=message.idempotency_key)
    observability.log_payload(logger, logging.DEBUG, "automation resend request", message.request)
    # A batch is followed up with GET /resends/batch/K; a fulfilment with GET /fulfilments/{id} (its id: the key's).
    if message.fulfilment:
        result = services.fulfilments.intake(message.idempotency_key, message.request)
    elif message.batch:
        result = services.batches.intake(message.idempotency_key, message.request)
    else:
        result = service.intake(message.idempotency_key, message.request)
    if result.refused:
        # Nobody reads this answer but GET /resends?idempotencyKey=: say why here (masked request,
        # the offending field names; never upstream's messages, which may quote the address).
        fields = [error.get("field") for error in result.body.get("errors", [])]
        observability.log_payload(
            logger, logging.WARNING, "automation resend request refused", message.request, fields=fields
        )
    _handled(result)


def _handled(result: Result) -> None:
    outcome_metrics.count_resend_outcome(metrics, result.outcome)
    # The status code a door would answer: the same in every log line, whichever door it came in by.
    status_code = status_codes.answer(result).status_code
    logger.info("resend message handled", extra={"outcome": result.outcome, "statusCode": status_code})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)


cold_start.finished()  # the module's init is done (rh_common/runtime/cold_start.py)
