"""What a verified delivery is answered when its apply cannot succeed (contract sections 4 and 10).

5xx only when a retry can cure it (DynamoDB throttled or unavailable, the network); anything a
redelivery would fail again on (Return Helper's own floats before, a number DynamoDB cannot
hold, a shape the event never has, JSON nested past 64 levels) is kept `unprocessable` with its
reason and answered 200: Return Helper suspends every delivery for a day after ten failures.
Through the real handler against moto, with real signatures.
"""

import json
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import InventoryWriteConflict
from tests.events.loader import load_event, load_event_bytes, webhook_payload_names
from tests.support.aws_faults import InjectedFailures

WEBHOOK_EVENTS = webhook_payload_names()


def stored(tables, delivery_id):
    key = {"deliveryId": {"S": delivery_id}}
    return boto3.client("dynamodb").get_item(TableName=tables["DeliveryTable"], Key=key, ConsistentRead=True)["Item"]


def inventory_item(tables, inventory_id):
    key = {"returnInventoryId": {"N": str(inventory_id)}}
    return boto3.client("dynamodb").get_item(TableName=tables["InventoryTable"], Key=key).get("Item") or {}


def recalibrated(weight_literal: str) -> bytes:
    """The published completeRecalibrate sample with its weight's JSON text replaced."""
    raw = load_event_bytes("completeRecalibrate")
    assert b'"weight": 620.0' in raw
    return raw.replace(b'"weight": 620.0', b'"weight": ' + weight_literal.encode())


# ------------------------------------------------------------------ Return Helper's own numbers


def test_the_published_recalibrate_sample_is_applied_and_its_weight_kept_exactly(deliver, tables):
    # GIVEN Return Helper's completeRecalibrate as published: "weight": 620.0, a JSON float
    # WHEN it is delivered, signed
    status, body = deliver(load_event_bytes("completeRecalibrate"))
    # THEN it is applied (boto3 refused the float before: 500 "stored but not applied", every redelivery)
    assert (status, body["status"]) == (200, "applied")
    assert Decimal(inventory_item(tables, 20251)["weight"]["N"]) == Decimal("620.0")
    assert stored(tables, body["deliveryId"])["status"] == {"S": "accepted"}


def test_a_fractional_weight_is_stored_as_written_not_as_a_binary_float(deliver, tables):
    status, body = deliver(recalibrated("5.1"))
    assert (status, body["status"]) == (200, "applied")
    assert inventory_item(tables, 20251)["weight"]["N"] in ("5.1", "5.10")  # never 5.0999999999999996447...


@pytest.mark.parametrize("name", WEBHOOK_EVENTS)
def test_every_published_sample_is_answered_200_applied_or_ignored(deliver, name):
    status, body = deliver(load_event_bytes(name))
    assert status == 200, body
    assert body["status"] in ("applied", "ignored"), body


# ------------------------------------------------------------------ numbers DynamoDB cannot hold


@pytest.mark.parametrize(
    "weight",
    [
        "1e400",  # past DynamoDB's exponent range
        "1e-400",
        "123456789012345678901234567890123456789",  # 39 significant digits
        "1.23456789012345678901234567890123456789",
    ],
)
def test_a_number_dynamodb_cannot_hold_is_kept_unprocessable_with_its_reason(deliver, tables, weight):
    status, body = deliver(recalibrated(weight))
    assert (status, body["status"]) == (200, "unprocessable")
    kept = stored(tables, body["deliveryId"])
    assert kept["status"] == {"S": "unprocessable"}
    assert "number" in kept["reason"]["S"]
    assert inventory_item(tables, 20251) == {}
    # and a redelivery is a duplicate of a finished delivery, not another failure
    assert deliver(recalibrated(weight))[1]["status"] == "duplicate"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_kept_unprocessable(deliver, tables, literal):
    status, body = deliver(recalibrated(literal))
    assert (status, body["status"]) == (200, "unprocessable")
    assert inventory_item(tables, 20251) == {}


# ------------------------------------------------------------------ shapes the event never has


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "completeRecalibrate", "eventTime": "2025-03-04T03:58:11.4172930Z"},
        {"category": 7, "action": "completeRecalibrate", "eventTime": "2025-03-04T03:58:11.4172930Z"},
        {"category": "completeRecalibrate", "action": None, "eventTime": "2025-03-04T03:58:11.4172930Z"},
        [1, 2, 3],
    ],
    ids=["no-category", "numeric-category", "null-action", "not-an-object"],
)
def test_a_body_without_string_category_and_action_is_unprocessable_not_ignored(deliver, tables, payload):
    status, body = deliver(json.dumps(payload).encode())
    assert (status, body["status"]) == (200, "unprocessable")
    assert stored(tables, body["deliveryId"])["status"] == {"S": "unprocessable"}


@pytest.mark.parametrize(
    "weight",
    ['{"value": 620.0}', '"620 g"', "null", "true", "[620.0]"],
    ids=["object", "text", "null", "boolean", "list"],
)
def test_a_weight_that_is_not_a_number_is_unprocessable(deliver, tables, weight):
    status, body = deliver(recalibrated(weight))
    assert (status, body["status"]) == (200, "unprocessable")
    assert inventory_item(tables, 20251) == {}


def test_a_tracking_number_that_is_not_a_string_is_unprocessable(deliver, tables):
    payload = load_event("resend_updateResendStatus_completed")
    payload["resendShipmentList"][0]["trackingNumber"] = {"number": 1.5}
    status, body = deliver(json.dumps(payload).encode())
    assert (status, body["status"]) == (200, "unprocessable")


# ------------------------------------------------------------------ nesting


def nested_lists(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_nested_50000_deep_is_kept_unprocessable_not_a_crash(deliver, tables):
    status, body = deliver(nested_lists(50_000))
    assert (status, body["status"]) == (200, "unprocessable")
    assert stored(tables, body["deliveryId"])["status"] == {"S": "unprocessable"}


def with_extra(depth: int) -> bytes:
    """newInventoryCreated with an extra field that makes the body `depth` levels deep (the body is level 1)."""
    payload = load_event("newInventoryCreated")
    extra: list = []
    for _ in range(depth - 2):
        extra = [extra]
    payload["extra"] = extra
    return json.dumps(payload).encode()


def test_a_body_64_levels_deep_is_read_and_65_is_unprocessable(deliver, tables):
    assert deliver(with_extra(64))[1]["status"] == "applied"
    status, body = deliver(with_extra(65))
    assert (status, body["status"]) == (200, "unprocessable")
    assert "64" in stored(tables, body["deliveryId"])["reason"]["S"]


# ------------------------------------------------------------------ DynamoDB's answers


@pytest.fixture
def faults(aws):
    return InjectedFailures(base.client())


def test_a_validation_exception_is_deterministic_kept_unprocessable_and_answered_200(deliver, faults, tables, caplog):
    faults.fail("TransactWriteItems", "ValidationException")
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    assert (status, body["status"]) == (200, "unprocessable")
    assert faults.failed == ["TransactWriteItems"]
    kept = stored(tables, body["deliveryId"])
    assert kept["status"] == {"S": "unprocessable"} and "ValidationException" in kept["reason"]["S"]
    # and it is said at WARNING, by the error's type only
    [warned] = [r for r in caplog.records if r.getMessage().startswith("delivery kept unprocessable")]
    assert (warned.levelname, warned.error, warned.deliveryId) == ("WARNING", "ClientError", body["deliveryId"])


def test_a_transaction_cancelled_by_a_validation_error_is_kept_unprocessable(deliver, faults, tables):
    faults.fail("TransactWriteItems", "TransactionCanceledException", reasons=["ValidationError", None])
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    assert (status, body["status"]) == (200, "unprocessable")


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    ],
)
def test_a_failure_a_retry_can_cure_is_kept_apply_failed_and_answered_500(deliver, faults, tables, code):
    server_side = code in ("InternalServerError", "ServiceUnavailable")
    faults.fail("TransactWriteItems", code, status=500 if server_side else 400)
    raw = load_event_bytes("newInventoryCreated")
    status, body = deliver(raw)
    assert status == 500, body
    [kept] = boto3.client("dynamodb").scan(TableName=tables["DeliveryTable"], ConsistentRead=True)["Items"]
    assert kept["status"] == {"S": "applyFailed"}
    assert deliver(raw)[1]["status"] == "applied"


def test_a_transaction_cancelled_by_throttling_is_answered_500(deliver, faults):
    faults.fail("TransactWriteItems", "TransactionCanceledException", reasons=["ThrottlingError", None])
    assert deliver(load_event_bytes("newInventoryCreated"))[0] == 500


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=["connection", "read-timeout"],
)
def test_a_network_failure_is_answered_500(deliver, webhook, monkeypatch, error):
    def unreachable(*args, **kwargs):
        raise error

    monkeypatch.setattr(webhook.ingestor._inventories, "apply_together", unreachable)
    assert deliver(load_event_bytes("newInventoryCreated"))[0] == 500


def test_an_item_that_kept_changing_during_the_merge_is_answered_500(deliver, webhook, tables, monkeypatch):
    # Other writers won every round of the merge: the next attempt may well win, so ask for a redelivery.
    def contended(*args, **kwargs):
        raise InventoryWriteConflict("inventories kept changing during merge")

    raw = load_event_bytes("newInventoryCreated")
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", contended)
        status, body = deliver(raw)
    assert status == 500, body
    assert deliver(raw)[1]["status"] == "applied"
