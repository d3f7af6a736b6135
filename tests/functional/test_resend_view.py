"""The resend view through the merchant API (CONTRACT sections 3 and 11): the newest report's shipments,
the quoted fee, lastError with its reason; and records and answers a deployed stack stored before them."""

from __future__ import annotations

import boto3

from rh_common.adapters.dynamodb import base
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.services.resend_service import request_id_for
from tests.events.loader import load_event
from tests.support.resend import resend_body

# The failed sample's shipment, as Return Helper sends it (its numbers as JSON numbers).
SAMPLE = load_event("resend_updateResendStatus_failed")["resendShipmentList"][0]
NUMBERS = {name: SAMPLE[name] for name in ("resendShipmentId", "warehouseId", "cost", "costCurrencyCode")}


def test_the_view_shows_the_newest_report_s_shipments_with_ids_as_integers_and_numbers_as_sent(api, items, report):
    ids = items(871)
    status, created = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "view-871"})
    assert status == 201 and (created["shipments"], created["quotedFee"]) == ([], None)
    report(created["resendId"], 2, ids, 10, shipment={**NUMBERS, "chargeableWeight": 920.5})
    report(created["resendId"], 4, ids, 20, error=SAMPLE["error"], shipment={**NUMBERS, "cost": 12.07})
    report(created["resendId"], 2, ids, 15, shipment={**NUMBERS, "cost": 99.99})  # late: older than the failure
    status, view = api("GET", f"/resends/{created['resendRequestId']}")
    assert status == 200 and view["status"] == "FAILED"
    assert view["shipments"] == [
        {
            "resendShipmentId": 3595,
            "warehouseId": 2,
            "trackingNumber": None,
            "cost": 12.07,
            "currencyCode": "USD",
            "chargeableWeight": None,  # the newest report did not say
            "error": '{"message":"Invalid address."}',
        }
    ]
    assert view["lastError"] == {
        "errorCode": None,
        "detail": "Return Helper reported the resend failed: Invalid address.",
        "reason": "addressInvalid",
    }


def test_a_record_and_an_answer_stored_before_these_fields_still_read(api, tables):
    # GIVEN what a deployed stack wrote: a FAILED record and a keyed SUBMITTED one with its stored answer
    failed = {
        "resendRequestId": "old-failed",
        "status": "FAILED",
        "returnInventoryIdList": [881],
        "attempts": 1,
        "lastError": {"detail": "Return Helper reported the resend failed", "error": '{"message":"Invalid address."}'},
        "createdAt": "2025-03-05T02:41:06Z",
        "updatedAt": "2025-03-05T02:59:27Z",
    }
    body = resend_body([882])
    old_view = {
        "resendRequestId": request_id_for("old-key"),
        "status": "SUBMITTED",
        "returnInventoryIdList": [882],
        "resendId": 3601,
        "resendNumber": "RSD-OLD",
        "resendStatusCode": 0,
        "trackingNumber": None,
        "attempts": 1,
        "lastError": None,
        "idempotencyKey": "old-key",
        "createdAt": "2025-03-05T02:41:06Z",
        "updatedAt": "2025-03-05T02:41:07Z",
    }
    submitted = {
        **{k: v for k, v in old_view.items() if v is not None},
        "fingerprint": CreateResendRequest.model_validate(body).fingerprint(),
        "answer": {"outcome": "submitted", "body": old_view},
    }
    dynamodb = boto3.client("dynamodb")
    for record in (failed, submitted):
        dynamodb.put_item(TableName=tables["ResendRequestTable"], Item=base.to_item(record))
    # WHEN they are read, and the keyed request is sent again
    status, view = api("GET", "/resends/old-failed")
    replay_status, replay = api("POST", "/resends", body, headers={"Idempotency-Key": "old-key"})
    # THEN no report's shipments, no quote known, the reason derived from what the record holds
    assert status == 200 and (view["shipments"], view["quotedFee"], view["approvalReason"]) == ([], None, None)
    assert view["lastError"]["reason"] == "addressInvalid"
    assert replay_status == 201 and replay == {**old_view, "shipments": [], "quotedFee": None, "approvalReason": None}
