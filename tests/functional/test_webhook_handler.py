"""POST /webhooks/returnhelper through the real handler, against moto, with real signatures."""

import base64
import copy
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from rh_common.domain import signature, timestamps
from rh_common.domain.deliveries import DeliveryOutcome
from tests.events.loader import load_event, load_event_bytes
from tests.support.resend import WEBHOOK_URL as URL


def scan(table):
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


def inventory(tables, inventory_id):
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=tables["InventoryTable"], Key={"returnInventoryId": {"N": str(inventory_id)}})
        .get("Item")
    )
    return item


def test_a_signed_arrival_is_stored_and_applied(deliver, tables):
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    assert (status, body["status"]) == (200, "applied")
    item = inventory(tables, 20251)
    assert item["handlingCode"] == {"S": "tbc"} and item["inStock"] == {"BOOL": True}
    assert item["warehouseId"] == {"N": "2"}
    [delivery] = scan(tables["DeliveryTable"])
    assert delivery["status"] == {"S": "accepted"}
    assert delivery["body"]["B"] == load_event_bytes("newInventoryCreated")
    assert int(delivery["expiresAt"]["N"]) > int(delivery["receivedAt"]["N"])


def test_a_duplicate_delivery_is_acknowledged_and_dropped(deliver, tables):
    raw = load_event_bytes("newInventoryCreated")
    deliver(raw)
    status, body = deliver(raw, base64_body=False, header_case=str.title)
    assert (status, body["status"]) == (200, "duplicate")
    assert len(scan(tables["DeliveryTable"])) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        {"key": base64.b64encode(b"someone else").decode()},
        {"url": "https://hooks.example.com/v1/webhooks/other"},
        {"skew": -905},
        {"skew": +905},
    ],
    ids=["wrong-key", "wrong-url", "stale", "future"],
)
def test_bad_signatures_and_timestamps_get_401_and_nothing_is_stored(deliver, tables, tamper):
    if "skew" in tamper:  # computed here, not at collection time, so the clock is the test's
        tamper = {"timestamp": timestamps.upstream_iso(datetime.now(UTC) + timedelta(seconds=tamper["skew"]))}
    status, body = deliver(load_event_bytes("newInventoryCreated"), **tamper)
    assert status == 401
    assert body["message"] and body["errors"][0]["field"] is None
    assert scan(tables["DeliveryTable"]) == [] and scan(tables["InventoryTable"]) == []


def test_missing_headers_get_401(webhook, lambda_context, tables):
    event = copy.deepcopy(load_event("apigw_webhook_post"))
    event["headers"] = {"content-type": "application/json"}
    event["multiValueHeaders"] = {"content-type": ["application/json"]}
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 401
    assert scan(tables["DeliveryTable"]) == []


def test_a_re_serialised_body_no_longer_verifies(webhook, lambda_context, tables, signing_key):
    raw = load_event_bytes("newInventoryCreated")
    event = copy.deepcopy(load_event("apigw_webhook_post"))
    event["headers"] = signature.signed_headers(signing_key, URL, raw)
    event["isBase64Encoded"] = False
    event["body"] = json.dumps(json.loads(raw))
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 401


def test_malformed_json_with_a_valid_signature_is_kept_for_inspection(deliver, tables):
    status, body = deliver(b'{"category": "rinv", "action": ')
    assert (status, body["status"]) == (200, "unprocessable")
    [delivery] = scan(tables["DeliveryTable"])
    assert delivery["status"] == {"S": "unprocessable"} and delivery["body"]["B"] == b'{"category": "rinv", "action": '
    assert scan(tables["InventoryTable"]) == []


def test_an_unknown_event_type_is_kept_and_acknowledged(deliver, tables):
    status, body = deliver(load_event_bytes("labelGenerated"))
    assert (status, body["status"]) == (200, "ignored")
    assert len(scan(tables["DeliveryTable"])) == 1 and scan(tables["InventoryTable"]) == []


def test_a_key_listed_next_to_the_current_one_is_accepted_while_rotating(deliver, secret, signing_key):
    new_key = base64.b64encode(b"the next signing key").decode()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=secret,
        SecretString=json.dumps({"apiKey": "k", "apiToken": "t", "signingKeys": [new_key, signing_key]}),
    )
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # in AWS the cache simply expires (max_age)
    assert deliver(load_event_bytes("newInventoryCreated"), key=new_key)[0] == 200
    assert deliver(load_event_bytes("rinv_completeInventoryHandling"), key=signing_key)[0] == 200


def test_without_a_configured_url_the_execute_api_url_of_the_request_is_signed(
    load_function, lambda_context, signing_key
):
    webhook = load_function("WebhookFunction", WEBHOOK_PUBLIC_URL="")
    raw = load_event_bytes("newInventoryCreated")
    event = copy.deepcopy(load_event("apigw_webhook_post"))
    context = event["requestContext"]
    url = f"https://{context['domainName']}{context['path']}"
    event["headers"] = signature.signed_headers(signing_key, url, raw)
    event["body"], event["isBase64Encoded"] = raw.decode(), False
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 200


def test_when_the_apply_fails_the_delivery_is_redelivered_and_then_applied(deliver, tables, template):
    # GIVEN the inventory table is unavailable
    client = boto3.client("dynamodb")
    client.delete_table(TableName=tables["InventoryTable"])
    raw = load_event_bytes("newInventoryCreated")
    # WHEN the delivery arrives: it is kept, but the answer asks for a redelivery
    status, _ = deliver(raw)
    assert status == 500
    [delivery] = scan(tables["DeliveryTable"])
    assert delivery["status"] == {"S": "applyFailed"}
    # THEN once the table is back, Return Helper's redelivery is applied rather than dropped
    spec = next(s for s in template.tables() if s.logical_id == "InventoryTable")
    client.create_table(**spec.create_kwargs)
    status, body = deliver(raw)
    assert (status, body["status"]) == (200, "applied")
    assert inventory(tables, 20251)["inStock"] == {"BOOL": True}


def test_a_delivery_that_cannot_be_stored_gets_a_5xx(deliver, tables):
    boto3.client("dynamodb").delete_table(TableName=tables["DeliveryTable"])
    status, body = deliver(load_event_bytes("newInventoryCreated"))
    assert status == 503 and "message" in body


def test_every_handled_sample_event_is_applied_whatever_the_order(deliver, tables):
    # GIVEN the story told by events/ (arrival, handling, resend, sku ...), sent newest first
    names = [
        "newInventoryCreated",
        "rsl_markShipmentArrive_v1",
        "rsl_assignUnknown",
        "rinv_completeInventoryHandling",
        "resend_updateResendStatus_completed",
        "userUpdateReturnInventorySku",
        "recall_recallUpdateStatus",
        "lineItemVasReturnInventoryLineItem_splitLineItem",
        "notifyUserRmaSwapped",
        "warehouseUpdateWarehouseRemarks",
        "completeRecalibrate",
        "rsl_assignUnknown_photos",
    ]
    for name in reversed(names):
        status, body = deliver(load_event_bytes(name))
        assert (status, body["status"]) == (200, "applied"), name
    assert len(scan(tables["DeliveryTable"])) == len(names)
    assert scan(tables["InventoryTable"])


def test_every_answer_the_webhook_gives_is_counted(webhook):
    assert set(webhook.METRIC_OF) == set(DeliveryOutcome)
