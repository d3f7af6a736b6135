"""The SQS worker: automation intake and retries, through the real handler, moto and the emulator."""

import copy
import json
import os
import time
import uuid

import boto3
import pytest

from rh_common.contract import queue_messages
from rh_common.domain.results import Outcome
from tests.events.loader import load_event
from tests.support.resend import fault, resend_body, upstream_state


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream(
        "ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1", RETRY_BASE_DELAY_SECONDS="1", RETRY_MAX_ATTEMPTS="3"
    )


@pytest.fixture
def deliver(worker, lambda_context):
    """Hand SQS bodies to the worker as one batch from the automation queue (or `source`, a queue's ARN);
    returns the ids it reported failed."""

    def send(*bodies, source=None):
        template = load_event("sqs_resend_request")["Records"][0]
        records = []
        for body in bodies:
            record = copy.deepcopy(template)
            record["eventSourceARN"] = source or record["eventSourceARN"]
            record["messageId"] = str(uuid.uuid4())
            record["body"] = body if isinstance(body, str) else json.dumps(body)
            records.append(record)
        response = worker.lambda_handler({"Records": records}, lambda_context)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        return [record["messageId"] in failed for record in records]

    return send


@pytest.fixture
def retry(deliver):
    """Hand bodies to the worker as the retry queue's records (retries are acted on from there only)."""
    return lambda *bodies: deliver(*bodies, source=os.environ["RESEND_RETRY_QUEUE_ARN"])


def nothing_queued(queue_url) -> bool:
    """No message visible, delayed or in flight: asked at once, not waited for as queued_retries does."""
    names = [f"ApproximateNumberOfMessages{kind}" for kind in ("", "Delayed", "NotVisible")]
    counts = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return all(int(counts[name]) == 0 for name in names)


def queued_retries(retry_queue):
    """Receive what the worker queued for retry (delays ignored: moto's clock is not ours to wait on)."""
    sqs = boto3.client("sqs")
    bodies = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=retry_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=retry_queue, ReceiptHandle=message["ReceiptHandle"])
        if bodies:
            return bodies
    return bodies


def test_an_automation_request_goes_the_same_way_as_post_resends(worker, deliver, items, emulator):
    ids = items(701, 702)
    assert deliver({"idempotencyKey": "auto-1", "request": resend_body(ids)}) == [False]
    answer = worker.service.get_by_key("auto-1")
    assert answer.outcome == Outcome.READ and answer.body["status"] == "SUBMITTED"
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-1": 1}
    # the same message again (SQS delivers at least once) creates nothing new
    assert deliver({"idempotencyKey": "auto-1", "request": resend_body(ids)}) == [False]
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-1": 1}


def test_an_invalid_automation_request_is_recorded_rejected_and_not_retried(worker, deliver, items, emulator):
    assert deliver({"idempotencyKey": "auto-bad", "request": resend_body([703], shipmentCountryCode="zzz")}) == [False]
    view = worker.service.get_by_key("auto-bad").body
    assert view["status"] == "REJECTED" and view["attempts"] == 0
    assert view["lastError"]["reason"] == "addressInvalid" and view["lastError"]["errorCode"] is None
    assert "resendShipment.shipmentCountryCode" in view["lastError"]["detail"]
    assert upstream_state(emulator)["createResendCalls"] == {}


def test_an_automation_request_for_reserved_items_is_rejected_with_the_conflict(worker, deliver, items):
    ids = items(704)
    deliver({"idempotencyKey": "auto-first", "request": resend_body(ids)})
    assert deliver({"idempotencyKey": "auto-second", "request": resend_body(ids)}) == [False]
    view = worker.service.get_by_key("auto-second").body
    assert view["status"] == "REJECTED" and "reserved" in view["lastError"]["detail"]
    assert view["lastError"]["reason"] == "itemNotEligible"


def test_one_bad_record_never_fails_the_rest_of_the_batch(worker, deliver, retry, items):
    ids = items(705)
    # on the automation queue, a message that is not an intake shape is moved to its DLQ (handled)
    results = deliver("not json", {"idempotencyKey": "auto-ok", "request": resend_body(ids)}, {"no": "shape"})
    assert results == [False, False, False]
    assert worker.service.get_by_key("auto-ok").body["status"] == "SUBMITTED"
    # on the retry queue (only this system writes to it) a bad record fails, for its own redrive policy
    settled = {"resendRequestId": worker.service.get_by_key("auto-ok").body["resendRequestId"]}
    assert retry("not json", {"resendRequestId": "no-such-request"}, {"no": "shape"}, settled) == [
        True,
        True,
        True,
        False,
    ]


def test_a_transient_failure_is_retried_from_the_queue_with_the_same_key(
    worker, deliver, retry, items, emulator, retry_queue
):
    ids = items(706)
    fault(emulator, "createResend", kind="http5xx", status=503)
    deliver({"idempotencyKey": "auto-retry", "request": resend_body(ids)})
    assert worker.service.get_by_key("auto-retry").body["status"] == "PENDING"
    [message] = queued_retries(retry_queue)
    assert retry(message) == [False]
    view = worker.service.get_by_key("auto-retry").body
    assert (view["status"], view["attempts"]) == ("SUBMITTED", 2)
    assert upstream_state(emulator)["createResendCalls"] == {"auto-retry": 2}
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-retry": 1}


def test_a_create_that_timed_out_after_upstream_made_it_is_recognised_not_duplicated(
    worker, deliver, retry, items, emulator, retry_queue
):
    ids = items(707)
    fault(emulator, "createResend", kind="timeoutAfterCommit", seconds=2)
    deliver({"idempotencyKey": "auto-ambiguous", "request": resend_body(ids)})
    assert worker.service.get_by_key("auto-ambiguous").body["status"] == "PENDING"
    created_upstream = [r for r in upstream_state(emulator)["resends"] if r["idempotencyKey"] == "auto-ambiguous"]
    assert len(created_upstream) == 1  # the first attempt did create it
    [message] = queued_retries(retry_queue)
    retry(message)
    view = worker.service.get_by_key("auto-ambiguous").body
    assert view["status"] == "SUBMITTED" and view["resendId"] == created_upstream[0]["resendId"]
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-ambiguous": 1}


def test_a_refusal_on_retry_is_rejected_and_releases_the_items(worker, deliver, retry, items, emulator, retry_queue):
    ids = items(708)
    fault(emulator, "createResend", kind="http5xx", status=500)
    deliver({"idempotencyKey": "auto-refused", "request": resend_body(ids)})
    fault(emulator, "createResend", kind="softError", errorCode="VALIDATION_FAILED", error={"x": "no"})
    [message] = queued_retries(retry_queue)
    retry(message)
    view = worker.service.get_by_key("auto-refused").body
    assert view["status"] == "REJECTED" and view["lastError"]["errorCode"] == "VALIDATION_FAILED"
    assert items.store.get(708, consistent=True).active_resend_request_id is None


def test_after_the_last_attempt_the_request_is_dead_and_its_items_released(
    worker, deliver, retry, items, emulator, retry_queue
):
    ids = items(709)
    for _ in range(3):  # 503: certainly not processed (an unknown outcome never gives up: test_resend_ambiguity)
        fault(emulator, "createResend", kind="http5xx", status=503)
    deliver({"idempotencyKey": "auto-dead", "request": resend_body(ids)})
    assert not nothing_queued(retry_queue)  # the first retry waits in the queue (delayed)
    for _ in range(2):
        [message] = queued_retries(retry_queue)
        retry(message)
    view = worker.service.get_by_key("auto-dead").body
    assert (view["status"], view["attempts"]) == ("DEAD", 3)
    assert "3 attempts" in view["lastError"]["detail"]
    assert items.store.get(709, consistent=True).active_resend_request_id is None
    assert nothing_queued(retry_queue)


def test_retry_after_is_honoured(worker, deliver, items, emulator, retry_queue):
    ids = items(710)
    fault(emulator, "createResend", kind="http429", retryAfter=7)
    deliver({"idempotencyKey": "auto-429", "request": resend_body(ids)})
    record = worker.service._resends.get(worker.service.get_by_key("auto-429").body["resendRequestId"])
    assert record["nextAttemptAt"] - time.time() >= 5  # Retry-After 7, whole seconds


def test_a_retry_of_a_request_that_already_settled_calls_nobody(worker, deliver, retry, items, emulator):
    ids = items(711)
    deliver({"idempotencyKey": "auto-settled", "request": resend_body(ids)})
    request_id = worker.service.get_by_key("auto-settled").body["resendRequestId"]
    assert retry({"resendRequestId": request_id}) == [False]
    assert upstream_state(emulator)["createResendCalls"] == {"auto-settled": 1}


def test_an_automation_batch_runs_the_batch_path_and_is_read_by_its_key(worker, deliver, items, emulator):
    ids = items(781, 782)
    message = {"idempotencyKey": "auto-batch", "batch": True, "request": resend_body(ids)}
    assert deliver(message) == [False]
    answer = worker.services.batches.get("auto-batch")
    assert answer.outcome == Outcome.READ
    [entry] = answer.body["resends"]
    assert entry["status"] == "SUBMITTED" and entry["returnInventoryIdList"] == ids
    assert deliver(message) == [False]  # delivered again: nothing new upstream
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-batch#g0": 1}


def test_a_batch_flag_that_is_not_a_boolean_is_a_poison_message():
    with pytest.raises(queue_messages.MalformedMessage, match="batch"):
        queue_messages.intake(json.dumps({"idempotencyKey": "auto-batch-2", "batch": "yes", "request": {}}))
