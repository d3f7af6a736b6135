"""The automation queue is one door (contract sections 5 and 10): the worker acts on the intake shapes
only, and a message it cannot act on is refused before anything is reserved or sent."""

import copy
import io
import json
import logging
import uuid

import boto3
import pytest

from tests.events.loader import load_event
from tests.support.call_counts import Calls
from tests.support.resend import fault, resend_body, upstream_state


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream("ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1")


def sqs_event(*bodies) -> dict:
    template = load_event("sqs_resend_request")["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


def resend_records(tables) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables["ResendRequestTable"])["Items"]


@pytest.mark.parametrize(
    "key", ["order-€1", " order-1", "order-1\n"], ids=["non-ascii", "leading-space", "trailing-newline"]
)
def test_an_automation_message_with_a_key_outside_the_grammar_reserves_nothing(
    worker, lambda_context, items, tables, emulator, key
):
    ids, good = items(1201, 1202), items(1203)
    event = sqs_event(
        {"idempotencyKey": key, "request": resend_body(ids)},
        {"idempotencyKey": "order-ok", "request": resend_body(good)},
    )
    worker.lambda_handler(event, lambda_context)
    assert [items.store.get(i, consistent=True).active_resend_request_id for i in ids] == [None, None]
    assert upstream_state(emulator)["createResendCalls"] == {"order-ok": 1}  # the batch's other message went on
    assert len(resend_records(tables)) == 1


# ------------------------------------------------------------------ any other shape: moved to the DLQ at once


@pytest.fixture
def door(load_with_upstream, sync_queue, lambda_context):
    """The worker, and `send(body, source=automation)` handing it one record; answers its batch failures."""
    worker = load_with_upstream("ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1", SYNC_QUEUE_URL=sync_queue)

    def send(*bodies, source=None):
        event = sqs_event(*bodies)
        for record in event["Records"]:
            record["eventSourceARN"] = source or AUTOMATION_ARN
        return worker.lambda_handler(event, lambda_context)["batchItemFailures"]

    send.worker, send.context = worker, lambda_context
    return send


# The resend request queue's ARN (moto's, as on `make run`): any source but the system's own two queues.
AUTOMATION_ARN = "arn:aws:sqs:us-east-1:123456789012:rh-local-ResendRequestQueue"


def dead_letters(automation_dlq) -> list[dict]:
    sqs = boto3.client("sqs")
    return sqs.receive_message(
        QueueUrl=automation_dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])


@pytest.fixture
def worker_logs(door):
    """The worker's JSON log lines (its Powertools handler pointed at a buffer for the test)."""
    buffer = io.StringIO()
    handlers = [h for h in door.worker.logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, streams, strict=True):
        handler.setStream(stream)


def test_a_retry_shaped_message_on_the_automation_queue_is_moved_to_its_dlq_untouched(
    door, items, emulator, automation_dlq, worker_logs
):
    # GIVEN a request PENDING after one transient failure
    ids = items(1211)
    fault(emulator, "createResend", kind="http5xx", status=503)
    assert door({"idempotencyKey": "auto-pending", "request": resend_body(ids)}) == []
    request_id = door.worker.service.get_by_key("auto-pending").body["resendRequestId"]
    # WHEN a retry-shaped message naming it arrives by the automation door
    body = json.dumps({"resendRequestId": request_id})
    assert door(body) == []  # handled: SQS deletes it from the automation queue
    # THEN it is in the DLQ as it came, and the request was not tried again
    [moved] = dead_letters(automation_dlq)
    assert moved["Body"] == body
    assert "automation" in moved["MessageAttributes"]["refusedBecause"]["StringValue"]
    view = door.worker.service.get_by_key("auto-pending").body
    assert (view["status"], view["attempts"]) == ("PENDING", 1)
    assert upstream_state(emulator)["createResendCalls"] == {"auto-pending": 1}
    # logged by its key names, never its values
    [moved_line] = [line for line in worker_logs.getvalue().splitlines() if "moved to its DLQ" in line]
    assert json.loads(moved_line)["keys"] == ["resendRequestId"]
    assert request_id not in moved_line


def test_a_sync_page_shaped_message_on_the_automation_queue_cannot_fail_a_running_sync(
    door, tables, automation_dlq, sync_queue
):
    started, _ = door.worker.syncs.start("2026-11-01", None)
    page = {
        "kind": "inventorySyncPage",
        "syncId": started["syncId"],
        "from": "x",
        "to": "y",
        "offset": 0,
        "attempt": 99,
    }
    assert door(page) == []
    [moved] = dead_letters(automation_dlq)
    assert json.loads(moved["Body"]) == page
    assert door.worker.syncs.get(started["syncId"])["status"] == "RUNNING"
    # the same page from the sync queue is acted on (and fails the sync: it is a harmful page)
    assert door(page, source=door.worker.SYNC_QUEUE_ARN) == []
    assert door.worker.syncs.get(started["syncId"])["status"] == "FAILED"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '"a string"',
        json.dumps({"no": "shape"}),
        json.dumps({"idempotencyKey": "auto-f", "fulfilment": {}, "request": {}}),  # a fulfilment is alone
        json.dumps({"idempotencyKey": "auto-x", "request": {}, "resendRequestId": "r"}),
        json.dumps({"idempotencyKey": "order-€1", "request": {}}),
        '{"idempotencyKey": "auto-deep", "request": ' + "[" * 50_000,
    ],
    ids=["not-json", "list", "string", "other-keys", "fulfilment", "intake-plus-retry-keys", "bad-key", "50000-deep"],
)
def test_anything_but_an_intake_shape_is_moved_to_the_dlq_at_once_and_kept_nowhere(
    door, tables, emulator, automation_dlq, body
):
    assert door(body) == []  # not failed: not left for the queue's receives to run out
    [moved] = dead_letters(automation_dlq)
    assert moved["Body"] == body
    assert resend_records(tables) == []
    assert upstream_state(emulator)["createResendCalls"] == {}


def test_a_message_the_dlq_cannot_take_stays_on_its_queue(door, items, automation_dlq):
    boto3.client("sqs").delete_queue(QueueUrl=automation_dlq)
    event = sqs_event("not json", {"idempotencyKey": "auto-ok", "request": resend_body(items(1221))})
    failed = door.worker.lambda_handler(event, door.context)["batchItemFailures"]
    # left for SQS to deliver again (and redrive), never lost; the batch's other message went on
    assert failed == [{"itemIdentifier": event["Records"][0]["messageId"]}]


# ------------------------------------------------------------------ caps: the same models at both doors


@pytest.mark.parametrize(
    "message",
    [
        {"idempotencyKey": "auto-over-cap", "request": resend_body(list(range(90_001, 90_007)))},
        {"idempotencyKey": "auto-repeated", "request": resend_body([90_001, 90_001])},
        {"idempotencyKey": "auto-batch-over", "batch": True, "request": resend_body(list(range(90_001, 90_052)))},
    ],
    ids=["resend-6", "resend-repeated", "batch-51"],
)
def test_an_automation_request_over_its_cap_is_refused_before_any_lookup(door, tables, emulator, monkeypatch, message):
    calls = Calls(monkeypatch, emulator.api_base)
    assert door(message) == []
    assert calls.upstream == []
    assert [name for name in calls.dynamodb if name != "PutItem"] == [], "nothing read, nothing reserved"
    if not message.get("batch"):  # a resend's refusal is recorded under its key, as for any invalid request
        view = door.worker.service.get_by_key(message["idempotencyKey"]).body
        assert view["status"] == "REJECTED" and "returnInventoryIdList" in view["lastError"]["detail"]
        assert view["lastError"]["reason"] == "other"  # the list's shape, not the items: nothing was looked up
