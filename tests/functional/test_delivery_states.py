"""Nothing lost (contract section 8): a delivery is "duplicate" only once its effect is applied.

Through the real webhook handler against moto: the worker dies between its two
writes, the apply fails, and the write requests a delivery costs.
"""

import hashlib
import time

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from tests.events.loader import load_event_bytes

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


class WorkerDied(BaseException):
    """Stands for the function being killed (timeout, crash): no `except Exception` sees it."""


def die(*args, **kwargs):
    raise WorkerDied


def unreachable(*args, **kwargs):
    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@pytest.fixture
def writes(webhook):
    """Counts the DynamoDB write requests the webhook's client makes."""
    counted: list[str] = []
    client = webhook.ingestor._deliveries.client
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: counted.append(model.name) if model.name in WRITES else None
    )
    return counted


def stored_status(tables, delivery_id):
    item = boto3.client("dynamodb").get_item(
        TableName=tables["DeliveryTable"], Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True
    )["Item"]
    return item["status"]["S"]


def in_stock(tables, inventory_id):
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=tables["InventoryTable"], Key={"returnInventoryId": {"N": str(inventory_id)}})
        .get("Item")
    )
    return item is not None and item.get("inStock") == {"BOOL": True}


def test_a_worker_that_dies_between_the_two_writes_leaves_it_received_and_the_redelivery_applies_it(
    deliver, webhook, tables, monkeypatch
):
    raw = load_event_bytes("newInventoryCreated")

    # GIVEN the function dies after keeping the delivery, before its apply-and-mark write
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", die)
        with pytest.raises(WorkerDied):
            deliver(raw)
    delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert stored_status(tables, delivery_id) == "received" and not in_stock(tables, 20251)

    # WHEN Return Helper redelivers it (it never got a 200)
    status, body = deliver(raw)

    # THEN the redelivery is applied, not taken for a duplicate, and only now is it final
    assert (status, body["status"]) == (200, "applied")
    assert in_stock(tables, 20251) and stored_status(tables, delivery_id) == "accepted"
    assert deliver(raw) == (200, {"status": "duplicate", "deliveryId": delivery_id})


def test_a_new_delivery_is_two_write_requests_and_a_duplicate_of_an_applied_one_is_one(deliver, writes):
    raw = load_event_bytes("rinv_completeInventoryHandling")
    assert deliver(raw)[1]["status"] == "applied"
    assert writes == ["PutItem", "TransactWriteItems"]
    writes.clear()
    assert deliver(raw)[1]["status"] == "duplicate"
    assert writes == ["PutItem"]


def test_an_apply_failure_marks_it_apply_failed_and_never_downgrades_an_applied_one(deliver, webhook, tables):
    raw = load_event_bytes("userUpdateReturnInventorySku")
    status, body = deliver(raw)
    assert (status, body["status"]) == (200, "applied")
    # a first attempt that fails late (after a redelivery applied it) must not undo "accepted"
    webhook.ingestor._deliveries.mark_apply_failed(body["deliveryId"], "TimeoutError")
    assert stored_status(tables, body["deliveryId"]) == "accepted"


def test_the_reconciler_applies_a_delivery_left_received_after_the_grace_period(
    deliver, webhook, load_function, tables, monkeypatch
):
    raw = load_event_bytes("newInventoryCreated")
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", die)
        with pytest.raises(WorkerDied):
            deliver(raw)
    reconciler = load_function("ReconcilerFunction", RECONCILE_DELIVERIES_AFTER_SECONDS="60")
    # within the grace period Return Helper's redelivery is still expected: left alone
    assert reconciler.services.reconciler.run(lambda: 120_000).deliveries_applied == []
    assert not in_stock(tables, 20251)
    # after it, applied
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 120)
    [delivery_id] = reconciler.services.reconciler.run(lambda: 120_000).deliveries_applied
    assert in_stock(tables, 20251) and stored_status(tables, delivery_id) == "accepted"


def stored_item(tables, delivery_id):
    return boto3.client("dynamodb").get_item(
        TableName=tables["DeliveryTable"], Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True
    )["Item"]


def test_a_redelivery_replaces_an_unfinished_record_and_leaves_a_finished_one_untouched(
    deliver, webhook, tables, monkeypatch
):
    raw = load_event_bytes("newInventoryCreated")
    delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()

    # GIVEN a first attempt whose apply failed for a reason a retry cures: kept as applyFailed, with the reason
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", unreachable)
        assert deliver(raw)[0] == 500
    assert stored_item(tables, delivery_id)["reason"] == {"S": "EndpointConnectionError"}

    # WHEN Return Helper redelivers it: its record is replaced and the delivery applied (reason gone)
    assert deliver(raw)[1]["status"] == "applied"
    applied = stored_item(tables, delivery_id)
    assert applied["status"] == {"S": "accepted"} and "reason" not in applied

    # THEN a further redelivery is a duplicate whose failed condition wrote nothing: the record stays as it was
    assert deliver(raw)[1]["status"] == "duplicate"
    assert stored_item(tables, delivery_id) == applied
