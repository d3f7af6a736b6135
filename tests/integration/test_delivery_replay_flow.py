"""The delivery log searched and replayed in bulk (contract section 11), through the running local stack:
the operator routes (SigV4), the replay queue the template declares, and the worker's local poller."""

import json
import random
import time
from datetime import UTC, datetime

import pytest

from local import settings as local_settings
from local.sign import post_signed

pytestmark = pytest.mark.integration

SIGNING_KEY = local_settings.DEV_RH_SIGNING_KEY
TODAY = datetime.now(UTC).date().isoformat()


def _eventually(read, done, seconds=60.0):
    deadline = time.monotonic() + seconds
    while True:
        answer = read()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_a_delivery_is_found_by_its_item_and_a_bulk_replay_runs_to_done(stack, api):
    inventory_id = random.randint(10**9, 10**11)
    arrival = {
        "category": "newInventoryCreated",
        "action": "newInventoryCreated",
        "eventTime": "2025-04-04T10:00:01.1234567Z",
        "returnInventory": {"returnInventoryId": inventory_id, "warehouseId": 2, "handlingCode": "tbc"},
    }
    assert post_signed(stack["webhookUrl"], SIGNING_KEY, json.dumps(arrival).encode()).json()["status"] == "applied"
    found = _eventually(
        lambda: api.get("/deliveries", params={"inventoryId": inventory_id, "since": TODAY}, signed=True).json(),
        lambda page: page["items"],
        seconds=10,
    )
    assert [(i["category"], i["status"]) for i in found["items"]] == [("newInventoryCreated", "accepted")]

    unreadable = post_signed(stack["webhookUrl"], SIGNING_KEY, f"not JSON {random.random()}".encode()).json()
    assert unreadable["status"] == "unprocessable"
    body = {"status": "unprocessable", "since": TODAY}
    assert api.post("/deliveries/replay", json=body).status_code == 403  # the merchant key alone
    started = api.post("/deliveries/replay", json=body, signed=True)
    assert started.status_code == 202 and started.json()["status"] == "RUNNING"
    replay_id = started.json()["replayId"]
    progress = _eventually(
        lambda: api.get(f"/deliveries/replay/{replay_id}", signed=True).json(), lambda p: p["status"] == "DONE"
    )
    assert progress["status"] == "DONE", progress
    assert progress["matched"] >= 1 and progress["replayed"] == progress["matched"]
    assert progress["outcomes"] == {"unprocessable": progress["replayed"]}  # still unreadable: kept so
    assert api.get("/deliveries/replay/no-such-replay", signed=True).status_code == 404
