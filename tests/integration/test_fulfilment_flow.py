"""Fulfilments on the running local stack (contract section 12): arrivals through signed webhooks, the stock
rows kept by InventoryReferenceFunction from the inventory stream, and POST /fulfilments reserving through
DynamoDB Local's transactions (atomic under concurrent requests, unlike moto's): two orders racing for the
last unit, one gets it; and an order dropped on the resend request queue, read like one made over HTTP."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from rh_common.domain.idempotency_keys import fulfilment_id_for
from tests.integration.test_resend_flow import SHIPMENT, wait_for

pytestmark = pytest.mark.integration
NJ = 2


@pytest.fixture
def stocked(api, stack):
    """stocked(sku, n): n units of `sku` arrived in New Jersey (ohd: no hold), once GET /stock counts them."""
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")

    def make(sku: str, n: int) -> list[int]:
        ids = []
        for _ in range(n):
            response = requests.post(
                f"{stack['emulator']}/_emulator/inventories",
                json={"warehouseId": NJ, "sku": sku, "handlingCode": "ohd"},
                timeout=15,
            )
            response.raise_for_status()
            ids.append(int(response.json()["inventory"]["returnInventoryId"]))

        def eligible() -> int:
            return sum(u["eligible"] for u in api.get("/stock", params={"sku": sku}).json()["units"])

        wait_for(eligible, lambda count: count == n, timeout=30)
        return ids

    return make


def order(sku: str, quantity: int) -> dict:
    return {
        "orderReference": f"IT-ORDER-{uuid.uuid4().hex[:8]}",
        "lines": [{"sku": sku, "quantity": quantity}],
        "resendShipment": {**SHIPMENT, "shipmentServiceType": "cheapest"},
        "holdFirst": True,
    }


def test_two_orders_racing_for_the_last_unit_one_gets_it_and_the_other_is_told_what_is_missing(api, stack, stocked):
    sku = f"IT-LAST-{uuid.uuid4().hex[:8]}"
    [unit] = stocked(sku, 1)
    start = threading.Barrier(2)

    def fulfil(key: str) -> requests.Response:
        start.wait(timeout=10)
        return api.post("/fulfilments", json=order(sku, 1), headers={"Idempotency-Key": key})

    keys = [f"it-race-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(fulfil, keys))

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 201)
    loser = next(a.json() for a in answers if a.status_code == 409)
    [resend] = winner["resends"]
    assert (resend["returnInventoryIdList"], resend["warehouseId"], winner["unfilled"]) == ([unit], NJ, [])
    assert loser["unfilled"] == [{"sku": sku, "quantity": 1}] and loser["resends"] == []
    # The unit is the winner's, and Return Helper was asked to create its resend once.
    view = api.get(f"/inventories/{unit}").json()
    assert view["activeResendRequestId"] == resend["resendRequestId"]
    key = api.get(f"/resends/{resend['resendRequestId']}").json()["idempotencyKey"]

    def created() -> dict:
        return requests.get(f"{stack['emulator']}/_emulator/state", timeout=10).json()["createdPerIdempotencyKey"]

    assert wait_for(created, lambda state: key in state, timeout=30)[key] == 1


def test_an_order_on_the_resend_request_queue_is_filled_as_over_http(api, stack, aws_client, stocked):
    sku = f"IT-QUEUED-{uuid.uuid4().hex[:8]}"
    units = stocked(sku, 2)
    key = f"it-queued-{uuid.uuid4().hex[:8]}"
    message = {"idempotencyKey": key, "fulfilment": order(sku, 2)}
    aws_client("sqs").send_message(QueueUrl=stack["queues"]["ResendRequestQueue"], MessageBody=json.dumps(message))

    fulfilment = wait_for(
        lambda: api.get(f"/fulfilments/{fulfilment_id_for(key)}"), lambda r: r.status_code == 200, timeout=60
    ).json()
    [resend] = fulfilment["resends"]
    assert sorted(resend["returnInventoryIdList"]) == sorted(units) and fulfilment["status"] == "CREATED"
    # The same key over HTTP answers the same fulfilment, not a second one.
    again = api.post("/fulfilments", json=message["fulfilment"], headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["fulfilmentId"] == fulfilment["fulfilmentId"]
