"""Events out on the running local stack (CONTRACT section 9), as a merchant's system sees them.

A rule on the stack's bus with an SQS target (created here, on moto) receives one resend's
ResendStatusChanged events from PENDING to COMPLETED (the emulator's warehouse walks it there)
and its items' InventoryChanged events: by eventId, each change is there exactly once, and nothing
of the shipment is in any event. That a redelivered stream batch repeats its eventIds is
tests/functional/test_event_publisher.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest
import requests

from local.template import LocalTemplate
from tests.integration.test_resend_flow import SHIPMENT, wait_for

pytestmark = pytest.mark.integration

SOURCE = "returnhelper-resends"
# Values nobody could find in an event by accident (each passes the request's validation).
PII = {
    "shipmentName": "Evelyn Outbox-Pii",
    "shipmentPhone": "+1 555 0199 4321",
    "shipmentEmail": "evelyn.pii@example.net",
    "shipmentStreet1": "77 Stream Pii Lane",
    "shipmentCity": "Eventville Pii",
    "shipmentPostalCode": "08817-4242",  # ZIP+4 of SHIPMENT's New Jersey ZIP code (the address check)
}
LIFECYCLE = [(None, "PENDING"), ("PENDING", "SUBMITTED"), ("SUBMITTED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]


class Subscriber:
    """A rule on the bus -> a queue of its own; `events` is everything it received so far."""

    def __init__(
        self, aws_client, bus: str, detail_types: tuple[str, ...] = ("ResendStatusChanged", "InventoryChanged")
    ) -> None:
        self._events, self._sqs = aws_client("events"), aws_client("sqs")
        self.name, self.bus = f"it-subscriber-{uuid.uuid4().hex[:8]}", bus
        self.queue_url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        pattern = {"source": [SOURCE], "detail-type": list(detail_types)}
        self._events.put_rule(Name=self.name, EventBusName=bus, EventPattern=json.dumps(pattern))
        self._events.put_targets(Rule=self.name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
        self.events: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.events
            for message in messages:
                self.events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def close(self) -> None:
        self._events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["q"])
        self._events.delete_rule(Name=self.name, EventBusName=self.bus)
        self._sqs.delete_queue(QueueUrl=self.queue_url)


@pytest.fixture
def subscriber(stack, aws_client):
    subscription = Subscriber(aws_client, stack["eventBus"])
    yield subscription
    subscription.close()


def by_event_id(events: list[dict]) -> dict[str, list[dict]]:
    """Every delivery's detail, grouped by eventId (what a consumer that drops repeats keys on)."""
    grouped = defaultdict(list)
    for event in events:
        grouped[event["detail"]["eventId"]].append(event["detail"])
    return grouped


def test_a_resend_and_its_items_reach_a_subscriber_each_change_once_by_event_id(api, stack, subscriber):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    emulator = stack["emulator"]
    items = []
    for _ in range(2):
        arrived = requests.post(f"{emulator}/_emulator/inventories", json={"warehouseId": 2}, timeout=15).json()
        items.append(int(arrived["inventory"]["returnInventoryId"]))
    key = f"events-{uuid.uuid4().hex[:12]}"

    # WHEN a resend is created and the emulated warehouse completes it
    created = api.post(
        "/resends",
        json={"returnInventoryIdList": items, "resendShipment": {**SHIPMENT, **PII}},
        headers={"Idempotency-Key": key},
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["resendRequestId"]
    done = wait_for(lambda: api.get(f"/resends/{request_id}").json(), lambda v: v["status"] == "COMPLETED")

    def received_everything(events: list[dict]) -> bool:
        statuses = {e["detail"]["status"] for e in events if e["detail"].get("resendRequestId") == request_id}
        finished = {
            e["detail"]["returnInventoryId"]
            for e in events
            if e["detail-type"] == "InventoryChanged" and e["detail"].get("handlingStatusCode") == "completed"
        }
        return "COMPLETED" in statuses and set(items) <= finished

    wait_for(subscriber.drain, received_everything, timeout=30)
    time.sleep(1.5)  # late repeats of a redelivered batch count too
    events = subscriber.drain()

    # THEN every event is ours
    assert {e["source"] for e in events} == {SOURCE}

    # AND the resend's changes: every eventId always carries the same change, each change has one eventId
    mine = by_event_id([e for e in events if e["detail"].get("resendRequestId") == request_id])
    assert all(len({json.dumps(d, sort_keys=True) for d in deliveries}) == 1 for deliveries in mine.values())
    changes = [deliveries[0] for deliveries in mine.values()]
    ordered, previous = [], None  # ordered by previousStatus, the way a consumer would
    while len(ordered) < len(changes):
        [step] = [c for c in changes if c["previousStatus"] == previous]
        ordered.append(step)
        previous = step["status"]
    assert [(c["previousStatus"], c["status"]) for c in ordered] == LIFECYCLE
    assert ordered[-1]["trackingNumber"] == done["trackingNumber"] and done["trackingNumber"]
    assert {c["returnInventoryIdList"] == items and c["idempotencyKey"] == key for c in ordered} == {True}
    assert ordered[1]["resendId"] == done["resendId"]

    # AND the items' changes, the same way: reserved by the request, then resent and out of stock
    theirs = by_event_id(
        [e for e in events if e["detail-type"] == "InventoryChanged" and e["detail"]["returnInventoryId"] in items]
    )
    assert all(len({json.dumps(d, sort_keys=True) for d in deliveries}) == 1 for deliveries in theirs.values())
    views = [deliveries[0] for deliveries in theirs.values()]
    contents = [json.dumps({k: v for k, v in view.items() if k != "eventId"}, sort_keys=True) for view in views]
    assert len(set(contents)) == len(contents), "one change published under two eventIds"
    for item in items:
        history = [view for view in views if view["returnInventoryId"] == item]
        assert all(view["changed"] for view in history)
        reserved = [view for view in history if "activeResendRequestId" in view["changed"]]
        assert reserved and reserved[0]["activeResendRequestId"] == request_id
        assert reserved[0]["eligibleForResend"] is False
        completed = [view for view in history if view["handlingStatusCode"] == "completed"]
        assert completed and (completed[-1]["handlingCode"], completed[-1]["inStock"]) == ("rsd", False)
        # what the API answers now is the view of one of the changes (the last one)
        current = api.get(f"/inventories/{item}").json()
        assert current in [{k: v for k, v in view.items() if k not in ("changed", "eventId")} for view in history]

    # AND the stack printed each of them, one line each (make run's event printer, a subscriber too)
    printed = Path(stack["logFile"]).read_text(errors="replace")
    for change in ordered:
        transition = f"{change['previousStatus'] or '-'} -> {change['status']}"
        line = f"[events] ResendStatusChanged {change['eventId']} {transition}"
        assert line in printed, line

    # AND every event is what the schema registry says (template.yaml's EventSchemas)
    schemas = {
        json.loads(r["Properties"]["Content"])["title"]: json.loads(r["Properties"]["Content"])
        for r in LocalTemplate.load().resources("AWS::EventSchemas::Schema").values()
    }
    for event in events:
        jsonschema.Draft4Validator(schemas[event["detail-type"]]).validate(event)

    # AND no event carries the shipment
    text = json.dumps(events)
    leaked = [value for value in PII.values() if value in text]
    assert not leaked, f"shipment values in events: {leaked}"
