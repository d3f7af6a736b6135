"""One door for automation on the running local stack (contract section 10): the local SQS poller hands
the worker moto's queue ARN as each record's eventSourceARN, as Lambda does, so a message that is not an
intake shape is moved to the automation queue's DLQ at once (not after 5 receives of 180 s each), and a
key outside the grammar reserves nothing."""

import json
import time

import pytest
import requests

from tests.integration.test_resend_flow import SHIPMENT

pytestmark = pytest.mark.integration


def arrive(stack) -> int:
    response = requests.post(f"{stack['emulator']}/_emulator/inventories", json={"warehouseId": 2}, timeout=15)
    response.raise_for_status()
    return int(response.json()["inventory"]["returnInventoryId"])


def moved_to_the_dlq(sqs, dlq_url: str, bodies: set[str], timeout: float = 30.0) -> set[str]:
    """The bodies seen in the DLQ within `timeout` (each deleted once read)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while seen != bodies and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            if message["Body"] in bodies:
                seen.add(message["Body"])
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def test_what_is_not_an_intake_shape_is_moved_to_the_automation_dlq_at_once(api, stack, aws_client):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    sqs = aws_client("sqs")
    item = arrive(stack)
    bodies = {
        json.dumps(
            {
                "idempotencyKey": f"order-€{item}",
                "request": {"returnInventoryIdList": [item], "resendShipment": SHIPMENT},
            }
        ),
        json.dumps({"resendRequestId": f"retry-shaped-{item}"}),
        json.dumps({"kind": "inventorySyncPage", "syncId": f"sync-shaped-{item}", "offset": 0}),
    }
    for body in bodies:
        sqs.send_message(QueueUrl=stack["queues"]["ResendRequestQueue"], MessageBody=body)
    assert moved_to_the_dlq(sqs, stack["queues"]["ResendRequestDLQ"], bodies) == bodies
    view = api.get(f"/inventories/{item}").json()
    assert view["activeResendRequestId"] is None and view["eligibleForResend"] is True
