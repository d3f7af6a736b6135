"""Contract section 11: the delivery log searched (GET /deliveries by status, category, window, item,
resend) and replayed in bulk (POST /deliveries/replay, run by the resend worker over its queue), through
the real handlers over moto."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import EndpointConnectionError

from rh_common.services.delivery_replay import Pacer
from tests.events.loader import load_event_bytes
from tests.support.call_counts import Calls
from tests.support.queue_drain import drain, lambda_record, receive
from tests.support.resend import handler_caller

TODAY = datetime.now(UTC).date().isoformat()


def _new_inventory(inventory_id: int, second: int = 0) -> bytes:
    payload = json.loads(load_event_bytes("newInventoryCreated"))
    payload["returnInventory"]["returnInventoryId"] = str(inventory_id)
    payload["eventTime"] = f"2025-03-03T08:15:{second:02d}.0000000Z"
    return json.dumps(payload).encode()


def _delivery_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _boom(*args, **kwargs):
    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")  # unavailable


class FakeClock:
    """time.monotonic and time.sleep for a Pacer: sleeping moves the clock; `starts` are the paced starts."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


@pytest.fixture
def functions(load_with_upstream, replay_queue, lambda_context):
    """The merchant API (starts, shows) and the resend worker (runs pages), on the replay queue."""
    # 2 a second over 2 workers: pages of 10 (10 s each at 1 a second), on a fake clock (`clock`).
    env = {"DELIVERY_REPLAY_QUEUE_URL": replay_queue, "DELIVERY_REPLAY_RATE_LIMIT": "2"}
    return load_with_upstream("MerchantApiFunction", **env), load_with_upstream("ResendWorkerFunction", **env)


@pytest.fixture
def operator(functions, lambda_context):
    return handler_caller(functions[0], lambda_context)


@pytest.fixture
def clock(functions, monkeypatch):
    """The worker's pacer on a fake clock, recording when each replayed delivery started."""
    worker = functions[1]
    fake = FakeClock()
    settings = worker.services.delivery_replays
    pacer = Pacer(settings.pacer._interval**-1, clock=fake, sleep=fake.sleep)
    wait = pacer.wait

    def recorded_wait() -> None:
        wait()
        fake.starts.append(fake.now)

    monkeypatch.setattr(pacer, "wait", recorded_wait)
    monkeypatch.setattr(settings, "pacer", pacer)
    return fake


def _fail_applies(webhook, deliver, monkeypatch, raws):
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", _boom)
        for raw in raws:
            assert deliver(raw)[0] == 500


# ------------------------------------------------------------------ search


def test_deliveries_are_found_by_item_resend_status_category_and_window(operator, deliver, report):
    item_raw, other_raw = _new_inventory(30001), _new_inventory(30002)
    for raw in (item_raw, other_raw, load_event_bytes("labelGenerated")):
        assert deliver(raw)[0] == 200
    report(3611, 3, [30001], second=1, tracking="1Z")

    status, page = operator("GET", "/deliveries", query={"inventoryId": "30001"})
    assert status == 200 and page["nextToken"] is None
    assert [(i["deliveryId"], i["category"], i["status"]) for i in page["items"]] == [
        (_delivery_id(item_raw), "newInventoryCreated", "accepted")
    ]
    status, page = operator("GET", "/deliveries", query={"resendId": "3611"})
    assert [(i["category"], i["action"]) for i in page["items"]] == [("resend", "updateResendStatus")]
    # Both: the resend's reports that name the item.
    assert len(operator("GET", "/deliveries", query={"resendId": "3611", "inventoryId": "30001"})[1]["items"]) == 1
    assert operator("GET", "/deliveries", query={"resendId": "3611", "inventoryId": "30002"})[1]["items"] == []
    # An id combined with a status that it is not in.
    assert operator("GET", "/deliveries", query={"inventoryId": "30001", "status": "applyFailed"})[1]["items"] == []
    status, page = operator("GET", "/deliveries", query={"status": "accepted", "category": "newInventoryCreated"})
    assert {i["deliveryId"] for i in page["items"]} == {_delivery_id(item_raw), _delivery_id(other_raw)}
    assert operator("GET", "/deliveries", query={"status": "ignored", "category": "labelGenerated"})[1]["items"]
    # The window bounds the arrival here, not the event's own time (2025).
    assert len(operator("GET", "/deliveries", query={"inventoryId": "30002", "since": TODAY})[1]["items"]) == 1
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert operator("GET", "/deliveries", query={"inventoryId": "30002", "until": yesterday})[1]["items"] == []
    # Unknown ids: no items, not an error.
    assert operator("GET", "/deliveries", query={"inventoryId": "99999"}) == (200, {"items": [], "nextToken": None})


def test_every_search_is_one_index_query_never_a_scan(operator, deliver, report, emulator, monkeypatch):
    deliver(_new_inventory(30003))
    report(3612, 3, [30003], second=1)
    calls = Calls(monkeypatch, emulator.api_base)
    indexes: list[str | None] = []
    from rh_common.adapters.dynamodb import base

    base.client().meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, **_: indexes.append(params.get("IndexName"))
    )
    for query in (
        {"status": "accepted"},
        {"status": "accepted", "category": "newInventoryCreated", "since": TODAY, "until": TODAY},
        {"inventoryId": "30003"},
        {"resendId": "3612", "inventoryId": "30003", "status": "parked"},  # no such resend here: parked
    ):
        calls.reset()
        indexes.clear()
        status, page = operator("GET", "/deliveries", query=query)
        assert status == 200 and page["items"], query
        assert calls.dynamodb == ["Query"], (query, calls.dynamodb)
        assert indexes == ["ByStatus" if "inventoryId" not in query else "BySubject"], query


def test_search_pages_follow_the_index_and_refuse_bad_input(operator, deliver):
    raws = [_new_inventory(30004, second=s) for s in range(3)]
    for raw in raws:
        deliver(raw)
    seen, token = [], None
    for _ in range(3):
        query = {"inventoryId": "30004", "limit": "1", **({"nextToken": token} if token else {})}
        status, page = operator("GET", "/deliveries", query=query)
        assert status == 200 and len(page["items"]) == 1
        seen.append(page["items"][0]["deliveryId"])
        token = page["nextToken"]
    assert (
        token is None
        or operator("GET", "/deliveries", query={"inventoryId": "30004", "nextToken": token})[1]["items"] == []
    )
    assert sorted(seen) == sorted(_delivery_id(raw) for raw in raws)

    first = operator("GET", "/deliveries", query={"inventoryId": "30004", "limit": "1"})[1]
    status, body = operator("GET", "/deliveries", query={"inventoryId": "30005", "nextToken": first["nextToken"]})
    assert status == 422 and body["errors"][0]["field"] == "nextToken"
    status, body = operator("GET", "/deliveries", query={"status": "accepted", "nextToken": first["nextToken"]})
    assert status == 422 and body["errors"][0]["field"] == "nextToken"
    for query, field in (
        ({}, "status"),
        ({"category": "newInventoryCreated"}, "status"),
        ({"status": "accepted", "since": "yesterday"}, "since"),
        ({"status": "accepted", "until": "2026-13-01"}, "until"),
        ({"status": "accepted", "since": "2026-01-02", "until": "2026-01-01"}, "since"),
        ({"status": "accepted", "since": "2999-01-01"}, "since"),
        ({"status": "accepted", "since": "2026-01-01T00:00:00"}, "since"),  # no offset
        ({"inventoryId": "0"}, "inventoryId"),
        ({"resendId": "x"}, "resendId"),
    ):
        status, body = operator("GET", "/deliveries", query=query)
        assert status == 422 and [e["field"] for e in body["errors"]] == [field], (query, body)


# ------------------------------------------------------------------ bulk replay


def test_a_bulk_replay_applies_every_matching_delivery_and_reports_progress(
    functions, operator, webhook, deliver, replay_queue, tables, lambda_context, clock, monkeypatch
):
    raws = [_new_inventory(30010 + n, second=n) for n in range(12)]
    _fail_applies(webhook, deliver, monkeypatch, raws)
    deliver(load_event_bytes("labelGenerated"))  # ignored: not this replay's
    status, started = operator("POST", "/deliveries/replay", body={"status": "applyFailed", "since": TODAY})
    assert status == 202 and started["status"] == "RUNNING" and set(started) == {"replayId", "status"}
    status, progress = operator("GET", f"/deliveries/replay/{started['replayId']}")
    assert (status, progress["status"], progress["matched"]) == (200, "RUNNING", 0)

    pages = drain(functions[1], replay_queue, lambda_context)

    status, progress = operator("GET", f"/deliveries/replay/{started['replayId']}")
    assert progress == {
        "replayId": started["replayId"],
        "status": "DONE",
        "matched": 12,
        "replayed": 12,
        "outcomes": {"applied": 12},
    }
    assert pages == 2  # pages of 10
    assert operator("GET", "/deliveries", query={"status": "applyFailed"})[1]["items"] == []
    stored = boto3.client("dynamodb").get_item(
        TableName=tables["InventoryTable"], Key={"returnInventoryId": {"N": "30011"}}
    )["Item"]
    assert stored["inStock"] == {"BOOL": True}


def test_a_replay_of_a_replay_changes_nothing_and_an_empty_window_is_done_with_nothing(
    functions, operator, webhook, deliver, replay_queue, tables, lambda_context, clock, monkeypatch
):
    raw = _new_inventory(30030)
    _fail_applies(webhook, deliver, monkeypatch, [raw])
    operator("POST", "/deliveries/replay", body={"status": "applyFailed", "since": TODAY})
    drain(functions[1], replay_queue, lambda_context)
    key = {"returnInventoryId": {"N": "30030"}}
    before = boto3.client("dynamodb").get_item(TableName=tables["InventoryTable"], Key=key)["Item"]

    for body in (
        {"status": "applyFailed", "since": TODAY},  # the same replay again: nothing left in that state
        {"status": "unprocessable", "since": "2025-01-01", "until": "2025-01-02"},  # a window with nothing in it
    ):
        status, started = operator("POST", "/deliveries/replay", body=body)
        assert status == 202
        drain(functions[1], replay_queue, lambda_context)
        progress = operator("GET", f"/deliveries/replay/{started['replayId']}")[1]
        assert (progress["status"], progress["matched"], progress["replayed"], progress["outcomes"]) == (
            "DONE",
            0,
            0,
            {},
        )
    assert boto3.client("dynamodb").get_item(TableName=tables["InventoryTable"], Key=key)["Item"] == before


def test_a_redelivered_page_is_counted_once_and_queues_its_successor_once(
    functions, operator, webhook, deliver, replay_queue, lambda_context, clock, monkeypatch
):
    raws = [_new_inventory(30040 + n, second=n) for n in range(11)]  # two pages of 10 and 1
    _fail_applies(webhook, deliver, monkeypatch, raws)
    worker = functions[1]
    replay_id = operator("POST", "/deliveries/replay", body={"status": "applyFailed", "since": TODAY})[1]["replayId"]
    [first] = receive(replay_queue)
    event = {"Records": [lambda_record(first, replay_queue)]}
    for _ in range(3):  # SQS delivers it again (the visibility timeout ran out; a duplicate)
        assert worker.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    progress = operator("GET", f"/deliveries/replay/{replay_id}")[1]
    assert (progress["matched"], progress["replayed"], progress["outcomes"]) == (10, 10, {"applied": 10})
    boto3.client("sqs").delete_message(QueueUrl=replay_queue, ReceiptHandle=first["ReceiptHandle"])
    successors = receive(replay_queue)
    assert [json.loads(m["Body"])["page"] for m in successors] == [1]  # one successor, not three
    assert worker.lambda_handler({"Records": [lambda_record(successors[0], replay_queue)]}, lambda_context) == {
        "batchItemFailures": []
    }
    progress = operator("GET", f"/deliveries/replay/{replay_id}")[1]
    assert progress == {
        "replayId": replay_id,
        "status": "DONE",
        "matched": 11,
        "replayed": 11,
        "outcomes": {"applied": 11},
    }


def test_a_page_whose_function_died_before_queueing_the_next_is_resumed_by_its_redelivery(
    functions, operator, webhook, deliver, replay_queue, lambda_context, clock, monkeypatch
):
    raws = [_new_inventory(30060 + n, second=n) for n in range(11)]
    _fail_applies(webhook, deliver, monkeypatch, raws)
    worker = functions[1]
    service = worker.services.delivery_replays
    replay_id = operator("POST", "/deliveries/replay", body={"status": "applyFailed", "since": TODAY})[1]["replayId"]
    [first] = receive(replay_queue)
    event = {"Records": [lambda_record(first, replay_queue)]}
    with monkeypatch.context() as patch, pytest.raises(BatchProcessingError):  # its only record failed
        patch.setattr(service._queue, "send", _boom)  # counted, then the function dies queueing page 1
        worker.lambda_handler(event, lambda_context)
    assert operator("GET", f"/deliveries/replay/{replay_id}")[1]["matched"] == 10  # page 0 counted
    assert worker.lambda_handler(event, lambda_context) == {"batchItemFailures": []}  # SQS shows it again
    boto3.client("sqs").delete_message(QueueUrl=replay_queue, ReceiptHandle=first["ReceiptHandle"])
    drain(worker, replay_queue, lambda_context)
    progress = operator("GET", f"/deliveries/replay/{replay_id}")[1]
    assert (progress["status"], progress["matched"], progress["outcomes"]) == ("DONE", 11, {"applied": 11})


def test_a_replay_never_applies_faster_than_the_webhook_route_admits(
    functions, operator, webhook, deliver, replay_queue, lambda_context, clock, monkeypatch
):
    raws = [_new_inventory(30080 + n, second=n) for n in range(25)]
    _fail_applies(webhook, deliver, monkeypatch, raws)
    operator("POST", "/deliveries/replay", body={"status": "applyFailed", "since": TODAY})
    drain(functions[1], replay_queue, lambda_context)

    rate, workers = 2, 2  # as the fixture sets them (the template's: test_template_replay_rate)
    assert len(clock.starts) == 25
    # One worker's starts are 1/(rate/workers) apart: `workers` of them together stay within the webhook's rate.
    gaps = [later - earlier for earlier, later in zip(clock.starts, clock.starts[1:], strict=False)]
    assert min(gaps) >= workers / rate - 1e-9
    per_second = max(sum(1 for t in clock.starts if start <= t < start + 1) for start in clock.starts)
    assert per_second * workers <= rate


def test_a_replay_refuses_what_it_cannot_replay(operator):
    for body, field in (
        ({"status": "accepted", "since": TODAY}, "status"),
        ({"status": "applyFailed"}, "since"),
        ({"status": "applyFailed", "since": "2999-01-01"}, "since"),
        ({"status": "applyFailed", "since": "2026-01-02", "until": "2026-01-01"}, "since"),
        ({"status": "applyFailed", "since": "soon"}, "since"),
        ({"status": "applyFailed", "since": TODAY, "category": ""}, "category"),
        ({"status": "applyFailed", "since": TODAY, "extra": 1}, "extra"),
    ):
        status, answer = operator("POST", "/deliveries/replay", body=body)
        assert status == 422 and [e["field"] for e in answer["errors"]] == [field], (body, answer)
    assert operator("GET", "/deliveries/replay/nope")[0] == 404
