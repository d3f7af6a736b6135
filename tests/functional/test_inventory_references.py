"""Look-ups by reference (GET /inventories?rma=...) and the consolidation workflow, through the real handlers
against moto: the webhook, the inventory and reference tables' streams read into InventoryReferenceFunction
(with the template's filters), and the merchant API.
"""

from __future__ import annotations

import json

import boto3
import pytest

from local.stream_poller import RecordFilter
from ops import references as ops_references
from rh_common.adapters.dynamodb import base
from tests.events.loader import load_event, load_event_bytes
from tests.support.call_counts import Calls
from tests.support.inventory_seed import seed
from tests.support.resend import handler_caller
from tests.support.streams import StreamReader

ELIGIBLE = {"warehouseId": 2, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True}
REFERENCES = {
    "rma": "USE-2-250303-D00011-44",
    "sku": "TEST-HOODIE-GRY-L",
    "sellerReferenceNumber": "order-1001",
    "returnRequestId": "70312",
    "inboundTrackingNumber": "9400100000000000000001",
}


@pytest.fixture
def api(load_function, lambda_context):
    return handler_caller(load_function("MerchantApiFunction"), lambda_context)


@pytest.fixture
def settle(load_function, lambda_context, tables, template):
    """Deliver both streams to InventoryReferenceFunction, as its event source mappings would (the template's
    filters applied), until nothing new is written: returns every batch it answered."""
    module = load_function("InventoryReferenceFunction")
    sources = [s for s in template.dynamodb_event_sources() if s.function_id == "InventoryReferenceFunction"]
    readers = [(StreamReader(tables[s.table_id]), RecordFilter(s.filter_patterns)) for s in sources]
    assert sorted(s.table_id for s in sources) == ["InventoryReferenceTable", "InventoryTable"]

    def run(*, again: bool = False) -> list[dict]:
        answers, delivered = [], []
        for _ in range(10):
            busy = False
            for reader, record_filter in readers:
                records = [r for r in reader.read()["Records"] if record_filter.passes(r)]
                if records:
                    busy = True
                    delivered.append(records)
                    answers.append(module.lambda_handler({"Records": records}, lambda_context))
            if not busy:
                break
        if again:  # every record delivered once more, as after a retried batch
            answers += [module.lambda_handler({"Records": records}, lambda_context) for records in delivered]
        return answers

    return run


def rows(tables) -> set[tuple[str, int]]:
    items = boto3.client("dynamodb").scan(TableName=tables["InventoryReferenceTable"])["Items"]
    return {(item["ref"]["S"], int(item["returnInventoryId"]["N"])) for item in items}


def ids(body) -> list[int]:
    return [item["returnInventoryId"] for item in body["items"]]


# ------------------------------------------------------------------ the rows


def test_each_reference_finds_the_item_and_a_changed_rma_is_found_by_the_new_one_only(store, settle, api, tables):
    # GIVEN an item with every reference, and its rows kept from the stream
    seed(store, 20251, {**ELIGIBLE, **REFERENCES})
    assert settle() == [{"batchItemFailures": []}]
    # WHEN each reference is looked up / THEN the item answers, as the inventory view
    for name, value in REFERENCES.items():
        status, body = api("GET", "/inventories", query={name: value})
        assert (status, ids(body), body["nextToken"]) == (200, [20251], None), name
        assert body["items"][0][name if name in ("rma", "sku") else "returnInventoryId"] is not None
    # WHEN the rma changes (a newer fact), the batch redelivered once more
    seed(store, 20251, {"rma": "USE-2-250303-D00011-45"}, "2025-03-07T01:00:00.0000000Z", "swap")
    assert all(answer == {"batchItemFailures": []} for answer in settle(again=True))
    # THEN the old row is gone, the new one answers, and the other rows are as they were
    assert api("GET", "/inventories", query={"rma": REFERENCES["rma"]}) == (200, {"items": [], "nextToken": None})
    status, body = api("GET", "/inventories", query={"rma": "USE-2-250303-D00011-45"})
    assert (status, ids(body), body["items"][0]["rma"]) == (200, [20251], "USE-2-250303-D00011-45")
    expected = {(f"{name}#{value}", 20251) for name, value in {**REFERENCES, "rma": "USE-2-250303-D00011-45"}.items()}
    # and, eligible, it is in the stock index (contract section 12) under its SKU
    assert rows(tables) == expected | {(f"stock#{REFERENCES['sku']}", 20251)}


def test_a_return_request_id_is_found_whether_stored_as_a_string_or_a_number(store, settle, api):
    seed(store, 20251, {**ELIGIBLE, "returnRequestId": "70312"})
    seed(store, 20252, {**ELIGIBLE, "returnRequestId": 70312})
    settle()
    status, body = api("GET", "/inventories", query={"returnRequestId": "70312"})
    assert (status, ids(body)) == (200, [20251, 20252])


def test_a_row_older_than_its_item_never_answers_a_wrong_item(store, settle, api, tables):
    # GIVEN a row whose item has since changed, and whose change has not reached the rows yet
    seed(store, 20251, {**ELIGIBLE, "sku": "SKU-OLD"})
    settle()
    seed(store, 20251, {"sku": "SKU-NEW"}, "2025-03-07T01:00:00.0000000Z", "later")
    # WHEN the old value is looked up before the stream is read / THEN the item is not answered
    assert api("GET", "/inventories", query={"sku": "SKU-OLD"}) == (200, {"items": [], "nextToken": None})
    assert ("sku#SKU-OLD", 20251) in rows(tables)


# ------------------------------------------------------------------ the look-up route


def test_a_look_up_is_one_query_and_one_batch_read_never_a_scan(store, settle, api, monkeypatch):
    for inventory_id in (20251, 20252, 20253):
        seed(store, inventory_id, {**ELIGIBLE, "sku": "SKU-1"})
    settle()
    calls = Calls(monkeypatch, "http://upstream.invalid")
    status, body = api("GET", "/inventories", query={"sku": "SKU-1"})
    assert (status, ids(body)) == (200, [20251, 20252, 20253])
    assert calls.dynamodb == ["Query", "BatchGetItem"]
    # an unknown value: the one Query, nothing to read
    calls.reset()
    assert api("GET", "/inventories", query={"sellerReferenceNumber": "nobody"}) == (
        200,
        {"items": [], "nextToken": None},
    )
    assert calls.dynamodb == ["Query"]


def test_look_ups_page_with_next_token_and_refuse_another_look_up_s_token(store, settle, api):
    for inventory_id in (20251, 20252, 20253):
        seed(store, inventory_id, {**ELIGIBLE, "sku": "SKU-1", "rma": f"R-{inventory_id}"})
    settle()
    status, first = api("GET", "/inventories", query={"sku": "SKU-1", "limit": "2"})
    assert (status, ids(first)) == (200, [20251, 20252]) and first["nextToken"]
    status, rest = api("GET", "/inventories", query={"sku": "SKU-1", "limit": "2", "nextToken": first["nextToken"]})
    assert (status, ids(rest), rest["nextToken"]) == (200, [20253], None)
    for query in ({"sku": "SKU-2"}, {"rma": "R-20251"}, {"warehouseId": "2"}):
        status, body = api("GET", "/inventories", query={**query, "nextToken": first["nextToken"]})
        assert (status, [e["field"] for e in body["errors"]]) == (422, ["nextToken"]), query
    status, body = api("GET", "/inventories", query={"sku": "SKU-1", "nextToken": "not-a-token"})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["nextToken"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"rma": "R-1", "sku": "S-1"}, "sku"),
        ({"warehouseId": "2", "sellerReferenceNumber": "order-1001"}, "sellerReferenceNumber"),
        ({}, "warehouseId"),
        ({"rma": "R-1", "eligible": "true"}, "eligible"),
        ({"returnRequestId": "abc"}, "returnRequestId"),
        ({"returnRequestId": "0"}, "returnRequestId"),
        ({"sku": ""}, "sku"),
        ({"inboundTrackingNumber": "x" * 1025}, "inboundTrackingNumber"),
        ({"sku": "R-\ud800"}, "sku"),  # not text: a lone surrogate
    ],
)
def test_a_look_up_takes_exactly_one_selector_with_a_value_else_422_naming_the_field(api, tables, query, field):
    status, body = api("GET", "/inventories", query=query)
    assert status == 422, body
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_value_over_the_row_limit_finds_nothing_without_a_query(api, tables, monkeypatch):
    calls = Calls(monkeypatch, "http://upstream.invalid")
    assert api("GET", "/inventories", query={"sku": "é" * 1000}) == (200, {"items": [], "nextToken": None})
    assert calls.dynamodb == []


# ------------------------------------------------------------------ consolidate shipping


def packed(order_id, inventory_ids, event_time, *, shipped=False, notification="n-packed"):
    """consolidateShippingOrderInventoryAllPacked (or, shipped, consolidateShippingShipmentSent) for these items."""
    status = "SHIPPED" if shipped else "PACKED"
    box = {
        "consolidateShippingShipmentBoxId": "01JNQ9B0M3C0NS011DAT10NB0X",
        "boxNumber": "1",
        "consolidateShippingShipmentBoxStatus": "SHIPPED" if shipped else "IN_PROGRESS",
        "consolidateShippingInventoryList": [
            {"returnInventoryId": i, "rma": f"R-{i}", "consolidateShippingInventoryStatus": status}
            for i in inventory_ids
        ],
    }
    if shipped:
        payload = load_event("consolidateShippingShipmentSent")
        payload["shipment"].update(consolidateShippingOrderId=order_id, boxList=[box])
    else:
        payload = load_event("consolidateShippingOrderInventoryAllPacked")
        payload["order"].update(consolidateShippingOrderId=order_id)
        payload["order"]["shipmentList"][0]["boxList"] = [box]
    payload.update(eventTime=event_time, notificationId=notification)
    return json.dumps(payload).encode()


def cancelled(order_id, event_time, notification="n-cancelled"):
    payload = load_event("consolidateShippingOrderCancelled")
    payload["order"]["consolidateShippingOrderId"] = order_id
    payload.update(eventTime=event_time, notificationId=notification)
    return json.dumps(payload).encode()


def view(api, inventory_id):
    status, body = api("GET", f"/inventories/{inventory_id}")
    assert status == 200, body
    return body


def test_the_published_packing_sample_makes_its_item_ineligible_and_a_shipped_box_leaves_stock(store, deliver, api):
    seed(store, 20312, ELIGIBLE)
    assert view(api, 20312)["eligibleForResend"] is True
    assert deliver(load_event_bytes("consolidateShippingOrderInventoryAllPacked"))[1]["status"] == "applied"
    item = view(api, 20312)
    assert (item["eligibleForResend"], item["inStock"]) == (False, True)
    status, listed = api("GET", "/inventories", query={"warehouseId": "2", "eligible": "true"})
    assert (status, ids(listed)) == (200, [])
    assert deliver(load_event_bytes("consolidateShippingShipmentSent"))[1]["status"] == "applied"
    assert (view(api, 20312)["inStock"], view(api, 20312)["eligibleForResend"]) == (False, False)


ORDER = "01JNQ6R054VARA55P0C7G2W6DC"
PACKED_AT, CANCELLED_AT = "2025-03-07T01:00:00.0000000Z", "2025-03-07T02:00:00.0000000Z"


@pytest.mark.parametrize("cancel_first", [False, True], ids=["packed-then-cancelled", "cancelled-then-packed"])
def test_a_cancelled_order_frees_its_items_whatever_the_arrival_order(store, deliver, settle, api, cancel_first):
    # GIVEN two eligible items packed into an order that is then cancelled (the cancellation names the order only)
    for inventory_id in (20311, 20312):
        seed(store, inventory_id, ELIGIBLE)
    settle()
    deliveries = [packed(ORDER, [20311, 20312], PACKED_AT), cancelled(ORDER, CANCELLED_AT)]
    # WHEN they arrive in either order, the streams read after each
    for raw in reversed(deliveries) if cancel_first else deliveries:
        assert deliver(raw)[1]["status"] == "applied"
        assert all(answer == {"batchItemFailures": []} for answer in settle(again=True))
    # THEN both items are eligible again, in stock
    for inventory_id in (20311, 20312):
        item = view(api, inventory_id)
        assert (item["eligibleForResend"], item["inStock"]) == (True, True), inventory_id
    status, listed = api("GET", "/inventories", query={"warehouseId": "2", "eligible": "true"})
    assert (status, ids(listed)) == (200, [20311, 20312])


def test_a_cancellation_never_frees_an_item_packed_again_after_it(store, deliver, settle, api):
    seed(store, 20312, ELIGIBLE)
    # packed into the order, then (after its cancellation) into another; the cancellation arrives last
    assert deliver(packed(ORDER, [20312], PACKED_AT))[1]["status"] == "applied"
    settle()
    later = packed("01JNQZZZZZC0NS011DAT10N0RD", [20312], "2025-03-07T03:00:00.0000000Z", notification="n-2")
    assert deliver(later)[1]["status"] == "applied"
    settle()
    assert deliver(cancelled(ORDER, CANCELLED_AT))[1]["status"] == "applied"
    settle(again=True)
    assert view(api, 20312)["eligibleForResend"] is False


def test_a_cancellation_is_two_writes_and_no_read_on_the_webhook_path(deliver, tables, monkeypatch):
    calls = Calls(monkeypatch, "http://upstream.invalid")
    assert deliver(cancelled(ORDER, CANCELLED_AT))[1]["status"] == "applied"
    assert calls.dynamodb == ["PutItem", "TransactWriteItems"]
    calls.reset()
    assert deliver(cancelled(ORDER, CANCELLED_AT))[1]["status"] == "duplicate"
    assert calls.dynamodb == ["PutItem"]
    marker = boto3.client("dynamodb").get_item(
        TableName=tables["InventoryReferenceTable"],
        Key={"ref": {"S": f"consolidationOrder#{ORDER}"}, "returnInventoryId": {"N": "0"}},
    )["Item"]
    assert base.from_item(marker)["cancelledAt"] == CANCELLED_AT


def test_a_cancellation_without_an_order_id_is_kept_unprocessable(deliver):
    payload = load_event("consolidateShippingOrderCancelled")
    del payload["order"]["consolidateShippingOrderId"]
    status, body = deliver(json.dumps(payload).encode())
    assert (status, body["status"]) == (200, "unprocessable")


# ------------------------------------------------------------------ upgrading a stack


def test_the_backfill_writes_the_rows_of_items_stored_before_the_table_existed(store, settle, api, tables):
    # GIVEN items stored while no consumer kept their rows (a stack before the upgrade)
    seed(store, 20251, {**ELIGIBLE, **REFERENCES})
    seed(store, 20252, {**ELIGIBLE, "sku": "TEST-HOODIE-GRY-L"})
    seed(store, 20253, ELIGIBLE)
    assert api("GET", "/inventories", query={"sku": "TEST-HOODIE-GRY-L"}) == (200, {"items": [], "nextToken": None})
    # WHEN the backfill runs, twice
    printed: list[str] = []
    argv = ["backfill", "--inventory-table", tables["InventoryTable"]]
    argv += ["--reference-table", tables["InventoryReferenceTable"]]
    assert ops_references.main(argv, printed.append) == 0
    assert ops_references.main(argv, printed.append) == 0
    # THEN every item's rows are there, and the look-ups answer
    assert json.loads(printed[-1])["items"] == 3
    status, body = api("GET", "/inventories", query={"sku": "TEST-HOODIE-GRY-L"})
    assert (status, ids(body)) == (200, [20251, 20252])
    looked_up = {(f"{n}#{v}", 20251) for n, v in REFERENCES.items()} | {("sku#TEST-HOODIE-GRY-L", 20252)}
    # and the eligible ones are in the stock index (contract section 12)
    assert rows(tables) == looked_up | {("stock#TEST-HOODIE-GRY-L", 20251), ("stock#TEST-HOODIE-GRY-L", 20252)}


def test_the_backfill_frees_the_items_of_an_order_cancelled_while_their_rows_were_missing(store, deliver, api, tables):
    # GIVEN an item packed into an order that was then cancelled, with no stream read (a skipped batch)
    seed(store, 20312, ELIGIBLE)
    assert deliver(packed(ORDER, [20312], PACKED_AT))[1]["status"] == "applied"
    assert deliver(cancelled(ORDER, CANCELLED_AT))[1]["status"] == "applied"
    assert view(api, 20312)["eligibleForResend"] is False
    # WHEN the backfill runs / THEN the item has its rows and is free again
    argv = ["backfill", "--inventory-table", tables["InventoryTable"]]
    assert ops_references.main([*argv, "--reference-table", tables["InventoryReferenceTable"]], print) == 0
    assert view(api, 20312)["eligibleForResend"] is True
    assert (f"consolidationOrder#{ORDER}", 20312) in rows(tables)
