"""Nothing lost (contract section 8), measured from outside the running local stack.

A burst of signed deliveries from senders that redeliver anything not answered 200, as
Return Helper does, while DynamoDB Local is frozen (SIGSTOP) for longer than the webhook
function's timeout: the attempts in flight die (the gateway answers 504) after their first
write may have landed. Every delivery answered 200 must have its effect.
"""

import json
import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from local import settings as local_settings
from local.sign import post_signed

pytestmark = pytest.mark.integration

SIGNING_KEY = local_settings.DEV_RH_SIGNING_KEY
# Past the webhook function's Timeout (10 s, template Globals): an attempt caught by the
# freeze is killed, like a function that times out or dies between its two writes.
FREEZE_SECONDS = 12


def dynamodb_local_pid(endpoint: str) -> int:
    port = str(urlparse(endpoint).port)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"DynamoDBLocal.jar") for a in argv) and port.encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no DynamoDB Local process on port {port}")


def at(second: int) -> str:
    return f"2025-04-04T10:{second // 60:02d}:{second % 60:02d}.1234567Z"


def versions(inventory_id: int) -> list[dict]:
    """Three versions of one item: arrival, on hold, sku set (the newest state: ohd + sku)."""
    base = {"returnInventoryId": inventory_id, "warehouseId": 2}
    return [
        {
            "category": "newInventoryCreated",
            "action": "newInventoryCreated",
            "eventTime": at(1),
            "returnInventory": {**base, "handlingCode": "tbc", "handlingStatusCode": "pending"},
        },
        {
            "category": "rinv",
            "action": "cancelInventoryHandling",
            "eventTime": at(2),
            "returnInventory": {**base, "handlingCode": 4, "handlingStatusCode": 0},
        },
        {
            "category": "userUpdateReturnInventorySku",
            "action": "userUpdateReturnInventorySku",
            "eventTime": at(3),
            "returnInventory": {**base, "sku": f"SKU-{inventory_id}"},
        },
    ]


@pytest.mark.needs_dynamodb_local  # freezes the DynamoDB Local process
def test_a_burst_with_dynamodb_frozen_past_the_function_timeout_loses_nothing(stack):
    first = random.randint(10**9, 10**11)
    ids = list(range(first, first + 40))
    bodies = [json.dumps(payload).encode() for i in ids for payload in versions(i)]
    bodies += random.sample(bodies, len(bodies) // 4)  # duplicates
    random.shuffle(bodies)
    answers: dict[bytes, int] = {}
    not_ok = []
    lock = threading.Lock()

    def sender(raw: bytes) -> None:
        while True:  # Return Helper redelivers anything not answered 200
            try:
                response = post_signed(stack["webhookUrl"], SIGNING_KEY, raw, timeout=60)
                status = response.status_code
            except requests.RequestException:
                status = None
            if status == 200:
                with lock:
                    answers[raw] = answers.get(raw, 0) + 1
                return
            with lock:
                not_ok.append(status)
            time.sleep(0.5)

    pid = dynamodb_local_pid(stack["dynamodbEndpoint"])
    with ThreadPoolExecutor(max_workers=8) as senders:
        futures = [senders.submit(sender, raw) for raw in bodies[: len(bodies) // 3]]
        time.sleep(1.0)  # the burst is under way
        os.kill(pid, signal.SIGSTOP)
        try:
            futures += [senders.submit(sender, raw) for raw in bodies[len(bodies) // 3 :]]
            time.sleep(FREEZE_SECONDS)
        finally:
            os.kill(pid, signal.SIGCONT)
        for future in futures:
            future.result(timeout=300)

    assert len(answers) == len(set(bodies))
    assert not_ok, "the freeze should have failed some attempts (else this test shows nothing)"
    for inventory_id in ids:
        view = requests.get(
            f"{stack['api']}/inventories/{inventory_id}", headers={"x-api-key": stack["apiKey"]}, timeout=10
        ).json()
        assert (view.get("handlingCode"), view.get("handlingStatusCode"), view.get("sku")) == (
            "ohd",
            "pending",
            f"SKU-{inventory_id}",
        ), view
        assert view["lastEventTime"] == at(3)


def test_a_non_json_delivery_is_listed_and_replayed_over_http(stack, api):
    raw = f"not JSON {random.random()}".encode()
    answer = post_signed(stack["webhookUrl"], SIGNING_KEY, raw).json()
    assert answer["status"] == "unprocessable"
    # operator routes: the merchant key alone is refused; the operator's SigV4 signature is what opens them
    refused = api.get("/deliveries", params={"status": "unprocessable"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Missing Authentication Token"})
    listed = api.get("/deliveries", params={"status": "unprocessable", "limit": 100}, signed=True)
    assert listed.status_code == 200
    assert answer["deliveryId"] in [item["deliveryId"] for item in listed.json()["items"]]
    replayed = api.post(f"/deliveries/{answer['deliveryId']}/replay", signed=True)
    assert (replayed.status_code, replayed.json()) == (
        200,
        {"deliveryId": answer["deliveryId"], "outcome": "unprocessable"},
    )
    assert api.post("/deliveries/sha256:nope/replay", signed=True).status_code == 404
    assert api.get("/deliveries", params={"status": "x"}, signed=True).status_code == 422
