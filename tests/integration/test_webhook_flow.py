"""Signed deliveries into the running local stack, inventory state out over HTTP."""

import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local import settings as local_settings
from local.sign import post_signed
from tests.events.loader import load_event_bytes

pytestmark = pytest.mark.integration

SIGNING_KEY = local_settings.DEV_RH_SIGNING_KEY


def fresh_id() -> int:
    return random.randint(10**9, 10**12)


def at(second: int) -> str:
    return f"2025-03-03T08:15:{second:02d}.1234567Z"


def arrival(inventory_id: int, second: int, **inventory) -> dict:
    return {
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": at(second),
        "version": "202207",
        "returnInventory": {
            "returnInventoryId": str(inventory_id),
            "warehouseId": 2,
            "rma": f"RMA-{inventory_id}",
            "handlingCode": "tbc",
            "handlingStatusCode": "pending",
            **inventory,
        },
        "shipment": {"shipmentId": "1", "shipToWarehouseId": 2},
    }


def handling(inventory_id: int, second: int, action: str, code, status) -> dict:
    return {
        "category": "rinv",
        "action": action,
        "eventTime": at(second),
        "returnInventory": {
            "returnInventoryId": inventory_id,
            "warehouseId": 2,
            "handlingCode": code,
            "handlingStatusCode": status,
        },
    }


def sku(inventory_id: int, second: int, value: str) -> dict:
    return {
        "category": "userUpdateReturnInventorySku",
        "action": "userUpdateReturnInventorySku",
        "eventTime": at(second),
        "returnInventory": {"returnInventoryId": inventory_id, "warehouseId": 2, "sku": value},
    }


@pytest.fixture
def send(stack):
    def deliver(payload, key=SIGNING_KEY) -> requests.Response:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return post_signed(stack["webhookUrl"], key, raw, signed_url=stack["webhookSignedUrl"])

    return deliver


@pytest.fixture
def inventory(stack):
    def read(inventory_id: int) -> requests.Response:
        return requests.get(
            f"{stack['api']}/inventories/{inventory_id}", headers={"x-api-key": stack["apiKey"]}, timeout=10
        )

    return read


def test_a_signed_sample_event_is_applied_and_readable_with_the_api_key(send, inventory):
    response = send(load_event_bytes("newInventoryCreated"))
    assert (response.status_code, response.json()["status"]) == (200, "applied")  # the session's one stack
    view = inventory(20251)
    assert view.status_code == 200
    assert view.json()["returnInventoryId"] == 20251
    assert view.json()["inStock"] is True and view.json()["warehouseId"] == 2


def test_an_unsigned_or_wrongly_signed_delivery_is_401_and_changes_nothing(stack, send, inventory):
    inventory_id = fresh_id()
    raw = json.dumps(arrival(inventory_id, 1)).encode()
    unsigned = requests.post(stack["webhookUrl"], data=raw, headers={"content-type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401
    assert send(raw, key="b3RoZXIta2V5").status_code == 401
    assert inventory(inventory_id).status_code == 404


def test_a_body_that_is_not_json_is_acknowledged_and_kept(send):
    response = send(b"{not json")
    assert response.status_code == 200
    assert response.json()["status"] == "unprocessable"


def test_out_of_order_events_converge_to_the_in_order_state(send, inventory):
    in_order, reversed_order = fresh_id(), fresh_id()
    story = [
        lambda i: arrival(i, 1),
        lambda i: handling(i, 2, "completeInventoryHandling", 4, 0),
        lambda i: sku(i, 3, "SKU-NEW"),
        lambda i: handling(i, 4, "completeInventoryHandling", "rsd", "completed"),
    ]
    for make in story:
        assert send(make(in_order)).status_code == 200
    for make in reversed(story):
        assert send(make(reversed_order)).status_code == 200

    first, second = inventory(in_order).json(), inventory(reversed_order).json()
    for view in (first, second):
        view.pop("returnInventoryId")
        view.pop("rma")
    assert first == second
    assert first["handlingCode"] == "rsd" and first["handlingStatusCode"] == "completed"
    assert first["inStock"] is False and first["sku"] == "SKU-NEW" and first["lastEventTime"] == at(4)


@pytest.mark.needs_dynamodb_local
def test_concurrent_duplicates_are_stored_once_and_duplicate_only_once_applied(send, inventory):
    inventory_id = fresh_id()
    raw = json.dumps(arrival(inventory_id, 5)).encode()
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [r.json() for r in pool.map(lambda _: send(raw), range(8))]
    # A copy that arrives while the first is still being applied is applied too (contract
    # section 8: a `received` delivery's redelivery is never "duplicate"); the effect is one.
    assert {o["status"] for o in outcomes} <= {"applied", "duplicate"}
    assert "applied" in {o["status"] for o in outcomes} and len({o["deliveryId"] for o in outcomes}) == 1
    assert send(raw).json()["status"] == "duplicate"  # now it is known to be applied
    assert inventory(inventory_id).json()["lastEventTime"] == at(5)


@pytest.mark.needs_dynamodb_local
def test_concurrent_shuffled_deliveries_end_in_the_newest_values(send, inventory):
    ids = [fresh_id() for _ in range(6)]
    payloads = [arrival(i, 1) for i in ids] + [sku(i, second, f"SKU-{second}") for i in ids for second in range(2, 9)]
    random.shuffle(payloads)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [r.status_code for r in pool.map(send, payloads)]
    assert statuses == [200] * len(payloads)
    for inventory_id in ids:
        view = inventory(inventory_id).json()
        assert view["sku"] == "SKU-8" and view["lastEventTime"] == at(8) and view["inStock"] is True


def test_the_emulator_announces_an_arrival_that_becomes_eligible(stack, inventory):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    response = requests.post(f"{stack['emulator']}/_emulator/inventories", json={"warehouseId": 2}, timeout=15)
    assert response.status_code in (200, 201), response.text
    created = response.json()
    inventory_id = int(created["inventory"]["returnInventoryId"])
    assert inventory(inventory_id).json()["eligibleForResend"] is True
    listed = requests.get(
        f"{stack['api']}/inventories",
        params={"warehouseId": 2, "eligible": "true", "limit": 100},
        headers={"x-api-key": stack["apiKey"]},
        timeout=10,
    ).json()
    ids = [item["returnInventoryId"] for item in listed["items"]]
    token = listed["nextToken"]
    while token and inventory_id not in ids:
        listed = requests.get(
            f"{stack['api']}/inventories",
            params={"warehouseId": 2, "eligible": "true", "limit": 100, "nextToken": token},
            headers={"x-api-key": stack["apiKey"]},
            timeout=10,
        ).json()
        ids += [item["returnInventoryId"] for item in listed["items"]]
        token = listed["nextToken"]
    assert inventory_id in ids


def test_bad_listing_query_is_422_with_field_errors(stack):
    response = requests.get(
        f"{stack['api']}/inventories", params={"warehouseId": "x"}, headers={"x-api-key": stack["apiKey"]}, timeout=10
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["warehouseId"]
