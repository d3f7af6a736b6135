"""Soak: thousands of signed deliveries and hundreds of concurrent resends through the local stack.

Deliveries: 2,000 signed webhooks (1,400 distinct events over 200 inventories, 600 duplicates
re-sending the same bytes), shuffled, from 8 concurrent senders. The state read back over
HTTP must equal the events applied one by one in eventTime order (an oracle written here,
independent of the reducer), each distinct delivery must be stored once and end `accepted`,
and a copy is answered "duplicate" only once the delivery is known to be applied (a copy that
arrives while the first is in flight is applied again, harmlessly: contract section 8).

Resends: 50 items arrive through the Return Helper emulator, then 200 concurrent
`POST /resends` over random 1-3 item subsets. No item may ever be held by two active requests,
and every resend Return Helper created must match exactly one local request (its
idempotency key is the local request id: no Idempotency-Key header is sent), and back.

Both rest on DynamoDB's per-item atomicity under concurrent requests, which moto does not
give (its conditional writes and transactions are not isolated), so both need DynamoDB Local.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local import settings as local_settings
from local.sign import post_signed
from rh_common.domain import timestamps

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.needs_dynamodb_local]

SIGNING_KEY = local_settings.DEV_RH_SIGNING_KEY
INVENTORIES = 200
EVENTS_PER_INVENTORY = 7  # 1,400 distinct events
DELIVERIES = 2000  # 30% of them duplicates
SENDERS = 8
LEAVES_STOCK = {"rsd", "dis", "rtn"}
HANDLING_CODES = ["tbc", "rtn", "dis", "rsd", "ohd", "oth"]

ITEMS = 50
RESEND_REQUESTS = 200
ACTIVE = {"PENDING", "SUBMITTED", "IN_PROGRESS", "COMPLETED"}  # statuses that keep the items reserved
SHIPMENT = {
    "shipmentServiceType": "SHIPMENT_UPS_GROUND_NJ",
    "shipmentCountryCode": "usa",
    "shipmentName": "Soak Recipient",
    "shipmentPhone": "5550100",
    "shipmentStreet1": "1 Soak Street",
    "shipmentState": "NJ",
    "shipmentCity": "Soakville",
    "shipmentPostalCode": "08817",  # a New Jersey ZIP code (the address check)
}


# ------------------------------------------------------------------ deliveries


def inventory_events(rng: random.Random, inventory_id: int, times: list[str]) -> list[dict]:
    """One arrival and six changes for one inventory, at the given (distinct) eventTimes."""
    arrival = {
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": times[0],
        "returnInventory": {
            "returnInventoryId": str(inventory_id),  # ids as strings here, numbers below: the same record
            "warehouseId": 2,
            "rma": f"RMA-{inventory_id}",
            "handlingCode": rng.choice(["tbc", "ohd"]),
            "handlingStatusCode": "pending",
        },
        "shipment": {"shipmentId": "1", "shipToWarehouseId": 2},
    }
    events = [arrival]
    for moment in times[1:]:
        kind = rng.choice(["sku", "complete", "cancel"])
        row = {"returnInventoryId": inventory_id, "warehouseId": 2}
        if kind == "sku":
            events.append(
                {
                    "category": "userUpdateReturnInventorySku",
                    "action": "userUpdateReturnInventorySku",
                    "eventTime": moment,
                    "returnInventory": {**row, "sku": f"SKU-{rng.randrange(10**6)}"},
                }
            )
        else:
            action = "completeInventoryHandling" if kind == "complete" else "cancelInventoryHandling"
            code = rng.choice(HANDLING_CODES)
            status = "completed" if kind == "complete" else "inProgress"
            events.append(
                {
                    "category": "rinv",
                    "action": action,
                    "eventTime": moment,
                    "returnInventory": {**row, "handlingCode": code, "handlingStatusCode": status},
                }
            )
    return events


def expected_view(events: list[dict]) -> dict:
    """The oracle: apply the events one by one in eventTime order, as the contract describes them."""
    state: dict = {}
    for event in sorted(events, key=lambda e: e["eventTime"]):
        row = event["returnInventory"]
        state["warehouseId"] = row["warehouseId"]
        if event["category"] == "newInventoryCreated":
            state.update(rma=row["rma"], handlingCode=row["handlingCode"], handlingStatusCode="pending", inStock=True)
        elif event["category"] == "userUpdateReturnInventorySku":
            state["sku"] = row["sku"]
        elif event["action"] == "completeInventoryHandling":
            state.update(handlingCode=row["handlingCode"], handlingStatusCode="completed")
            if row["handlingCode"] in LEAVES_STOCK:  # a completed resend / disposal / return leaves the stock
                state["inStock"] = False
        else:  # cancelInventoryHandling: the handling is pending again
            state.update(handlingCode=row["handlingCode"], handlingStatusCode="pending")
        state["lastEventTime"] = event["eventTime"]
    return {
        "warehouseId": state["warehouseId"],
        "rma": state["rma"],
        "sku": state.get("sku"),
        "handlingCode": state["handlingCode"],
        "handlingStatusCode": state["handlingStatusCode"],
        "inStock": state["inStock"],
        "lastEventTime": state["lastEventTime"],
    }


def delivery_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()  # no notificationId: the body's hash (architecture.md)


def scan_all(dynamodb, table: str, **kwargs) -> list[dict]:
    items, start = [], None
    while True:
        page = dynamodb.scan(TableName=table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def test_2000_shuffled_signed_deliveries_with_duplicates_converge_and_count_once(stack, api, aws_client):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    base = rng.randrange(10**11, 10**12 - INVENTORIES)  # fresh ids for this run
    start = datetime(2025, 5, 1, tzinfo=UTC)
    moments = [
        timestamps.upstream_iso(start + timedelta(seconds=i, microseconds=rng.randrange(10**6))) for i in range(1400)
    ]
    rng.shuffle(moments)  # arrivals are not always first in time: order is never trusted

    by_inventory: dict[int, list[dict]] = {}
    for index in range(INVENTORIES):
        times = moments[index * EVENTS_PER_INVENTORY : (index + 1) * EVENTS_PER_INVENTORY]
        by_inventory[base + index] = inventory_events(rng, base + index, times)
    unique = [json.dumps(event).encode() for events in by_inventory.values() for event in events]
    assert len(set(unique)) == INVENTORIES * EVENTS_PER_INVENTORY
    deliveries = unique + [rng.choice(unique) for _ in range(DELIVERIES - len(unique))]  # same bytes again
    rng.shuffle(deliveries)

    def send(raw: bytes) -> tuple[bytes, int, str | None]:
        response = post_signed(stack["webhookUrl"], SIGNING_KEY, raw, timeout=60, signed_url=stack["webhookSignedUrl"])
        status = response.json().get("status") if response.status_code == 200 else response.text
        return raw, response.status_code, status

    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        results = list(senders.map(send, deliveries))

    context = f"(seed {seed})"
    assert Counter(code for _, code, _ in results) == {200: DELIVERIES}, context
    outcomes = Counter(status for _, _, status in results)
    assert set(outcomes) == {"applied", "duplicate"}, (outcomes, context)
    assert outcomes["applied"] >= len(unique), (outcomes, context)
    applied = {raw for raw, _, status in results if status == "applied"}
    assert applied == set(unique), f"a delivery never answered applied {context}"

    log = scan_all(
        aws_client("dynamodb"),
        stack["tables"]["DeliveryTable"],
        ProjectionExpression="deliveryId, #status",
        ExpressionAttributeNames={"#status": "status"},
    )
    stored = {item["deliveryId"]["S"]: item["status"]["S"] for item in log}
    expected_ids = {delivery_id(raw) for raw in unique}
    assert expected_ids <= set(stored), f"{len(expected_ids - set(stored))} deliveries not in the log {context}"
    assert {stored[i] for i in expected_ids} == {"accepted"}, f"a delivery not marked applied {context}"

    def read(inventory_id: int) -> tuple[int, dict]:
        response = api.get(f"/inventories/{inventory_id}")
        assert response.status_code == 200, response.text
        return inventory_id, response.json()

    with ThreadPoolExecutor(max_workers=SENDERS) as readers:
        views = dict(readers.map(read, by_inventory))
    mismatches = {}
    for inventory_id, events in by_inventory.items():
        expected = expected_view(events)
        seen = {name: views[inventory_id][name] for name in expected}
        if seen != expected:
            mismatches[inventory_id] = {"expected": expected, "seen": seen}
    assert not mismatches, f"{len(mismatches)} inventories differ from the in-order replay {context}: " + json.dumps(
        dict(list(mismatches.items())[:3]), indent=1
    )


# ------------------------------------------------------------------ resends


def test_200_concurrent_resends_over_50_items_never_double_reserve_and_match_upstream_one_to_one(
    stack, api, aws_client
):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    emulator = stack["emulator"]
    requests.delete(f"{emulator}/_emulator/faults", timeout=10).raise_for_status()  # nothing left over

    def arrive(_: int) -> int:
        response = requests.post(f"{emulator}/_emulator/inventories", json={"warehouseId": 2}, timeout=30)
        response.raise_for_status()
        assert response.json()["webhook"]["status"] == 200, response.text
        return int(response.json()["inventory"]["returnInventoryId"])

    with ThreadPoolExecutor(max_workers=4) as arrivals:
        items = list(arrivals.map(arrive, range(ITEMS)))
    ours = set(items)

    seed = random.randrange(10**6)
    rng = random.Random(seed)
    bodies = [
        {"returnInventoryIdList": rng.sample(items, rng.randint(1, 3)), "resendShipment": SHIPMENT}
        for _ in range(RESEND_REQUESTS)
    ]
    with ThreadPoolExecutor(max_workers=16) as clients:
        responses = list(clients.map(lambda body: api.post("/resends", json=body, timeout=60), bodies))

    context = f"(seed {seed})"
    codes = Counter(response.status_code for response in responses)
    assert set(codes) <= {201, 409, 422}, (codes, [r.text for r in responses if r.status_code not in (201, 409, 422)])
    refused_upstream = [r.text for r in responses if r.status_code == 422 and r.json().get("status") == "REJECTED"]
    assert not refused_upstream, f"Return Helper refused a resend: {refused_upstream[:3]} {context}"
    created = {r.json()["resendRequestId"]: r.json() for r in responses if r.status_code == 201}
    assert 0 < len(created) <= ITEMS, (codes, context)

    # Local: the requests holding our items, read straight from the table.
    records = [
        {
            "id": item["resendRequestId"]["S"],
            "status": item["status"]["S"],
            "items": [int(i["N"]) for i in item["returnInventoryIdList"]["L"]],
            "resendId": int(item["resendId"]["N"]) if "resendId" in item else None,
            "key": item.get("upstreamIdempotencyKey", {}).get("S"),
        }
        for item in scan_all(aws_client("dynamodb"), stack["tables"]["ResendRequestTable"])
    ]
    records = [record for record in records if ours & set(record["items"])]
    assert {record["id"] for record in records} == set(created), f"local requests != 201 answers {context}"
    holders = {item: [r["id"] for r in records if item in r["items"] and r["status"] in ACTIVE] for item in items}
    doubly_held = {item: ids for item, ids in holders.items() if len(ids) > 1}
    assert not doubly_held, f"items in two active requests: {doubly_held} {context}"

    def active_holder(item: int) -> tuple[int, str | None]:
        return item, api.get(f"/inventories/{item}").json()["activeResendRequestId"]

    with ThreadPoolExecutor(max_workers=8) as readers:
        reserved = dict(readers.map(active_holder, items))
    assert reserved == {item: (ids[0] if ids else None) for item, ids in holders.items()}, context

    # Upstream: every resend Return Helper created for our items is one local request, and back.
    state = requests.get(f"{emulator}/_emulator/state", timeout=10).json()
    upstream = [r for r in state["resends"] if ours & {int(i) for i in r["returnInventoryIdList"]}]
    keys = Counter(r["idempotencyKey"] for r in upstream)
    assert all(count == 1 for count in keys.values()), f"one key created twice upstream: {keys} {context}"
    local_by_key = {r["key"]: r for r in records}
    assert set(keys) == set(local_by_key), f"upstream and local requests differ {context}"
    for resend in upstream:
        local = local_by_key[resend["idempotencyKey"]]
        assert local["key"] == local["id"], "without an Idempotency-Key the request id is the upstream key"
        assert local["resendId"] == int(resend["resendId"]), (local, resend["resendId"])
        assert state["createdPerIdempotencyKey"][resend["idempotencyKey"]] == 1
        assert sorted(local["items"]) == sorted(int(i) for i in resend["returnInventoryIdList"])
