"""GET /health and /inventories through the real handler against moto."""

import copy
import json

import pytest

from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.domain import inventory
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event

T = "2024-05-02T02:59:27.8657445Z"
ELIGIBLE = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}


@pytest.fixture
def api(load_function, lambda_context):
    module = load_function("MerchantApiFunction")

    def call(path, query=None, path_parameters=None, resource=None):
        event = copy.deepcopy(load_event("apigw_get_inventory"))
        event.update(
            path=path,
            resource=resource or path,
            pathParameters=path_parameters,
            queryStringParameters=query,
            multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        )
        response = module.lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"])

    return call


@pytest.fixture
def store(tables):
    return InventoryStore(tables["InventoryTable"])


def seed(store, inventory_id, values):
    store.apply(InventoryFacts(inventory_id, values), inventory.event_version(T, "seed"), T)


def get_inventory(api, inventory_id):
    return api(
        f"/inventories/{inventory_id}",
        path_parameters={"returnInventoryId": str(inventory_id)},
        resource="/inventories/{returnInventoryId}",
    )


def test_health_is_ok(api):
    assert api("/health") == (200, {"status": "ok"})


def test_a_known_inventory_reads_as_the_contract_view(api, store):
    seed(store, 20251, {**ELIGIBLE, "rma": "R-1", "sku": "S-1", "description": "Hoodie"})
    status, body = get_inventory(api, 20251)
    assert status == 200
    assert body == {
        "returnInventoryId": 20251,
        "warehouseId": 2,
        "handlingCode": "ohd",
        "handlingStatusCode": "pending",
        "inStock": True,
        "pendingVas": False,
        "activeResendRequestId": None,
        "eligibleForResend": True,
        "rma": "R-1",
        "sku": "S-1",
        "description": "Hoodie",
        "lastEventTime": T,
        # section 11: null where unknown
        "returnRequestId": None,
        "shipmentId": None,
        "sellerReferenceNumber": None,
        "inboundTrackingNumber": None,
        "imageUrls": None,
        "warehouseRemarks": None,
        "fraudFlag": None,
        "weight": None,
        "dimensions": None,
        "loggedAt": None,
        "workflow": None,
    }


def test_an_unknown_inventory_is_404_with_the_error_body(api, tables):
    status, body = get_inventory(api, 999)
    assert status == 404
    assert set(body) == {"message", "errors"} and body["errors"] == []


@pytest.mark.parametrize("bad_id", ["abc", "0", "-3", "99999999999999999999"])
def test_a_malformed_inventory_id_is_422_naming_the_field(api, tables, bad_id):
    status, body = get_inventory(api, bad_id)
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["returnInventoryId"]


def test_listing_only_eligible_items_of_a_warehouse(api, store):
    seed(store, 1, ELIGIBLE)
    seed(store, 2, {**ELIGIBLE, "handlingCode": "rsd"})
    seed(store, 3, {**ELIGIBLE, "warehouseId": 5})
    seed(store, 4, {**ELIGIBLE, "handlingCode": "tbc"})
    status, body = api("/inventories", {"warehouseId": "2", "eligible": "true"})
    assert status == 200
    assert [item["returnInventoryId"] for item in body["items"]] == [1, 4]
    assert body["nextToken"] is None
    status, body = api("/inventories", {"warehouseId": "2"})
    assert [item["returnInventoryId"] for item in body["items"]] == [1, 2, 4]


def test_listing_pages_with_next_token(api, store):
    for i in range(1, 6):
        seed(store, i, ELIGIBLE)
    seen, token = [], None
    while True:
        query = {"warehouseId": "2", "eligible": "true", "limit": "2", **({"nextToken": token} if token else {})}
        status, body = api("/inventories", query)
        assert status == 200 and len(body["items"]) <= 2
        seen += [item["returnInventoryId"] for item in body["items"]]
        token = body["nextToken"]
        if token is None:
            break
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "warehouseId"),
        ({"warehouseId": "two"}, "warehouseId"),
        ({"warehouseId": "2", "eligible": "perhaps"}, "eligible"),
        ({"warehouseId": "2", "limit": "0"}, "limit"),
        ({"warehouseId": "2", "nextToken": "garbage"}, "nextToken"),
    ],
)
def test_a_bad_query_is_422_naming_the_field(api, tables, query, field):
    status, body = api("/inventories", query or None)
    assert status == 422
    assert body["message"] and field in [e["field"] for e in body["errors"]]
