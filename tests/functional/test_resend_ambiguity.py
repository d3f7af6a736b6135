"""Ambiguity never orphans, through the real handlers: moto's DynamoDB (the store's conditional writes),
the Return Helper emulator over HTTP (a create that commits, then times out), the merchant API's cancel
and a signed status webhook (contract section 3)."""

from __future__ import annotations

import json
import os

import pytest

from rh_common.domain.results import Outcome
from tests.events.loader import load_event
from tests.functional.test_resend_worker import nothing_queued, queued_retries
from tests.support.resend import fault, resend_body, upstream_state


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream(
        "ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1", RETRY_BASE_DELAY_SECONDS="1", RETRY_MAX_ATTEMPTS="2"
    )


@pytest.fixture
def sqs(worker, lambda_context):
    """Hand one SQS body to the worker: an automation message from its queue, a retry from the retry queue
    (the only queue retries are acted on from)."""

    def send(body) -> None:
        message = {**load_event("sqs_resend_request")["Records"][0], "messageId": "m-1"}
        message["body"] = body if isinstance(body, str) else json.dumps(body)
        if "resendRequestId" in json.loads(message["body"]):
            message["eventSourceARN"] = os.environ["RESEND_RETRY_QUEUE_ARN"]
        assert worker.lambda_handler({"Records": [message]}, lambda_context) == {"batchItemFailures": []}

    return send


def record(worker, key: str) -> dict:
    return worker.service._resends.get(worker.service.get_by_key(key).body["resendRequestId"])


def created_upstream(emulator, key: str) -> list[dict]:
    return [r for r in upstream_state(emulator)["resends"] if r["idempotencyKey"] == key]


def test_timeouts_past_the_retry_budget_keep_the_items_until_return_helper_answers(
    worker, sqs, items, emulator, retry_queue
):
    # GIVEN Return Helper creating the resend but every answer timing out, for the whole budget (2)
    ids = items(901)
    for _ in range(2):
        fault(emulator, "createResend", kind="timeoutAfterCommit", seconds=1.5)
    sqs({"idempotencyKey": "amb-f1", "request": resend_body(ids)})
    [retry] = queued_retries(retry_queue)
    sqs(retry)
    # THEN it is PENDING past the budget, its items held, no retry of its own queued (the reconciler's)
    stuck = record(worker, "amb-f1")
    assert (stuck["status"], stuck["attempts"], stuck["attemptUnknown"]) == ("PENDING", 2, True)
    assert items.store.get(901, consistent=True).active_resend_request_id == stuck["resendRequestId"]
    assert "attemptLeaseUntil" not in stuck and nothing_queued(retry_queue)
    # WHEN the reconciler's retry reaches Return Helper
    late = worker.service.retry(stuck["resendRequestId"])
    # THEN the resend the first attempt created is recorded: one upstream, SUBMITTED, no stale error
    [resend] = created_upstream(emulator, "amb-f1")
    view = worker.service.get_by_key("amb-f1").body
    assert late.outcome == Outcome.SUBMITTED and (view["status"], view["resendId"]) == ("SUBMITTED", resend["resendId"])
    assert view["lastError"] is None and "attemptUnknown" not in record(worker, "amb-f1")


def test_two_attempts_at_once_make_one_upstream_call(worker, sqs, items, emulator, retry_queue, monkeypatch):
    # GIVEN a PENDING request (503: certainly not processed) and two retry messages at once
    ids = items(902)
    fault(emulator, "createResend", kind="http5xx", status=503)
    sqs({"idempotencyKey": "amb-f2", "request": resend_body(ids)})
    request_id = worker.service.get_by_key("amb-f2").body["resendRequestId"]
    upstream = worker.service._upstream
    real_create, inner = upstream.create_resend, []

    def second_arrives_meanwhile(body, key):
        inner.append(worker.service.retry(request_id))
        return real_create(body, key)

    monkeypatch.setattr(upstream, "create_resend", second_arrives_meanwhile)
    # WHEN both run (the second while the first is calling Return Helper)
    outer = worker.service.retry(request_id)
    # THEN one upstream call: the lease held the second off
    assert upstream_state(emulator)["createResendCalls"] == {"amb-f2": 2}  # the first 503, then one attempt
    assert [r.outcome for r in inner] == [Outcome.SETTLED] and outer.outcome == Outcome.SUBMITTED


def test_a_pending_resend_nothing_reached_is_cancelled_and_one_with_an_unknown_attempt_is_409(api, items, emulator):
    # GIVEN two PENDING requests: one after a 503, one after a timeout that may have created it
    fault(emulator, "createResend", kind="http5xx", status=503)
    status, certain = api("POST", "/resends", resend_body(items(903)), headers={"Idempotency-Key": "amb-f3"})
    assert (status, certain["status"]) == (202, "PENDING")
    fault(emulator, "createResend", kind="timeoutAfterCommit", seconds=1.5)
    status, unknown = api("POST", "/resends", resend_body(items(904)), headers={"Idempotency-Key": "amb-f4"})
    assert (status, unknown["status"]) == (202, "PENDING")
    # WHEN both are cancelled
    canceled = api("POST", f"/resends/{certain['resendRequestId']}/cancel")
    refused = api("POST", f"/resends/{unknown['resendRequestId']}/cancel")
    # THEN the first is CANCELED and its item eligible again; the second is 409 until it resolves
    assert (canceled[0], canceled[1]["status"], canceled[1]["lastError"]) == (200, "CANCELED", None)
    assert api("GET", "/inventories/903")[1]["activeResendRequestId"] is None
    assert refused[0] == 409 and "once it resolves" in refused[1]["message"]
    assert api("GET", "/inventories/904")[1]["activeResendRequestId"] == unknown["resendRequestId"]


def test_a_status_report_for_the_resend_an_unknown_attempt_created_is_adopted(
    worker, sqs, items, emulator, report, retry_queue
):
    # GIVEN a request whose create timed out after Return Helper made the resend
    ids = items(905, 906)
    fault(emulator, "createResend", kind="timeoutAfterCommit", seconds=1.5)
    sqs({"idempotencyKey": "amb-f5", "request": resend_body(ids)})
    [resend] = created_upstream(emulator, "amb-f5")
    # WHEN Return Helper's status report for that resend arrives (no request has recorded its id)
    assert report(resend["resendId"], 2, ids, 10)["status"] == "applied"
    # THEN the request adopted it: its resend id and status recorded, the unknown answered
    view = worker.service.get_by_key("amb-f5").body
    assert (view["status"], view["resendId"]) == ("IN_PROGRESS", resend["resendId"])
    assert "attemptUnknown" not in record(worker, "amb-f5")
    # AND its queued retry finds it settled and asks nobody
    [retry] = queued_retries(retry_queue)
    sqs(retry)
    assert upstream_state(emulator)["createResendCalls"] == {"amb-f5": 1}


def test_a_key_requests_refuses_counts_its_attempts_and_gives_up_instead_of_sticking(worker, items):
    # GIVEN a key that the doors would refuse (not latin-1) reaching the service anyway
    ids = items(907)
    first = worker.service.intake("order-€1", resend_body(ids))
    request_id = first.body["resendRequestId"]
    # THEN the attempt counts (certainly not sent), and the budget ends DEAD with the item released
    assert first.outcome == Outcome.PENDING and worker.service._resends.get(request_id)["attempts"] == 1
    assert worker.service.retry(request_id).outcome == Outcome.DEAD
    assert items.store.get(907, consistent=True).active_resend_request_id is None
