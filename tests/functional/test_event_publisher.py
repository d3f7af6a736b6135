"""EventPublisherFunction: stream batches -> PutEvents in tens, failed entries alone sent again,
records whose event never made it (or that cannot be read) reported as batch item failures.

PutEvents is an in-memory fake here because moto never fails an entry; what a real bus
receives is asserted in test_observability.py (moto) and the integration test (local stack).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.support.streams import stream_record


class FakeEventBridge:
    """put_events like EventBridge's: per-entry answers; `fail(event_id)` says how often an entry is refused."""

    def __init__(self, refusals: dict[str, int] | None = None) -> None:
        self.refusals = dict(refusals or {})
        self.calls: list[list[dict]] = []

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.calls.append(Entries)
        answers = []
        for number, entry in enumerate(Entries):
            event_id = json.loads(entry["Detail"])["eventId"]
            if self.refusals.get(event_id, 0) > 0:
                self.refusals[event_id] -= 1
                answers.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
            else:
                answers.append({"EventId": f"bus-{len(self.calls)}-{number}"})
        failed = sum("ErrorCode" in answer for answer in answers)
        return {"FailedEntryCount": failed, "Entries": answers}

    def sent(self) -> list[str]:
        return [json.loads(entry["Detail"])["eventId"] for call in self.calls for entry in call]


@pytest.fixture
def publisher(load_function):
    def make(refusals=None):
        module = load_function("EventPublisherFunction")
        module.publisher._client = FakeEventBridge(refusals)
        module.publisher._sleep = lambda seconds: None
        return module

    return make


def requests_created(count: int) -> dict:
    """A batch of `count` new resend requests (INSERT records), event ids e-0..., sequence numbers 100..."""
    records = [
        stream_record(
            {"resendRequestId": f"r-{i}", "status": "PENDING", "returnInventoryIdList": [i]},
            event_id=f"e-{i}",
            sequence=str(100 + i),
        )
        for i in range(count)
    ]
    return {"Records": records}


def test_events_go_out_in_tens_and_only_refused_entries_are_sent_again(publisher, lambda_context):
    module = publisher({"e-2": 1, "e-7": 2})
    response = module.lambda_handler(requests_created(12), lambda_context)
    bus = module.publisher.client
    assert response == {"batchItemFailures": []}
    assert [len(call) for call in bus.calls] == [10, 2, 2, 1]
    # every event went out; the refused ones again, alone, until accepted
    sent = bus.sent()
    assert sorted(set(sent)) == sorted(f"e-{i}" for i in range(12))
    assert {event_id: sent.count(event_id) for event_id in sent if sent.count(event_id) > 1} == {"e-2": 2, "e-7": 3}
    entry = bus.calls[0][0]
    assert (entry["DetailType"], entry["Source"]) == ("ResendStatusChanged", "returnhelper-resends")
    assert entry["EventBusName"] == module.publisher._bus


def test_a_record_whose_event_is_refused_every_time_fails_alone(publisher, lambda_context):
    module = publisher({"e-3": 99})
    response = module.lambda_handler(requests_created(5), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "103"}]}
    sent = module.publisher.client.sent()
    assert sent.count("e-3") == 3 and all(sent.count(f"e-{i}") == 1 for i in (0, 1, 2, 4))


def test_a_record_that_cannot_be_read_fails_alone_and_the_others_are_published(publisher, lambda_context):
    module = publisher()
    batch = requests_created(3)
    batch["Records"][1]["dynamodb"].pop("NewImage")  # e.g. a KEYS_ONLY stream
    response = module.lambda_handler(batch, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert module.publisher.client.sent() == ["e-0", "e-2"]


def test_changes_that_are_no_event_publish_nothing_and_succeed(publisher, lambda_context):
    module = publisher()
    old = {"resendRequestId": "r-1", "status": "PENDING", "attempts": 1}
    batch = {"Records": [stream_record({**old, "attempts": 2}, old, sequence="300")]}
    assert module.lambda_handler(batch, lambda_context) == {"batchItemFailures": []}
    assert module.publisher.client.calls == []


def test_a_batch_delivered_again_after_a_crash_repeats_each_change_under_the_same_event_id(publisher, lambda_context):
    # GIVEN a batch of resend and inventory changes whose first half went out before the function
    # crashed (nothing checkpointed: Lambda delivers the whole batch again)
    item = {"returnInventoryId": 30001, "warehouseId": 2, "handlingCode": "tbc", "v_handlingCode": "v1"}
    item.update(handlingStatusCode="pending", v_handlingStatusCode="v1", inStock=True, v_inStock="v1", revision=1)
    batch = requests_created(3)
    batch["Records"].append(stream_record(item, key="returnInventoryId", event_id="i-1", sequence="200"))
    module = publisher()
    module.lambda_handler({"Records": batch["Records"][:2]}, lambda_context)
    # WHEN it is delivered again, whole
    assert module.lambda_handler(batch, lambda_context) == {"batchItemFailures": []}
    # THEN each change went out under its record's eventId, a repeat with the very same detail,
    # so a consumer that drops repeats by eventId sees each change once
    details = defaultdict(set)
    for entry in (entry for call in module.publisher.client.calls for entry in call):
        details[json.loads(entry["Detail"])["eventId"]].add((entry["DetailType"], entry["Detail"]))
    assert sorted(module.publisher.client.sent()) == ["e-0", "e-0", "e-1", "e-1", "e-2", "i-1"]
    assert {event_id: len(sent) for event_id, sent in details.items()} == dict.fromkeys(["e-0", "e-1", "e-2", "i-1"], 1)
