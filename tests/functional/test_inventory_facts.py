"""Everything Return Helper says about an item (contract section 11): Return Helper's documented payloads, with
their real types, signed and posted through the webhook handler, then read through GET /inventories/{id}."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rh_common.domain import timestamps, webhook_events
from tests.events.loader import load_event, load_event_bytes
from tests.functional.test_merchant_api_inventories import get_inventory


@pytest.fixture
def api(load_function, lambda_context):
    module = load_function("MerchantApiFunction")

    def call(path, query=None, path_parameters=None, resource=None):
        event = copy.deepcopy(load_event("apigw_get_inventory"))
        event.update(path=path, resource=resource or path, pathParameters=path_parameters)
        event.update(queryStringParameters=query, multiValueQueryStringParameters=None)
        response = module.lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"])

    return call


@pytest.fixture
def post(deliver):
    """Deliver a sample (a name in events/) or a payload, expecting it applied."""

    def send(sample):
        raw = load_event_bytes(sample) if isinstance(sample, str) else json.dumps(sample).encode()
        status, body = deliver(raw)
        assert (status, body["status"]) == (200, "applied"), (sample, body)

    return send


def view_of(api, inventory_id):
    status, view = get_inventory(api, inventory_id)
    assert status == 200, view
    return view


def test_an_arrival_with_photos_and_a_seller_reference_shows_them(api, post):
    # GIVEN Return Helper's assignUnknown shape: ids as JSON numbers, weights as floats, photos per line item
    post("rsl_assignUnknown_photos")
    # THEN the items read with what the arrival said, each from where the contract says
    headphones = view_of(api, 20290)
    assert {name: headphones[name] for name in SECTION_11} == {
        "returnRequestId": 70330,
        "shipmentId": 40140,
        "sellerReferenceNumber": "ORDER-1002",  # the return request's, not the line item's UNL...
        "inboundTrackingNumber": "TEST-TRACK-0000040140",  # the inbound label's: the shipment has none here
        "imageUrls": [
            "https://files.example.com/images/returns/202503/USE-2-250305-D00004-11-front.jpg",
            "https://files.example.com/images/returns/202503/USE-2-250305-D00004-11-box.jpg",
        ],
        "warehouseRemarks": None,
        "fraudFlag": {"isFraudulent": False, "reasonCode": None},
        "weight": 450.0,
        "dimensions": [22.0, 15.5, 4.0],
        "loggedAt": "2025-03-05T10:12:40.4415000Z",  # returnInventory.createOn, not the eventTime nor our clock
        "workflow": None,
    }
    assert headphones["eligibleForResend"] is True
    # AND the line item flagged as fraudulent makes its item ineligible
    watch = view_of(api, 20291)
    assert watch["fraudFlag"] == {"isFraudulent": True, "reasonCode": "serialMismatch"}
    assert watch["imageUrls"] == ["https://files.example.com/images/returns/202503/USE-2-250305-D00004-12-serial.jpg"]
    assert (watch["inStock"], watch["handlingCode"], watch["eligibleForResend"]) == (True, "tbc", False)


SECTION_11 = (
    "returnRequestId",
    "shipmentId",
    "sellerReferenceNumber",
    "inboundTrackingNumber",
    "imageUrls",
    "warehouseRemarks",
    "fraudFlag",
    "weight",
    "dimensions",
    "loggedAt",
    "workflow",
)


def test_new_inventory_created_with_string_ids_gives_integer_ids_photos_and_measures(api, post):
    post("newInventoryCreated")
    view = view_of(api, 20251)
    assert (view["returnRequestId"], view["shipmentId"]) == (70312, 40117)  # "70312", "40117" in the payload
    assert view["inboundTrackingNumber"] == "TEST-TRACK-0000040117"
    assert view["imageUrls"] == ["https://files.example.com/images/returns/202503/USE-2-250303-D00007-31-a1b2c3d4.jpg"]
    assert (view["weight"], view["dimensions"]) == (620.0, [35.0, 25.0, 8.0])
    assert view["loggedAt"] == "2025-03-03T08:15:33.8896800Z"
    assert view["sellerReferenceNumber"] is None  # this shape carries none (the v2 arrival's shipment does)


def test_the_remarks_event_sets_the_remarks_and_the_return_requests_seller_reference(api, post):
    post("newInventoryCreated")
    post("warehouseUpdateWarehouseRemarks")
    view = view_of(api, 20251)
    assert view["warehouseRemarks"] == "tag missing, item as new"
    assert view["sellerReferenceNumber"] == "RR250302-0000008"  # the return request's, over the line item's RL...
    # its stale handling snapshot is not taken: the arrival's stands
    assert (view["handlingCode"], view["inStock"]) == ("tbc", True)


def test_remarks_cleared_upstream_read_as_null():
    payload = load_event("warehouseUpdateWarehouseRemarks")
    payload["returnInventory"]["warehouseRemarks"] = None
    [facts] = webhook_events.normalise(payload).inventories
    assert facts.values["warehouseRemarks"] is None


def test_a_recalibration_sets_weight_and_dimensions_from_the_published_floats(api, post):
    post("newInventoryCreated")
    post("completeRecalibrate")
    view = view_of(api, 20251)
    assert (view["weight"], view["dimensions"]) == (620.0, [35.0, 28.0, 5.5])


def swap(inventory_id, new_rma, event_time):
    payload = load_event("notifyUserRmaSwapped")
    payload["payload"].update(returnInventoryId=str(inventory_id), newRma=new_rma)
    return {**payload, "eventTime": event_time}


def test_an_rma_swap_gives_the_item_its_new_rma_whatever_the_order(api, post):
    # GIVEN the v1 arrival of 20278/20279 and Return Helper's swap sample for 20279 (its id the string "20279")
    post("notifyUserRmaSwapped")  # the swap (11:40) arrives before the arrival (01:36) it corrects
    post("rsl_markShipmentArrive_v1")
    assert view_of(api, 20279)["rma"] == "USE-2-250303-D00002-14"
    # AND an older swap delivered late does not beat the newer one
    post(swap(20279, "USE-2-250303-D00002-99", "2025-03-03T10:00:00.0000000Z"))
    assert view_of(api, 20279)["rma"] == "USE-2-250303-D00002-14"
    # AND a newer one does
    post(swap(20279, "USE-2-250303-D00002-15", "2025-03-03T12:00:00.0000000Z"))
    assert view_of(api, 20279)["rma"] == "USE-2-250303-D00002-15"


@pytest.mark.parametrize("bad", [{"newRma": None}, {"newRma": 7}, {"returnInventoryId": "x"}])
def test_a_swap_without_a_readable_new_rma_or_id_is_kept_as_unprocessable(deliver, bad):
    payload = load_event("notifyUserRmaSwapped")
    payload["payload"].update(bad)
    status, body = deliver(json.dumps(payload).encode())
    assert (status, body["status"]) == (200, "unprocessable")


def test_without_a_create_on_an_arrival_is_logged_at_its_event_time(api, post):
    payload = load_event("newInventoryCreated")
    payload["returnInventory"]["createOn"] = "0001-01-01T00:00:00"  # upstream's "unset"
    post(payload)
    assert view_of(api, 20251)["loggedAt"] == timestamps.sortable(payload["eventTime"])


# ------------------------------------------------------------------ any arrival order converges

_fresh_ids = iter(range(900_000, 1_000_000))


def _for_item(inventory_id):
    """The story of one item, each payload as Return Helper documents it, every id rewritten to `inventory_id`."""
    arrival = load_event("newInventoryCreated")
    arrival["returnInventory"]["returnInventoryId"] = str(inventory_id)
    remarks = load_event("warehouseUpdateWarehouseRemarks")
    remarks["returnInventory"]["returnInventoryId"] = inventory_id
    recalibrated = load_event("completeRecalibrate")
    recalibrated["recalibrateSupplement"]["returnInventoryId"] = inventory_id
    sku = load_event("userUpdateReturnInventorySku")
    sku["returnInventory"]["returnInventoryId"] = inventory_id
    swapped = swap(inventory_id, "USE-2-250303-D00007-32", "2025-03-06T05:00:00.0000000Z")  # the newest
    older_swap = swap(inventory_id, "USE-2-250303-D00007-30", "2025-03-03T08:30:00.0000000Z")
    relisted = load_event("rsl_assignUnknown_photos")  # a second arrival of the same item, later, photos and all
    relisted["returnInventoryList"] = relisted["returnInventoryList"][1:]
    relisted["returnInventoryList"][0]["returnInventoryId"] = inventory_id
    return [arrival, remarks, recalibrated, sku, swapped, older_swap, relisted]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(7)))
def test_the_view_is_the_same_whatever_order_the_deliveries_arrive_in(api, post, order):
    # GIVEN the same story for two items: one told in eventTime order, one in the drawn order
    in_order, shuffled = next(_fresh_ids), next(_fresh_ids)
    for payload in sorted(_for_item(in_order), key=lambda p: timestamps.sortable(p["eventTime"])):
        post(payload)
    story = _for_item(shuffled)
    for index in order:
        post(story[index])
    # THEN both read the same, every section 11 fact included
    expected, got = view_of(api, in_order), view_of(api, shuffled)
    assert {**got, "returnInventoryId": in_order} == expected
    assert expected["rma"] == "USE-2-250303-D00007-32" and expected["fraudFlag"]["isFraudulent"] is True
