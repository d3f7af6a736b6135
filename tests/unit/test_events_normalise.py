"""Every event type in the contract's table, normalised to inventory facts."""

import json

import pytest

from rh_common.domain import webhook_events

T = "2024-05-02T02:59:27.8657445Z"
ARRIVED = {"arrivalEventTime": T}  # an arrival's eventTime: when Return Helper logged the item, failing better


def event(category, action, **body):
    return {"category": category, "action": action, "eventTime": T, **body}


def facts_of(payload):
    return {f.inventory_id: dict(f.values) for f in webhook_events.normalise(payload).inventories}


def test_new_inventory_with_string_ids_and_named_codes_is_in_stock():
    payload = event(
        "newInventoryCreated",
        "newInventoryCreated",
        returnInventory={
            "returnInventoryId": "20278",
            "warehouseId": 2,
            "rma": "RMA1",
            "sku": "SKU-9",
            "description": "Shoe",
            "handlingCode": "tbc",
            "handlingStatusCode": "pending",
        },
        shipment={"shipmentId": "1", "shipToWarehouseId": 2},
    )
    assert facts_of(payload) == {
        20278: {
            "warehouseId": 2,
            "rma": "RMA1",
            "sku": "SKU-9",
            "description": "Shoe",
            "handlingCode": "tbc",
            "handlingStatusCode": "pending",
            "inStock": True,
            "shipmentId": 1,
            "arrivalEventTime": T,
        }
    }


def test_numbers_and_names_give_the_same_facts():
    named = event(
        "rinv",
        "completeInventoryHandling",
        returnInventory={
            "returnInventoryId": "7",
            "warehouseId": "2",
            "handlingCode": "ohd",
            "handlingStatusCode": "completed",
        },
    )
    numbered = event(
        "rinv",
        "completeInventoryHandling",
        returnInventory={"returnInventoryId": 7, "warehouseId": 2, "handlingCode": 4, "handlingStatusCode": 2},
    )
    assert (
        facts_of(named)
        == facts_of(numbered)
        == {7: {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "completed"}}
    )


@pytest.mark.parametrize("code", ["rsd", "dis", "rtn", 3, 2, 1])
def test_completed_shipping_disposal_or_recall_handling_leaves_stock(code):
    payload = event(
        "rinv",
        "completeInventoryHandling",
        returnInventory={"returnInventoryId": 7, "warehouseId": 2, "handlingCode": code, "handlingStatusCode": 2},
    )
    assert facts_of(payload)[7]["inStock"] is False


def test_cancelled_handling_goes_back_to_pending():
    payload = event(
        "rinv",
        "cancelInventoryHandling",
        returnInventory={"returnInventoryId": 7, "warehouseId": 2, "handlingCode": 4, "handlingStatusCode": 1},
    )
    assert facts_of(payload)[7] == {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending"}


def test_shipment_arrival_v1_lists_items_in_stock_and_v2_lists_none():
    v1 = event(
        "rsl",
        "markShipmentArrive",
        shipment={"shipToWarehouseId": 2},
        returnInventoryList=[
            {"returnInventoryId": 1, "handlingCode": 0, "handlingStatusCode": 0},
            {"returnInventoryId": 2, "warehouseId": 3, "handlingCode": 0, "handlingStatusCode": 0},
        ],
    )
    assert facts_of(v1) == {
        1: {"warehouseId": 2, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True, **ARRIVED},
        2: {"warehouseId": 3, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True, **ARRIVED},
    }
    v2 = event("rsl", "markShipmentArrive", version="202407", shipment={"shipmentId": "9"})
    normalised = webhook_events.normalise(v2)
    assert normalised.handled and normalised.inventories == ()


def test_completed_resend_ships_its_items_whatever_their_stale_snapshot_says():
    payload = event(
        "resend",
        "updateResendStatus",
        resend={"resendId": 3588, "resendStatusCode": 3},
        resendShipmentList=[{"resendShipmentId": 1, "trackingNumber": "9400", "error": ""}],
        returnInventoryList=[
            {"returnInventoryId": 18148, "warehouseId": 2, "handlingCode": 4, "handlingStatusCode": 0}
        ],
    )
    normalised = webhook_events.normalise(payload)
    assert facts_of(payload) == {
        18148: {"warehouseId": 2, "handlingCode": "rsd", "handlingStatusCode": "completed", "inStock": False}
    }
    shipment = webhook_events.ShipmentReport(1, None, "9400", None, None, None, None)
    assert normalised.resend == webhook_events.ResendUpdate(3588, 3, "9400", None, (shipment,))


def test_failed_resend_keeps_the_snapshot_handling_and_carries_the_error():
    payload = event(
        "resend",
        "updateResendStatus",
        resend={"resendId": "3588", "resendStatusCode": 4},
        resendShipmentList=[{"trackingNumber": None, "error": json.dumps({"message": "Invalid address."})}],
        returnInventoryList=[
            {"returnInventoryId": 18148, "warehouseId": 2, "handlingCode": 4, "handlingStatusCode": 0}
        ],
    )
    normalised = webhook_events.normalise(payload)
    assert facts_of(payload)[18148] == {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending"}
    assert normalised.resend.status_code == 4
    assert "Invalid address." in normalised.resend.error


def test_deprecated_tracking_number_event_updates_only_the_resend():
    payload = event("resend", "updateResendTrackingNumber", resend={"resendId": 5}, trackingNumber="1Z")
    normalised = webhook_events.normalise(payload)
    assert normalised.inventories == ()
    assert normalised.resend == webhook_events.ResendUpdate(5, None, "1Z", None)


def test_vas_updates_apply_only_where_an_inventory_is_named():
    payload = event(
        "rrliv",
        "vasUpdated",
        updateVasList=[
            {"returnRequestLineItemVasId": 1, "vasStatusCode": 1},
            {"returnRequestLineItemVasId": 2, "returnInventoryId": 44, "vasStatusCode": "pending"},
            {"returnRequestLineItemVasId": 3, "returnInventoryId": "45", "vasStatusCode": "SUCCESSFUL"},
        ],
    )
    assert facts_of(payload) == {44: {"pendingVas": True}, 45: {"pendingVas": False}}


def test_split_line_items_create_new_inventories_in_stock():
    payload = event(
        "lineItemVasReturnInventoryLineItem",
        "splitLineItem",
        vasStatusCode="SUCCESSFUL",
        splitLineItemAndReturnInventoryList=[
            {"returnInventory": {"returnInventoryId": 91, "warehouseId": 2, "handlingCode": 0, "handlingStatusCode": 0}}
        ],
    )
    assert facts_of(payload) == {
        91: {
            "warehouseId": 2,
            "handlingCode": "tbc",
            "handlingStatusCode": "pending",
            "inStock": True,
            "pendingVas": False,
            **ARRIVED,
        }
    }


def test_recall_puts_listed_items_under_another_workflow():
    payload = event(
        "recall",
        "recallUpdateStatus",
        recallUpdateTypeStatus="in-transit",
        recall={"recallId": 1, "recallInventoryList": [{"returnInventoryId": 5}, {"returnInventoryId": "6"}]},
    )
    assert facts_of(payload) == {5: {"otherWorkflow": "recall"}, 6: {"otherWorkflow": "recall"}}


def test_sku_update_changes_only_the_sku():
    payload = event(
        "userUpdateReturnInventorySku",
        "userUpdateReturnInventorySku",
        returnInventory={
            "returnInventoryId": 8,
            "warehouseId": 2,
            "sku": "NEW",
            "handlingCode": "rtn",
            "handlingStatusCode": "completed",
        },
    )
    assert facts_of(payload) == {8: {"warehouseId": 2, "sku": "NEW"}}


def test_unknown_types_are_not_handled_but_readable():
    normalised = webhook_events.normalise(event("labelGenerated", "labelGenerated", label={"shipmentId": 1}))
    assert not normalised.handled
    assert normalised.inventories == ()


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"action": "x", "eventTime": T},
        {"category": "rinv", "action": "completeInventoryHandling", "eventTime": "not a time"},
        event("rinv", "completeInventoryHandling", returnInventory={"returnInventoryId": "x"}),
        event("rinv", "completeInventoryHandling", returnInventory={"returnInventoryId": 1, "handlingCode": 99}),
        event("newInventoryCreated", "newInventoryCreated"),
    ],
)
def test_unreadable_events_are_unprocessable(payload):
    with pytest.raises(webhook_events.UnprocessableEvent):
        webhook_events.normalise(payload)


def test_notification_id_is_kept_for_deduplication():
    assert webhook_events.normalise(event("x", "y", notificationId="01HXYZ")).notification_id == "01HXYZ"


def test_an_arrivals_photos_are_its_image_urls_and_an_entry_without_one_is_left_out():
    payload = event(
        "newInventoryCreated",
        "newInventoryCreated",
        returnInventory={
            "returnInventoryId": "5",
            "warehouseId": 2,
            "imageList": [{"imageUrl": "https://files.example.com/a.jpg", "imageKey": "a.jpg"}, {"imageKey": "b.jpg"}],
        },
    )
    assert facts_of(payload)[5]["imageUrls"] == ["https://files.example.com/a.jpg"]


@pytest.mark.parametrize(
    "row",
    [
        {"imageList": [{"imageUrl": 7}]},
        {"imageList": "a.jpg"},
        {"weight": "620"},
        {"weight": 620, "dimension1": 1, "dimension2": True, "dimension3": 2},
        {"createOn": "yesterday"},
    ],
)
def test_an_arrival_whose_details_have_a_shape_upstream_never_sends_is_unprocessable(row):
    arrival = {"returnInventoryId": "5", "warehouseId": 2, **row}
    payload = event("newInventoryCreated", "newInventoryCreated", returnInventory=arrival)
    with pytest.raises(webhook_events.UnprocessableEvent):
        webhook_events.normalise(payload)


def test_fraud_flags_come_from_the_line_item_of_each_listed_inventory():
    v1 = event(
        "rsl",
        "markShipmentArrive",
        shipment={"shipToWarehouseId": 2, "sellerReferenceNumber": "S-1"},
        returnRequest={"returnRequestId": 9, "sellerReferenceNumber": "ORDER-9"},
        returnInventoryList=[
            {"returnInventoryId": 1, "returnRequestLineItemId": 11, "handlingCode": 0, "handlingStatusCode": 0},
            {"returnInventoryId": 2, "returnRequestLineItemId": "12", "handlingCode": 0, "handlingStatusCode": 0},
        ],
        lineItems=[
            {"returnRequestLineItemId": "11", "isFraudulent": True, "fraudReasonCode": "serialMismatch"},
            {"returnRequestLineItemId": 12, "isFraudulent": False, "fraudReasonCode": None},
        ],
    )
    facts = facts_of(v1)
    assert facts[1]["fraudFlag"] == {"isFraudulent": True, "reasonCode": "serialMismatch"}
    assert facts[2]["fraudFlag"] == {"isFraudulent": False, "reasonCode": None}
    assert facts[1]["sellerReferenceNumber"] == "ORDER-9"  # the return request's, over the shipment's
    with pytest.raises(webhook_events.UnprocessableEvent):
        webhook_events.normalise({**v1, "lineItems": [{"returnRequestLineItemId": 11, "isFraudulent": "yes"}]})
