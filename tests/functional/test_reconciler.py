"""Nothing stuck: kill the flow at each step and let the reconciler (and the worker) finish it."""

import copy
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from rh_common.contract.resend_request import CreateResendRequest
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.timestamps import now_iso
from tests.support.resend import resend_body, upstream_state

LATER = datetime.now(UTC) + timedelta(hours=2)  # the reconciler's "now": everything below looks old


def roomy():  # a Lambda context's remaining time, never running out (test_periodic_work runs it down)
    return 120_000


@pytest.fixture
def reconciler(load_with_upstream):
    return load_with_upstream("ReconcilerFunction")


def reserved_but_never_sent(worker, ids, key):
    """The state a function leaves when it dies right after the reservation transaction."""
    service = worker.service
    request = resend_body(ids)
    model = CreateResendRequest.model_validate(request)
    record = {
        "resendRequestId": request_id_for(key),
        "status": "PENDING",
        "returnInventoryIdList": ids,
        "warehouseId": 2,
        "upstreamIdempotencyKey": key,
        "idempotencyKey": key,
        "fingerprint": model.fingerprint(),
        "request": model.upstream_body(),
        "attempts": 0,
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
        "answerBefore": int(time.time()) + 60,
    }
    service._resends.reserve(record, ids)
    return record


def drain(worker, retry_queue, lambda_context):
    """Run the worker over whatever is on the retry queue; returns how many messages it took."""
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=retry_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    if messages:
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "awsRegion": "us-east-1",
                "eventSourceARN": os.environ["RESEND_RETRY_QUEUE_ARN"],  # the worker acts on retries from there only
            }
            for m in messages
        ]
        assert worker.lambda_handler({"Records": records}, lambda_context)["batchItemFailures"] == []
        for m in messages:
            sqs.delete_message(QueueUrl=retry_queue, ReceiptHandle=m["ReceiptHandle"])
    return len(messages)


def test_died_after_reserving_the_request_is_queued_again_and_submitted(
    worker, reconciler, items, retry_queue, lambda_context, emulator
):
    ids = items(901)
    record = reserved_but_never_sent(worker, ids, "stuck-1")
    report = reconciler.services.reconciler.run(roomy, now=LATER)
    assert report.requeued == [record["resendRequestId"]]
    assert reconciler.services.reconciler.run(roomy, now=LATER).requeued == []  # not twice while its retry is due
    assert drain(worker, retry_queue, lambda_context) == 1
    assert worker.service.get_by_key("stuck-1").body["status"] == "SUBMITTED"
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"stuck-1": 1}


def test_died_after_upstream_created_it_the_retry_finds_it_not_a_duplicate(
    worker, reconciler, items, retry_queue, lambda_context, emulator
):
    ids = items(902)
    record = reserved_but_never_sent(worker, ids, "stuck-2")
    first = worker.service._upstream.create_resend(record["request"], "stuck-2")  # reached upstream, then died
    assert first.ok
    reconciler.services.reconciler.run(roomy, now=LATER)
    drain(worker, retry_queue, lambda_context)
    view = worker.service.get_by_key("stuck-2").body
    assert view["status"] == "SUBMITTED" and view["resendId"] == int(first.payload["resendId"])
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"stuck-2": 1}


def test_died_between_recording_a_retry_and_queueing_it(worker, reconciler, items, retry_queue, lambda_context):
    ids = items(903)
    record = reserved_but_never_sent(worker, ids, "stuck-3")
    worker.service._resends.transition(
        record["resendRequestId"], ["PENDING"], {"attempts": 1, "nextAttemptAt": int(time.time())}
    )
    assert reconciler.services.reconciler.run(roomy, now=LATER).requeued == [record["resendRequestId"]]
    drain(worker, retry_queue, lambda_context)
    assert worker.service.get_by_key("stuck-3").body["status"] == "SUBMITTED"


def test_a_request_with_a_retry_due_soon_is_left_alone(worker, reconciler, items):
    ids = items(904)
    record = reserved_but_never_sent(worker, ids, "stuck-4")
    due = int(LATER.timestamp()) + 60
    worker.service._resends.transition(record["resendRequestId"], ["PENDING"], {"attempts": 1, "nextAttemptAt": due})
    assert reconciler.services.reconciler.run(roomy, now=LATER).requeued == []


def test_a_lost_webhook_is_caught_up_by_polling_get_resend(worker, reconciler, items, emulator):
    ids = items(905)
    created = worker.service.intake("quiet-1", resend_body(ids)).body
    # upstream completes it; the webhook goes nowhere (lost)
    requests.post(
        f"{emulator.url}/_emulator/resends/{created['resendId']}/advance",
        json={"to": "completed", "trackingNumber": "1Z-LOST-WEBHOOK"},
        timeout=5,
    )
    report = reconciler.services.reconciler.run(roomy, now=LATER)
    assert report.updated == [created["resendRequestId"]]
    view = worker.service.get(created["resendRequestId"]).body
    assert (view["status"], view["trackingNumber"]) == ("COMPLETED", "1Z-LOST-WEBHOOK")
    # GetResend carries the shipments too: the poll's report is the newest
    (shipment,) = view["shipments"]
    assert (shipment["trackingNumber"], shipment["cost"], shipment["currencyCode"]) == ("1Z-LOST-WEBHOOK", 11.03, "USD")


def test_the_scheduled_handler_reports_what_it_did(reconciler, lambda_context, tables):
    event = {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    assert reconciler.lambda_handler(copy.deepcopy(event), lambda_context) == {
        "deliveriesApplied": 0,
        "approvalsTimedOut": 0,
        "askedAgain": 0,
        "requeued": 0,
        "polled": 0,
        "updated": 0,
        "agingPublished": 0,
        "instructionsExpired": 0,
        "instructionsMatched": 0,
        "outOfTime": False,
    }
