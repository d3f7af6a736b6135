"""Resends through the running local stack: arrivals from the emulator, then POST /resends over HTTP.

The reservation guarantee rests on DynamoDB's transactions being atomic under
concurrency, which DynamoDB Local provides and moto does not.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.integration

SHIPMENT = {
    "shipmentServiceType": "SHIPMENT_UPS_GROUND_NJ",
    "shipmentCountryCode": "usa",
    "shipmentName": "Test Recipient",
    "shipmentPhone": "5550100",
    "shipmentStreet1": "1 Test Street",
    "shipmentState": "NJ",
    "shipmentCity": "Testville",
    "shipmentPostalCode": "08817",  # a New Jersey ZIP code (the address check)
}


@pytest.fixture
def arrive(stack):
    """An item arrives at warehouse 2: the emulator registers it and sends the signed webhook."""
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")

    def one() -> int:
        response = requests.post(f"{stack['emulator']}/_emulator/inventories", json={"warehouseId": 2}, timeout=15)
        response.raise_for_status()
        assert response.json()["webhook"]["status"] == 200
        return int(response.json()["inventory"]["returnInventoryId"])

    return one


def upstream_creations(stack) -> dict:
    return requests.get(f"{stack['emulator']}/_emulator/state", timeout=10).json()["createdPerIdempotencyKey"]


def test_a_resend_over_http_is_submitted_once(api, stack, arrive):
    items = [arrive(), arrive()]
    body = {"returnInventoryIdList": items, "resendShipment": SHIPMENT}
    created = api.post("/resends", json=body, headers={"Idempotency-Key": f"it-{items[0]}"})
    assert created.status_code == 201, created.text
    replayed = api.post("/resends", json=body, headers={"Idempotency-Key": f"it-{items[0]}"})
    assert (replayed.status_code, replayed.json()) == (201, created.json())
    assert upstream_creations(stack)[f"it-{items[0]}"] == 1
    view = api.get(f"/inventories/{items[0]}").json()
    assert view["activeResendRequestId"] == created.json()["resendRequestId"]
    assert view["eligibleForResend"] is False
    by_key = api.get("/resends", params={"idempotencyKey": f"it-{items[0]}"})
    assert by_key.json()["resendRequestId"] == created.json()["resendRequestId"]


def test_a_canceled_resends_items_can_be_resent_at_once(api, arrive):
    items = [arrive()]
    before = api.get(f"/inventories/{items[0]}").json()
    body = {"returnInventoryIdList": items, "resendShipment": SHIPMENT}
    created = api.post("/resends", json=body)
    assert created.status_code == 201, created.text
    canceled = api.post(f"/resends/{created.json()['resendRequestId']}/cancel")
    assert (canceled.status_code, canceled.json()["status"]) == (200, "CANCELED"), canceled.text
    view = api.get(f"/inventories/{items[0]}").json()
    assert (view["handlingCode"], view["handlingStatusCode"]) == (before["handlingCode"], before["handlingStatusCode"])
    assert view["eligibleForResend"] is True
    again = api.post("/resends", json=body)
    assert (again.status_code, again.json()["status"]) == (201, "SUBMITTED"), again.text


@pytest.mark.needs_dynamodb_local(reason="needs DynamoDB Local: moto's transactions are not atomic under concurrency")
def test_concurrent_requests_for_overlapping_items_exactly_one_wins(api, stack, arrive):
    shared = arrive()
    others = [arrive() for _ in range(4)]
    bodies = [{"returnInventoryIdList": [shared, other], "resendShipment": SHIPMENT} for other in others] * 2

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda body: api.post("/resends", json=body), bodies))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(bodies) - 1), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    for loser in (r.json() for r in responses if r.status_code == 409):
        assert {"returnInventoryId": shared, "resendRequestId": winner["resendRequestId"]} in loser["conflicts"]
    assert upstream_creations(stack).get(winner["resendRequestId"]) == 1
    held = [api.get(f"/inventories/{i}").json()["activeResendRequestId"] for i in [shared, *others]]
    assert sum(holder is not None for holder in held) == 2


def wait_for(read, predicate, timeout=60.0, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = read()
        if predicate(last):
            return last
        time.sleep(interval)
    raise AssertionError(f"gave up waiting; last seen: {last}")


def test_transient_upstream_failures_are_retried_through_sqs_until_submitted(api, stack, arrive):
    item = arrive()
    faults = [{"kind": "http5xx", "status": 503}, {"kind": "http429", "retryAfter": 1}]
    requests.post(
        f"{stack['emulator']}/_emulator/faults", json={"operation": "createResend", "faults": faults}, timeout=10
    ).raise_for_status()
    created = api.post(
        "/resends",
        json={"returnInventoryIdList": [item], "resendShipment": SHIPMENT},
        headers={"Idempotency-Key": f"retry-{item}"},
    )
    assert (created.status_code, created.json()["status"]) == (202, "PENDING")
    request_id = created.json()["resendRequestId"]
    view = wait_for(lambda: api.get(f"/resends/{request_id}").json(), lambda v: v["status"] != "PENDING")
    assert view["status"] in {"SUBMITTED", "IN_PROGRESS", "COMPLETED"} and view["attempts"] == 3
    assert upstream_creations(stack)[f"retry-{item}"] == 1


def test_automation_requests_on_the_queue_take_the_same_path(api, stack, arrive, aws_client):
    item = arrive()
    sqs = aws_client("sqs")
    key = f"automation-{item}"
    message = {"idempotencyKey": key, "request": {"returnInventoryIdList": [item], "resendShipment": SHIPMENT}}
    sqs.send_message(QueueUrl=stack["queues"]["ResendRequestQueue"], MessageBody=json.dumps(message))
    # The record exists from the reservation on, PENDING until Return Helper has answered: wait past that.
    view = wait_for(
        lambda: api.get("/resends", params={"idempotencyKey": key}),
        lambda r: r.status_code == 200 and r.json()["status"] != "PENDING",
    )
    assert view.json()["status"] in {"SUBMITTED", "IN_PROGRESS", "COMPLETED"}
    bad = {"idempotencyKey": f"{key}-bad", "request": {"returnInventoryIdList": [item]}}
    sqs.send_message(QueueUrl=stack["queues"]["ResendRequestQueue"], MessageBody=json.dumps(bad))
    rejected = wait_for(
        lambda: api.get("/resends", params={"idempotencyKey": f"{key}-bad"}), lambda r: r.status_code == 200
    )
    assert rejected.json()["status"] == "REJECTED"


def test_a_status_report_that_beats_the_create_answer_is_applied_once_the_answer_is_recorded(api, stack, arrive):
    # GIVEN Return Helper creates the resend but holds its answer back for a while
    items = [arrive()]
    hold = {"operation": "createResend", "faults": [{"kind": "timeoutAfterCommit", "seconds": 3}]}
    requests.post(f"{stack['emulator']}/_emulator/faults", json=hold, timeout=10).raise_for_status()
    body = {"returnInventoryIdList": items, "resendShipment": SHIPMENT}
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(api.post, "/resends", json=body)
        resend_id = _created_upstream_for(stack, items[0])
        # WHEN the warehouse starts it, and its signed report arrives before the create answer
        advanced = requests.post(
            f"{stack['emulator']}/_emulator/resends/{resend_id}/advance", json={"to": "inProgress"}, timeout=15
        )
        assert advanced.json()["webhook"]["status"] == 200, advanced.text  # parked: its record is not there
        created = answer.result(timeout=30)
    # THEN the create answers as usual, and the parked report is applied without any poll
    assert (created.status_code, created.json()["status"]) == (201, "SUBMITTED"), created.text
    path = f"/resends/{created.json()['resendRequestId']}"
    deadline = time.monotonic() + 20
    while api.get(path).json()["status"] == "SUBMITTED" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.get(path).json()["status"] in {"IN_PROGRESS", "COMPLETED"}  # auto-progress may go on


def _created_upstream_for(stack, inventory_id: int) -> int:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = requests.get(f"{stack['emulator']}/_emulator/state", timeout=10).json()
        for resend in state["resends"]:
            if inventory_id in resend["returnInventoryIdList"]:
                return int(resend["resendId"])
        time.sleep(0.05)
    raise AssertionError(f"Return Helper never created a resend for {inventory_id}")
