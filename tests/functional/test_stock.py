"""Stock by SKU (contract section 12) through the real handlers against moto: the inventory table's stream read
into InventoryReferenceFunction (the sparse `stock#<sku>` rows), and GET /stock on the merchant API, with the
Return Helper emulator for `shipTo` (the warehouses' shipment service types).
"""

from __future__ import annotations

import boto3
import pytest

from rh_common.adapters.dynamodb import base
from tests.support.call_counts import Calls
from tests.support.inventory_seed import seed
from tests.support.resend import fault, handler_caller
from tests.support.streams import StreamReader

NJ, HAMBURG = 2, 5  # the emulator's warehouses: New Jersey ships in the USA, Hamburg in Europe
SKU = "TEST-HOODIE-GRY-L"


def eligible(warehouse_id: int, handling: str = "tbc", logged_at: str | None = None) -> dict:
    values = {"warehouseId": warehouse_id, "handlingCode": handling, "handlingStatusCode": "pending"}
    values |= {"inStock": True, "sku": SKU}
    return values | ({"arrivalCreateOn": logged_at} if logged_at else {})


@pytest.fixture
def api(load_with_upstream, lambda_context):
    return handler_caller(load_with_upstream("MerchantApiFunction"), lambda_context)


@pytest.fixture
def settle(load_function, lambda_context, tables):
    """The inventory stream delivered to InventoryReferenceFunction, as its mapping would."""
    module = load_function("InventoryReferenceFunction")
    reader = StreamReader(tables["InventoryTable"])

    def run() -> None:
        records = reader.read()["Records"]
        if records:
            assert module.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}

    return run


def stock_rows(tables) -> set[tuple[str, int]]:
    items = boto3.client("dynamodb").scan(TableName=tables["InventoryReferenceTable"])["Items"]
    return {(i["ref"]["S"], int(i["returnInventoryId"]["N"])) for i in items if i["ref"]["S"].startswith("stock#")}


def test_stock_counts_the_eligible_units_per_warehouse_in_one_query(store, settle, api, tables, monkeypatch):
    # GIVEN eligible units of one SKU in two warehouses, one on hold, and units that are not eligible
    seed(store, 1, eligible(NJ, "tbc", "2025-03-01T08:00:00Z"))
    seed(store, 2, eligible(NJ, "ohd", "2025-02-01T08:00:00+08:00"))
    seed(store, 3, eligible(HAMBURG, "tbc"))
    seed(store, 4, {**eligible(NJ), "inStock": False})  # not in stock
    seed(store, 5, {**eligible(NJ), "handlingCode": "rtn"})  # going back to the merchant
    seed(store, 6, {**eligible(NJ), "fraudFlag": {"isFraudulent": True, "reasonCode": "X"}})
    seed(store, 7, {**eligible(NJ), "sku": "OTHER"})
    settle()
    assert stock_rows(tables) == {(f"stock#{SKU}", 1), (f"stock#{SKU}", 2), (f"stock#{SKU}", 3), ("stock#OTHER", 7)}
    # WHEN the SKU's stock is asked for
    calls = Calls(monkeypatch, "http://upstream.invalid")
    status, body = api("GET", "/stock", query={"sku": SKU})
    # THEN per warehouse: eligible, on hold, to be confirmed, the oldest loggedAt as Return Helper gave it
    assert status == 200, body
    assert body == {
        "sku": SKU,
        "units": [
            {
                "warehouseId": NJ,
                "eligible": 2,
                "onHold": 1,
                "toBeConfirmed": 1,
                "oldestLoggedAt": "2025-02-01T08:00:00+08:00",
            },
            {"warehouseId": HAMBURG, "eligible": 1, "onHold": 0, "toBeConfirmed": 1, "oldestLoggedAt": None},
        ],
    }
    # one Query of the reference table, never a scan, nothing else read
    assert calls.dynamodb == ["Query"]


def test_an_item_leaves_the_stock_when_reserved_resent_or_made_ineligible(store, settle, api, tables):
    for inventory_id in (1, 2, 3, 4):
        seed(store, inventory_id, eligible(NJ))
    settle()
    assert len(stock_rows(tables)) == 4
    # WHEN one is reserved, one resent (rsd, out of stock), one packed into another workflow
    boto3.client("dynamodb").update_item(  # as the create path's reservation writes it
        TableName=tables["InventoryTable"],
        Key={"returnInventoryId": {"N": "1"}},
        UpdateExpression="SET activeResendRequestId = :r",
        ExpressionAttributeValues={":r": {"S": "req-1"}},
    )
    seed(
        store,
        2,
        {"handlingCode": "rsd", "handlingStatusCode": "completed", "inStock": False},
        "2025-03-08T00:00:00Z",
        "d2",
    )
    seed(store, 3, {"otherWorkflow": "consolidation"}, "2025-03-08T00:00:00Z", "d3")
    settle()
    # THEN only the fourth is left, and the answer says so
    assert stock_rows(tables) == {(f"stock#{SKU}", 4)}
    status, body = api("GET", "/stock", query={"sku": SKU})
    assert (status, [u["eligible"] for u in body["units"]]) == (200, [1])


def test_stock_pages_through_a_sku_with_more_units_than_one_query_page(store, settle, api, monkeypatch):
    # GIVEN more rows than one Query page returns (pages of 3, through the process's one client)
    for inventory_id in range(1, 8):
        seed(store, inventory_id, eligible(NJ))
    settle()
    calls = Calls(monkeypatch, "http://upstream.invalid")

    def pages_of_three(params, **_):
        params["Limit"] = 3

    events = base.client().meta.events
    events.register("provide-client-params.dynamodb.Query", pages_of_three)
    try:
        status, body = api("GET", "/stock", query={"sku": SKU})
    finally:
        events.unregister("provide-client-params.dynamodb.Query", pages_of_three)
    # THEN every unit counts, read in three pages of the one Query
    assert (status, body["units"][0]["eligible"]) == (200, 7)
    assert calls.dynamodb == ["Query", "Query", "Query"]


def test_ship_to_keeps_the_warehouses_that_ship_there(store, settle, api):
    seed(store, 1, eligible(NJ))
    seed(store, 2, eligible(HAMBURG))
    settle()
    status, body = api("GET", "/stock", query={"sku": SKU, "shipTo": "usa"})
    assert (status, [u["warehouseId"] for u in body["units"]]) == (200, [NJ])
    status, body = api("GET", "/stock", query={"sku": SKU, "shipTo": "DEU"})
    assert (status, [u["warehouseId"] for u in body["units"]]) == (200, [HAMBURG])
    status, body = api("GET", "/stock", query={"sku": SKU, "shipTo": "jpn"})
    assert (status, body["units"]) == (200, [])


def test_ship_to_with_service_types_unavailable_is_503(store, settle, api, emulator):
    seed(store, 1, eligible(NJ))
    settle()
    fault(emulator, "getAvailableShipmentServiceType", kind="http5xx")
    status, body = api("GET", "/stock", query={"sku": SKU, "shipTo": "usa"})
    assert status == 503, body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "sku"),
        ({"sku": ""}, "sku"),
        ({"sku": SKU, "shipTo": "zzz"}, "shipTo"),
        ({"sku": SKU, "shipTo": "us"}, "shipTo"),
    ],
)
def test_bad_stock_queries_are_422_naming_the_field(api, tables, query, field):
    status, body = api("GET", "/stock", query=query)
    assert status == 422, body
    assert field in body["errors"][0]["field"]


def test_an_unknown_sku_has_no_units(api, tables):
    assert api("GET", "/stock", query={"sku": "NOBODY"}) == (200, {"sku": "NOBODY", "units": []})
