"""AWS failures injected on the exact call, through the real handlers (moto for everything else).

What a throttled or cancelled DynamoDB call does to each path: the webhook keeps or asks for a
redelivery (500 stored-not-applied, 503 not stored), a resend is never sent upstream without
its reservation and never sent twice, and the reservation's cancellation reasons are read right.
"""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.adapters.dynamodb.resend_store import ResendStore
from rh_common.domain.errors import Conflict, RequestExists, ReservationConflict
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event, load_event_bytes
from tests.support.aws_faults import InjectedFailures
from tests.support.resend import resend_body, upstream_state

CANCELLED = "TransactionCanceledException"


@pytest.fixture
def faults(aws):
    return InjectedFailures(base.client())


def scan(table):
    return boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]


def in_stock(tables, inventory_id):
    key = {"returnInventoryId": {"N": str(inventory_id)}}
    item = boto3.client("dynamodb").get_item(TableName=tables["InventoryTable"], Key=key).get("Item") or {}
    return item.get("inStock") == {"BOOL": True}


# ------------------------------------------------------------------ the webhook


def test_a_throttled_apply_is_kept_answered_500_and_the_redelivery_applies_it(deliver, faults, tables):
    # GIVEN the apply's transaction (the inventory write and the "applied" mark) is throttled once
    raw = load_event_bytes("newInventoryCreated")
    faults.fail("TransactWriteItems", "ThrottlingException")
    # WHEN the delivery arrives
    status, body = deliver(raw)
    # THEN it is kept as applyFailed and the answer asks for a redelivery, which is applied
    assert (status, body["message"]) == (500, "delivery stored but not applied; redeliver")
    assert faults.failed == ["TransactWriteItems"]
    [kept] = scan(tables["DeliveryTable"])
    assert kept["status"] == {"S": "applyFailed"} and not in_stock(tables, 20251)
    assert deliver(raw) == (200, {"status": "applied", "deliveryId": kept["deliveryId"]["S"]})
    assert in_stock(tables, 20251)


def test_an_apply_transaction_that_meets_another_is_tried_again_and_applied(deliver, faults, tables):
    # GIVEN the apply's transaction is cancelled by a concurrent one (not by its conditions)
    faults.fail("TransactWriteItems", CANCELLED, reasons=["TransactionConflict", None])
    # WHEN the delivery arrives THEN it is written again and applied, in this one invocation
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    assert (status, body["status"]) == (200, "applied")
    assert faults.failed == ["TransactWriteItems"] and in_stock(tables, 20251)
    [kept] = scan(tables["DeliveryTable"])
    assert kept["status"] == {"S": "accepted"}


def test_a_delivery_that_cannot_be_stored_is_503_and_nothing_is_kept(deliver, faults, tables):
    # GIVEN the delivery log's put is throttled
    faults.fail("PutItem", "ProvisionedThroughputExceededException")
    # WHEN the delivery arrives
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    # THEN Return Helper is told to redeliver, and nothing was written or applied
    assert (status, body["message"]) == (503, "delivery could not be stored; redeliver")
    assert scan(tables["DeliveryTable"]) == [] and not in_stock(tables, 20251)
    assert deliver(load_event_bytes("newInventoryCreated"))[1]["status"] == "applied"


# ------------------------------------------------------------------ POST /resends and the automation queue


def test_a_reservation_cancelled_for_another_reason_is_500_and_nothing_goes_upstream(api, items, faults, emulator):
    # GIVEN the reservation transaction is cancelled by a concurrent transaction on an item
    ids = items(901)
    faults.fail("TransactWriteItems", CANCELLED, reasons=[None, "TransactionConflict"])
    # WHEN the request comes in
    status, body = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "cancelled-1"})
    # THEN it is not taken for a conflict or a success: nothing reserved, nothing sent, 500
    assert (status, body["message"]) == (500, "internal error")
    assert items.store.get(901, consistent=True).active_resend_request_id is None
    assert upstream_state(emulator)["createResendCalls"] == {}
    # and the same request again goes through once
    status, body = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "cancelled-1"})
    assert (status, body["status"]) == (201, "SUBMITTED")
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"cancelled-1": 1}


def test_a_cancelled_submitted_record_falls_back_to_writing_each_part(api, items, faults):
    # GIVEN the transaction that records SUBMITTED with the items' rsd facts is cancelled (throttled part)
    ids = items(911, 912)
    faults.fail("TransactWriteItems", CANCELLED, after=1, reasons=[None, "ThrottlingError", None])
    # WHEN the request is submitted
    status, body = api("POST", "/resends", resend_body(ids))
    # THEN the record and every item's fact are written one by one: the answer is the same
    assert (status, body["status"]) == (201, "SUBMITTED")
    assert faults.failed == ["TransactWriteItems"]
    assert api("GET", f"/resends/{body['resendRequestId']}")[1]["status"] == "SUBMITTED"
    for inventory_id in ids:
        record = items.store.get(inventory_id, consistent=True)
        assert record.values["handlingCode"] == "rsd" and record.active_resend_request_id == body["resendRequestId"]


def test_a_throttled_read_answers_500_before_anything_is_reserved(api, items, faults, emulator):
    ids = items(921)
    faults.fail("TransactGetItems", "ThrottlingException")
    status, _ = api("POST", "/resends", resend_body(ids))
    assert status == 500
    assert items.store.get(921, consistent=True).active_resend_request_id is None
    assert upstream_state(emulator)["createResendCalls"] == {}


def test_a_throttled_automation_message_stays_on_the_queue_and_is_created_once(
    worker, lambda_context, items, faults, emulator
):
    # GIVEN two messages, the first one's reservation throttled
    first, second = items(931), items(932)
    faults.fail("TransactWriteItems", "ThrottlingException")
    event = load_event("sqs_resend_request")
    record = event["Records"][0]
    messages = [("auto-throttled", first), ("auto-fine", second)]
    event["Records"] = [
        {**record, "messageId": key, "body": json.dumps({"idempotencyKey": key, "request": resend_body(ids)})}
        for key, ids in messages
    ]
    # WHEN SQS delivers the batch, then (the failed record not deleted) that record again
    answered = worker.lambda_handler(event, lambda_context)
    again = worker.lambda_handler({"Records": event["Records"][:1]}, lambda_context)
    # THEN only the throttled record failed, and its redelivery created it, once
    assert answered == {"batchItemFailures": [{"itemIdentifier": "auto-throttled"}]}
    assert again == {"batchItemFailures": []}
    assert worker.service.get_by_key("auto-throttled").body["status"] == "SUBMITTED"
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"auto-fine": 1, "auto-throttled": 1}


# ------------------------------------------------------------------ the reservation's cancellation reasons (Stubber)


@pytest.fixture
def stubbed_store():
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield ResendStore("resends", "inventories", "cache", client=client), stubber


RECORD = {"resendRequestId": "req-1", "status": "PENDING"}


def cancelled(stubber, *reasons):
    stubber.add_client_error(
        "transact_write_items", service_error_code=CANCELLED, modeled_fields={"CancellationReasons": list(reasons)}
    )


def test_the_record_condition_failing_means_the_request_exists(stubbed_store):
    store, stubber = stubbed_store
    cancelled(stubber, {"Code": "ConditionalCheckFailed"}, {"Code": "None"})
    with pytest.raises(RequestExists):
        store.reserve(RECORD, [7])


def test_an_item_condition_failing_names_its_holder_or_says_it_is_not_known(stubbed_store):
    store, stubber = stubbed_store
    held = {"Code": "ConditionalCheckFailed", "Item": {"activeResendRequestId": {"S": "req-0"}}}
    cancelled(stubber, {"Code": "None"}, held, {"Code": "None"}, {"Code": "ConditionalCheckFailed"})
    with pytest.raises(ReservationConflict) as refused:
        store.reserve(RECORD, [7, 8, 9])
    assert refused.value.conflicts == [Conflict(7, "req-0"), Conflict(9, None)]


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError", "ValidationError"])
def test_a_transaction_cancelled_for_another_reason_is_not_a_conflict(stubbed_store, reason):
    store, stubber = stubbed_store
    cancelled(stubber, {"Code": "None"}, {"Code": reason})
    with pytest.raises(ClientError) as failed:
        store.reserve(RECORD, [7])
    assert failed.value.response["CancellationReasons"][1]["Code"] == reason  # raised as it came


def test_a_cancelled_transition_with_the_items_facts_is_reported_not_raised(stubbed_store):
    store, stubber = stubbed_store
    cancelled(stubber, {"Code": "None"}, {"Code": "TransactionConflict"})
    fact = InventoryStore("inventories").in_order_update(InventoryFacts(7, {"handlingCode": "rsd"}), "v2", "t")
    assert store.transition_with("req-1", ["PENDING"], {"status": "SUBMITTED"}, [fact]) is False
