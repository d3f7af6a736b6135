"""The outbox's translation: stream records of the resend and inventory tables -> CONTRACT section 9 events."""

from __future__ import annotations

import json

import pytest

from rh_common.adapters.dynamodb.stream_records import from_stream_record
from rh_common.domain import inventory, resend_errors
from rh_common.domain.published_events import UnreadableRecord
from tests.support.resend import SHIPMENT
from tests.support.streams import stream_record

CODES = frozenset({"ohd", "tbc"})
RESEND_DETAIL = {
    "resendRequestId",
    "status",
    "previousStatus",
    "resendId",
    "resendNumber",
    "trackingNumber",
    "returnInventoryIdList",
    "idempotencyKey",
    "lastError",
    "eventId",
}
PENDING = {
    "resendRequestId": "r-1",
    "status": "PENDING",
    "returnInventoryIdList": [30001, 30002],
    "idempotencyKey": "order-1001",
    "request": {"returnInventoryIdList": [30001, 30002], "resendShipment": SHIPMENT},
    "attempts": 0,
    "createdAt": "2025-03-03T08:15:42Z",
}
ITEM = {
    "returnInventoryId": 30001,
    "warehouseId": 2,
    "handlingCode": "ohd",
    "v_handlingCode": "v1",
    "handlingStatusCode": "pending",
    "v_handlingStatusCode": "v1",
    "inStock": True,
    "v_inStock": "v1",
    "lastVersion": "v1",
    "lastEventTime": "2025-03-03T08:15:42Z",
    "revision": 1,
}


def translate(record):
    return from_stream_record(record, CODES)


# ------------------------------------------------------------------ ResendStatusChanged


def test_a_request_s_first_event_has_no_previous_status_and_only_the_contract_fields():
    event = translate(stream_record(PENDING, event_id="first"))
    assert event.detail_type == "ResendStatusChanged"
    assert set(event.detail) == RESEND_DETAIL
    assert event.detail == {
        "resendRequestId": "r-1",
        "status": "PENDING",
        "previousStatus": None,
        "resendId": None,
        "resendNumber": None,
        "trackingNumber": None,
        "returnInventoryIdList": [30001, 30002],
        "idempotencyKey": "order-1001",
        "lastError": None,
        "eventId": "first",
    }
    # the image holds the shipment; the event none of it
    text = json.dumps(event.detail)
    assert not [value for value in SHIPMENT.values() if value and value in text]


def test_a_status_change_names_the_previous_status_and_carries_the_tracking_number():
    submitted = {**PENDING, "status": "IN_PROGRESS", "resendId": 77, "resendNumber": "RS-77", "attempts": 1}
    completed = {**submitted, "status": "COMPLETED", "trackingNumber": "1Z999"}
    event = translate(stream_record(completed, submitted, event_id="e-9"))
    assert (event.detail["previousStatus"], event.detail["status"]) == ("IN_PROGRESS", "COMPLETED")
    assert (event.detail["resendId"], event.detail["resendNumber"], event.detail["trackingNumber"]) == (
        77,
        "RS-77",
        "1Z999",
    )
    assert event.event_id == "e-9"


def test_a_write_that_leaves_the_status_alone_is_no_event():
    retried = {**PENDING, "attempts": 2, "lastError": {"detail": "HTTP 503"}, "nextAttemptAt": 1700000000}
    assert translate(stream_record(retried, PENDING)) is None
    assert translate(stream_record(None, PENDING)) is None  # a removal tells nobody anything


def test_return_helper_s_refusal_keeps_its_code_and_field_names_never_its_words():
    refused = {
        **PENDING,
        "status": "REJECTED",
        "attempts": 1,
        "lastError": {
            "errorCode": "VALIDATION_FAILED",
            "error": {"shipmentPhone": f"{SHIPMENT['shipmentPhone']} is not a phone number"},
            "detail": "soft error VALIDATION_FAILED",
        },
    }
    detail = translate(stream_record(refused, PENDING)).detail
    assert detail["lastError"] == {
        "errorCode": "VALIDATION_FAILED",
        "reason": "addressInvalid",  # a record written before reasons were stored: derived from its field
        "detail": "soft error VALIDATION_FAILED",
        "fields": ["shipmentPhone"],
    }
    # a request refused here (before anything went upstream) has our message and field names instead
    local = {
        **PENDING,
        "status": "REJECTED",
        "lastError": {"message": "resend request is not valid", "errors": [{"field": "x", "message": "bad 5550100"}]},
    }
    assert translate(stream_record(local)).detail["lastError"] == {
        "errorCode": None,
        "reason": "other",
        "message": "resend request is not valid",
        "fields": ["x"],
    }


# ------------------------------------------------------------------ InventoryChanged


def test_an_item_s_first_write_names_every_field_it_set():
    event = translate(stream_record(ITEM, key="returnInventoryId", event_id="i-1"))
    assert event.detail_type == "InventoryChanged"
    view = inventory.view(
        inventory.InventoryRecord(
            30001, {k: ITEM[k] for k in inventory.STATE_ATTRIBUTES if k in ITEM}, last_event_time=ITEM["lastEventTime"]
        ),
        CODES,
    )
    assert {k: v for k, v in event.detail.items() if k not in ("changed", "eventId")} == view
    assert event.detail["changed"] == [
        "warehouseId",
        "handlingCode",
        "handlingStatusCode",
        "inStock",
        "eligibleForResend",
        "lastEventTime",
    ]
    assert event.event_id == "i-1"


def test_a_view_field_change_is_named_with_what_it_implies():
    reserved = {**ITEM, "activeResendRequestId": "r-1", "revision": 2}
    event = translate(stream_record(reserved, ITEM, key="returnInventoryId"))
    assert event.detail["changed"] == ["activeResendRequestId", "eligibleForResend"]
    assert event.detail["activeResendRequestId"] == "r-1" and event.detail["eligibleForResend"] is False


def test_a_write_outside_the_view_is_no_event():
    # a late event lost every attribute: only the bookkeeping moved
    bookkeeping = {**ITEM, "revision": 5, "v_handlingCode": "v0"}
    assert translate(stream_record(bookkeeping, ITEM, key="returnInventoryId")) is None


# ------------------------------------------------------------------ unreadable records


@pytest.mark.parametrize(
    "record",
    [
        {"eventName": "INSERT", "dynamodb": {"Keys": {}}},  # no eventID
        {"eventID": "x", "eventName": "INSERT"},  # no dynamodb
        stream_record(PENDING) | {"dynamodb": {"Keys": {"resendRequestId": {"S": "r"}}}},  # KEYS_ONLY view
        stream_record({"cacheKey": "c"}, key="cacheKey"),  # another table
        stream_record({"resendRequestId": "r-2"}),  # a resend without a status
        stream_record({"returnInventoryId": "not a number"}, key="returnInventoryId"),
    ],
)
def test_a_record_that_cannot_be_read_raises_so_it_becomes_a_batch_item_failure(record):
    with pytest.raises(UnreadableRecord):
        translate(record)


def test_the_published_error_of_nothing_is_nothing():
    assert resend_errors.published(None) is None
