"""Aging (contract section 12) through the real handlers against moto: the inventory stream kept into the
sparse `aging#<warehouseId>` rows by InventoryReferenceFunction, the reconciler's runs publishing
InventoryAging once per item (PutEvents on a fake bus that can refuse, as test_event_publisher's), and
GET /inventories?agedOverDays=N&warehouseId=W on the merchant API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import jsonschema
import pytest

from rh_common.domain import stock
from rh_common.domain.timestamps import iso, upstream_iso
from tests.events.loader import load_event
from tests.functional.test_event_publisher import FakeEventBridge
from tests.support.inventory_seed import seed
from tests.support.resend import handler_caller
from tests.support.streams import StreamReader

NJ, HAMBURG = 2, 5
NOW = datetime.now(UTC).replace(microsecond=0)


def logged(days_ago: float) -> str:
    return upstream_iso(NOW - timedelta(days=days_ago))


def idle(warehouse_id: int, days_ago: float, handling: str = "tbc") -> dict:
    values = {"warehouseId": warehouse_id, "handlingCode": handling, "handlingStatusCode": "pending"}
    return values | {"inStock": True, "sku": "K-1", "arrivalCreateOn": logged(days_ago)}


@pytest.fixture
def settle(load_function, lambda_context, tables):
    """The inventory stream delivered to InventoryReferenceFunction; `again`: every batch once more."""
    module = load_function("InventoryReferenceFunction")
    reader = StreamReader(tables["InventoryTable"])
    delivered: list[list[dict]] = []

    def run(again: bool = False) -> None:
        records = reader.read()["Records"]
        batches = [records] if records else []
        delivered.extend(batches)
        for batch in delivered if again else batches:
            assert module.lambda_handler({"Records": batch}, lambda_context) == {"batchItemFailures": []}

    return run


@pytest.fixture
def reconciler(load_with_upstream):
    module = load_with_upstream("ReconcilerFunction", AGING_ALERT_DAYS="30")
    bus = FakeEventBridge()
    module.services.publisher._client = bus
    module.services.publisher._sleep = lambda seconds: None
    module.bus = bus
    return module


def published(bus: FakeEventBridge) -> list[dict]:
    return [json.loads(entry["Detail"]) for call in bus.calls for entry in call]


def aging_rows(tables) -> set[tuple[str, int]]:
    items = boto3.client("dynamodb").scan(TableName=tables["InventoryReferenceTable"])["Items"]
    return {(i["ref"]["S"], int(i["returnInventoryId"]["N"])) for i in items if i["ref"]["S"].startswith("aging")}


def seed_warehouses(store):
    seed(store, 1, idle(NJ, 40))  # aged, tbc
    seed(store, 2, idle(NJ, 31, "ohd"))  # aged, on hold
    seed(store, 3, idle(NJ, 10))  # young
    seed(store, 4, idle(NJ, 90, "rtn"))  # going back to the merchant: not idle
    seed(store, 5, {**idle(NJ, 90), "inStock": False})  # not in stock
    seed(store, 6, idle(HAMBURG, 45))  # aged, another warehouse


def test_a_run_publishes_each_aged_item_once_and_a_second_run_nothing(store, settle, reconciler, tables):
    # GIVEN idle items, some older than AGING_ALERT_DAYS, their rows kept from the stream
    seed_warehouses(store)
    settle()
    assert aging_rows(tables) == {
        ("aging#2", 1),
        ("aging#2", 2),
        ("aging#2", 3),
        ("aging#5", 6),
        ("agingWarehouse#all", NJ),
        ("agingWarehouse#all", HAMBURG),
    }
    # WHEN the reconciler runs
    report = reconciler.services.reconciler.run(lambda: 120_000, now=NOW)
    # THEN the aged ones are published, with the contract's fields
    assert sorted(report.aging_published) == [1, 2, 6]
    events = {event["returnInventoryId"]: event for event in published(reconciler.bus)}
    assert set(events) == {1, 2, 6}
    assert {k: v for k, v in events[2].items() if k != "eventId"} == {
        "returnInventoryId": 2,
        "warehouseId": NJ,
        "sku": "K-1",
        "handlingCode": "ohd",
        "loggedAt": logged(31),
        "ageDays": 31,
    }
    assert all(entry["DetailType"] == "InventoryAging" for call in reconciler.bus.calls for entry in call)
    # WHEN it runs again, and the stream is redelivered in between / THEN nothing more goes out
    settle(again=True)
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW).aging_published == []
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW + timedelta(days=5)).aging_published == []
    assert len(published(reconciler.bus)) == 3


def test_an_item_published_on_the_next_run_once_it_crosses_the_threshold(store, settle, reconciler):
    seed(store, 3, idle(NJ, 29.5))
    settle()
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW).aging_published == []
    # a day later it is older than 30 days
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW + timedelta(days=1)).aging_published == [3]


def test_a_refused_put_is_tried_again_by_the_next_run_and_then_never_again(store, settle, reconciler):
    seed(store, 1, idle(NJ, 40))
    settle()
    event_id = stock.aging_event(stock.AgingRow(1, NJ, "K-1", "tbc", logged(40)), NOW)["eventId"]
    reconciler.bus.refusals[event_id] = 3  # every attempt of this run
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW).aging_published == []
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW).aging_published == [1]
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW).aging_published == []
    # the same eventId on every attempt: a consumer drops any repeat
    assert {event["eventId"] for event in published(reconciler.bus)} == {event_id}


def test_a_claim_left_by_a_run_that_died_is_taken_over_once_stale(store, settle, reconciler, tables):
    seed(store, 1, idle(NJ, 40))
    settle()
    alerts = reconciler.services.references
    # GIVEN a run claimed it and died before its put
    assert alerts.claim(1, iso(NOW), iso(NOW - timedelta(minutes=15)))
    # THEN a run soon after leaves it alone (that run might still be putting it)
    assert reconciler.services.reconciler.run(lambda: 120_000, now=NOW + timedelta(minutes=1)).aging_published == []
    # and a run once the claim is stale publishes it
    later = NOW + timedelta(minutes=16)
    assert reconciler.services.reconciler.run(lambda: 120_000, now=later).aging_published == [1]


def test_a_run_out_of_time_publishes_nothing_and_says_so(store, settle, reconciler):
    seed(store, 1, idle(NJ, 40))
    settle()
    report = reconciler.services.reconciler.run(lambda: 1_000, now=NOW)
    assert (report.aging_published, report.out_of_time, reconciler.bus.calls) == ([], True, [])


def test_the_scheduled_handler_counts_what_it_published(store, settle, reconciler, lambda_context):
    seed(store, 1, idle(NJ, 40))
    settle()
    answer = reconciler.lambda_handler(load_event("eventbridge_scheduled_event"), lambda_context)
    assert answer["agingPublished"] == 1


# ------------------------------------------------------------------ GET /inventories?agedOverDays=N&warehouseId=W


@pytest.fixture
def api(load_function, lambda_context):
    return handler_caller(load_function("MerchantApiFunction"), lambda_context)


def ids(body) -> list[int]:
    return [item["returnInventoryId"] for item in body["items"]]


def test_aged_items_of_a_warehouse_are_listed_by_age_in_pages(store, settle, api):
    seed_warehouses(store)
    settle()
    status, body = api("GET", "/inventories", query={"warehouseId": str(NJ), "agedOverDays": "30"})
    assert (status, ids(body), body["nextToken"]) == (200, [1, 2], None)
    assert body["items"][0]["loggedAt"] == logged(40)
    assert ids(api("GET", "/inventories", query={"warehouseId": str(NJ), "agedOverDays": "5"})[1]) == [1, 2, 3]
    assert ids(api("GET", "/inventories", query={"warehouseId": str(HAMBURG), "agedOverDays": "30"})[1]) == [6]
    assert ids(api("GET", "/inventories", query={"warehouseId": "9", "agedOverDays": "0"})[1]) == []
    # pages of one, each token good for this listing only
    seen, token = [], None
    while True:
        query = {"warehouseId": str(NJ), "agedOverDays": "5", "limit": "1"} | ({"nextToken": token} if token else {})
        status, body = api("GET", "/inventories", query=query)
        assert status == 200, body
        seen += ids(body)
        token = body["nextToken"]
        if token is None:
            break
    assert seen == [1, 2, 3]


def test_an_item_that_left_stock_is_not_listed_before_its_row_is_gone(store, settle, api):
    seed(store, 1, idle(NJ, 40))
    settle()
    seed(store, 1, {"inStock": False, "handlingCode": "rsd"}, "2025-03-08T00:00:00Z", "shipped")
    # the row is still there (the stream not read yet), the item is checked again
    status, body = api("GET", "/inventories", query={"warehouseId": str(NJ), "agedOverDays": "30"})
    assert (status, ids(body)) == (200, [])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"agedOverDays": "30"}, "warehouseId"),
        ({"agedOverDays": "30", "sku": "K-1"}, "sku"),
        ({"agedOverDays": "30", "warehouseId": str(NJ), "eligible": "true"}, "eligible"),
        ({"agedOverDays": "-1", "warehouseId": str(NJ)}, "agedOverDays"),
        ({"agedOverDays": "many", "warehouseId": str(NJ)}, "agedOverDays"),
    ],
)
def test_aged_over_days_needs_a_warehouse_alone(api, tables, query, field):
    status, body = api("GET", "/inventories", query=query)
    assert status == 422, body
    assert field in body["errors"][0]["field"]


def test_the_published_event_matches_the_registry_schema(store, settle, reconciler, template):
    seed(store, 1, idle(NJ, 40))
    settle()
    reconciler.services.reconciler.run(lambda: 120_000, now=NOW)
    [content] = [
        json.loads(s["Properties"]["Content"])
        for s in template.resources("AWS::EventSchemas::Schema").values()
        if json.loads(s["Properties"]["Content"])["title"] == "InventoryAging"
    ]
    [entry] = [entry for call in reconciler.bus.calls for entry in call]
    event = {"detail-type": entry["DetailType"], "source": entry["Source"], "detail": json.loads(entry["Detail"])}
    jsonschema.Draft4Validator(content).validate(event)


# ------------------------------------------------------------------ read through the ByLoggedAt index


class AgingQueries:
    """What the Queries of the `aging#<warehouseId>` rows read: a botocore hook on the adapter's client,
    one (IndexName, ScannedCount, Count) per Query."""

    def __init__(self, client) -> None:
        self.reads: list[tuple[str | None, int, int]] = []
        self._params: dict | None = None
        client.meta.events.register("provide-client-params.dynamodb.Query", self._before)
        client.meta.events.register("after-call.dynamodb.Query", self._after)

    def _before(self, params, **kwargs) -> None:
        self._params = params

    def _after(self, parsed, **kwargs) -> None:
        params, self._params = self._params or {}, None
        ref = params.get("ExpressionAttributeValues", {}).get(":ref", {}).get("S", "")
        if ref.startswith(f"{stock.AGING}#"):
            self.reads.append((params.get("IndexName"), parsed["ScannedCount"], parsed["Count"]))


def seed_mostly_young(store) -> list[int]:
    """NJ: 30 young idle items and, among their ids, 3 aged ones in no id order; the aged, oldest first."""
    for inventory_id in range(1, 31):
        seed(store, inventory_id, idle(NJ, 60 if inventory_id == 15 else 1 + inventory_id % 7))
    seed(store, 40, idle(NJ, 35))
    seed(store, 41, idle(NJ, 45, "ohd"))
    return [15, 41, 40]


def test_a_run_reads_only_the_aged_rows_of_a_warehouse_full_of_young_ones(store, settle, reconciler):
    aged = seed_mostly_young(store)
    settle()
    queries = AgingQueries(reconciler.services.references.client)
    report = reconciler.services.reconciler.run(lambda: 120_000, now=NOW)
    assert sorted(report.aging_published) == sorted(aged)
    # one Query of the index, which read the 3 aged rows and nothing else
    assert queries.reads == [("ByLoggedAt", 3, 3)]


def test_aged_items_are_listed_oldest_first_in_full_pages(store, settle, api):
    aged = seed_mostly_young(store)
    settle()
    pages, token = [], None
    while True:
        query = {"warehouseId": str(NJ), "agedOverDays": "30", "limit": "2"} | ({"nextToken": token} if token else {})
        status, body = api("GET", "/inventories", query=query)
        assert status == 200, body
        pages.append(ids(body))
        token = body["nextToken"]
        if token is None:
            break
    assert pages == [aged[:2], aged[2:]]


def test_a_token_of_another_aged_listing_is_refused(store, settle, api):
    seed_mostly_young(store)
    settle()
    query = {"warehouseId": str(NJ), "agedOverDays": "1", "limit": "10"}
    token = api("GET", "/inventories", query=query)[1]["nextToken"]  # after young items
    assert token is not None
    # the same listing goes on; another age, warehouse or look-up is not where it left off
    assert api("GET", "/inventories", query=query | {"nextToken": token})[0] == 200
    for other in (
        {"warehouseId": str(NJ), "agedOverDays": "30"},
        {"warehouseId": str(HAMBURG), "agedOverDays": "1"},
        {"sku": "K-1"},
    ):
        status, body = api("GET", "/inventories", query=other | {"nextToken": token})
        assert status == 422, (other, body)
        assert body["errors"][0]["field"].endswith("nextToken")
