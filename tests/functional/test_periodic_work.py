"""Periodic work is bounded (CONTRACT section 10): the reconciler does what its invocation's remaining time
allows, deliveries first, and the next run goes on where it stopped; unknown attempts are asked about again
on every run (section 3).

Through the reconciler's handler over moto. Return Helper is a fake here on purpose: what is tested is how
much of it a run asks, on a clock that each call moves (the Lambda context's remaining time runs down with
it); its answers are the documented GetResend shape (a quiet resend: status 0)."""

from __future__ import annotations

import collections
import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import IN_STOCK_KEY, IN_STOCK_SHARDS, InventoryStore, in_stock_shard
from rh_common.domain import inventory, sync_windows
from rh_common.domain.timestamps import iso
from rh_common.domain.upstream_outcome import OutcomeKind, UpstreamOutcome
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event, load_event_bytes
from tests.functional.conftest import FakeLambdaContext
from tests.functional.test_inventory_sync import drain

NOW = datetime.now(UTC) + timedelta(hours=3)  # the runs' "now": everything written below looks quiet
TIMEOUT_MILLIS = 120_000  # template.yaml's ReconcilerFunction Timeout


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0


class RunningDownContext(FakeLambdaContext):
    """A Lambda context whose remaining time is the function's timeout minus the fake clock's time."""

    def __init__(self, clock: Clock, started_at: float, timeout_millis: int = TIMEOUT_MILLIS) -> None:
        self._clock, self._deadline = clock, started_at * 1000 + timeout_millis

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return int(self._deadline - self._clock.seconds * 1000)


class SlowReturnHelper:
    """GetResend answers "still pending" (status 0) and takes `seconds` of the fake clock."""

    def __init__(self, clock: Clock, seconds: float = 1.0) -> None:
        self._clock, self._seconds = clock, seconds
        self.asked: list[int] = []
        self.on_call = lambda: None

    def get_resend(self, resend_id: int) -> UpstreamOutcome:
        self.on_call()
        self._clock.seconds += self._seconds
        self.asked.append(resend_id)
        payload = {"resendId": resend_id, "resendStatusCode": 0, "resendShipmentList": []}
        return UpstreamOutcome(OutcomeKind.SUCCESS, "getResend", 200, payload=payload)


def quiet_submissions(table: str, count: int) -> list[str]:
    """`count` SUBMITTED requests that have been quiet for hours, oldest first (BatchWriteItem)."""
    ids = [f"quiet-{n:05d}" for n in range(count)]
    client = boto3.client("dynamodb")
    for start in range(0, count, 25):
        puts = [
            {
                "PutRequest": {
                    "Item": {
                        "resendRequestId": {"S": request_id},
                        "status": {"S": "SUBMITTED"},
                        "resendId": {"N": str(700_000 + n)},
                        "returnInventoryIdList": {"L": [{"N": str(900_000 + n)}]},
                        "createdAt": {"S": iso(NOW - timedelta(days=2))},
                        "updatedAt": {"S": iso(NOW - timedelta(hours=2) + timedelta(seconds=n))},
                    }
                }
            }
            for n, request_id in enumerate(ids[start : start + 25], start)
        ]
        client.batch_write_item(RequestItems={table: puts})
    return ids


@pytest.fixture
def reconciler(load_function, retry_queue):
    def load(upstream: SlowReturnHelper, **overrides: str):
        module = load_function("ReconcilerFunction", RESEND_RETRY_QUEUE_URL=retry_queue, **overrides)
        module.services.__dict__["upstream"] = upstream  # cached_property: the wiring's own upstream, replaced
        return module

    return load


def run(module, clock: Clock, now: datetime = NOW) -> tuple[dict, RunningDownContext]:
    context = RunningDownContext(clock, clock.seconds)
    original = module.services.reconciler.run  # built; its "now" pinned below (the records are dated around NOW)
    module.services.reconciler.run = lambda *remaining: original(*remaining, now=now)
    try:
        return module.lambda_handler(load_event("eventbridge_scheduled_event"), context), context
    finally:
        del module.services.reconciler.run


def poll_state(table: str, request_id: str) -> dict:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"resendRequestId": {"S": request_id}})["Item"]
    return {name: item.get(name) for name in ("lastPolledAt", "pollBackoffSeconds")}


def test_one_run_over_2000_quiet_resends_stops_inside_its_budget_and_the_next_goes_on_where_it_stopped(
    reconciler, tables
):
    clock = Clock()
    upstream = SlowReturnHelper(clock, seconds=1.0)
    module = reconciler(upstream)
    table = tables["ResendRequestTable"]
    ids = quiet_submissions(table, 2000)
    resend_ids = {700_000 + n: request_id for n, request_id in enumerate(ids)}

    first, context = run(module, clock)
    # 120 s, a call a second, no call started with less than the upstream timeout (10 s) + 5 s left
    assert context.get_remaining_time_in_millis() > 0
    assert first["outOfTime"] is True and first["polled"] == len(upstream.asked) == 105
    assert [resend_ids[i] for i in upstream.asked] == ids[:105]  # the quietest first
    assert poll_state(table, ids[0]) == {"lastPolledAt": {"S": iso(NOW)}, "pollBackoffSeconds": {"N": "3600"}}

    upstream.asked.clear()
    second, context = run(module, clock, NOW + timedelta(minutes=5))
    assert context.get_remaining_time_in_millis() > 0 and second["polled"] == 105
    assert [resend_ids[i] for i in upstream.asked] == ids[105:210]  # not one of the first run's again


def test_a_poll_is_not_repeated_before_its_backoff_and_the_never_polled_go_first(reconciler, tables):
    clock = Clock()
    upstream = SlowReturnHelper(clock)
    module = reconciler(upstream, RECONCILE_POLL_MAX_PER_RUN="3")
    table = tables["ResendRequestTable"]
    ids = quiet_submissions(table, 5)
    resend_ids = {700_000 + n: request_id for n, request_id in enumerate(ids)}

    def polled(now):
        upstream.asked.clear()
        report = run(module, clock, now)[0]
        assert report.get("outOfTime", False) is False
        return [resend_ids[i] for i in upstream.asked]

    assert polled(NOW) == ids[:3]  # the cap
    assert polled(NOW + timedelta(minutes=5)) == ids[3:]  # the rest; the first three wait out their hour
    assert polled(NOW + timedelta(minutes=10)) == []
    assert polled(NOW + timedelta(minutes=61)) == ids[:3]  # due again, then backing off: 2 h, 4 h, ... 1 day
    assert poll_state(table, ids[0])["pollBackoffSeconds"] == {"N": "7200"}


def test_unfinished_deliveries_are_applied_before_any_quiet_resend_is_polled(
    reconciler, deliver, webhook, tables, monkeypatch
):
    raw = load_event_bytes("newInventoryCreated")
    delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()

    class Died(BaseException):
        pass

    def die(*args, **kwargs):
        raise Died

    with monkeypatch.context() as patch:  # the webhook died after keeping it: left `received`
        patch.setattr(webhook.ingestor._inventories, "apply_together", die)
        with pytest.raises(Died):
            deliver(raw)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 600)  # past the grace period

    clock = Clock()
    upstream = SlowReturnHelper(clock, seconds=30.0)  # the polls alone would outlast the run
    seen_at_first_poll: list[str] = []
    upstream.on_call = lambda: seen_at_first_poll or seen_at_first_poll.append(delivery_status(tables, delivery_id))
    module = reconciler(upstream)
    quiet_submissions(tables["ResendRequestTable"], 20)

    report, context = run(module, clock)
    assert seen_at_first_poll == ["accepted"] and report["deliveriesApplied"] == 1
    assert report["outOfTime"] is True and report["polled"] == 4  # 120 s: calls started at 0, 30, 60, 90 s left
    assert context.get_remaining_time_in_millis() >= 0


def delivery_status(tables, delivery_id):
    item = boto3.client("dynamodb").get_item(
        TableName=tables["DeliveryTable"], Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True
    )["Item"]
    return item["status"]["S"]


def test_a_pending_request_with_an_unknown_attempt_is_asked_again_on_every_run_whatever_its_backoff(
    reconciler, tables, retry_queue
):
    table = tables["ResendRequestTable"]
    fresh = iso(datetime.now(UTC))
    boto3.client("dynamodb").put_item(  # as the worker leaves it after a read timeout (CONTRACT section 3)
        TableName=table,
        Item={
            "resendRequestId": {"S": "unknown-1"},
            "status": {"S": "PENDING"},
            "attemptUnknown": {"BOOL": True},
            "attempts": {"N": "8"},
            "nextAttemptAt": {"N": str(int(time.time()) + 86_400)},  # a backoff far away
            "returnInventoryIdList": {"L": [{"N": "5"}]},
            "createdAt": {"S": fresh},
            "updatedAt": {"S": fresh},  # just written: younger than RECONCILE_PENDING_AFTER_SECONDS
        },
    )
    clock = Clock()
    module = reconciler(SlowReturnHelper(clock))
    sqs = boto3.client("sqs")
    for _ in range(2):
        report, _ = run(module, clock, datetime.now(UTC))
        [message] = sqs.receive_message(QueueUrl=retry_queue, MaxNumberOfMessages=10).get("Messages", [])
        assert message["Body"] == '{"resendRequestId": "unknown-1"}' and report["askedAgain"] == 1
        sqs.delete_message(QueueUrl=retry_queue, ReceiptHandle=message["ReceiptHandle"])
    # a PENDING request without one, as fresh, is left to its own retry
    boto3.client("dynamodb").update_item(
        TableName=table, Key={"resendRequestId": {"S": "unknown-1"}}, UpdateExpression="REMOVE attemptUnknown"
    )
    assert run(module, clock, datetime.now(UTC))[0]["askedAgain"] == 0
    assert sqs.receive_message(QueueUrl=retry_queue, MaxNumberOfMessages=10).get("Messages", []) == []


# ------------------------------------------------------------------ the scheduled sync: pages of the in-stock index


class InventoryReads:
    """Return Helper's GetReturnInventory as documented (ids as strings, handling codes as numbers, `...Str` dates
    with a space), recording what it was asked; `gone` were disposed of upstream while webhooks were suspended.
    The list window names nothing: only the re-read is measured."""

    def __init__(self, gone: set[int]) -> None:
        self.gone, self.asked = gone, []
        self._lock = threading.Lock()

    def get_return_inventory(self, inventory_id: int) -> UpstreamOutcome:
        with self._lock:
            self.asked.append(inventory_id)
        gone = inventory_id in self.gone
        payload = {
            "returnInventoryId": str(inventory_id),
            "warehouseId": 2,
            "handlingCode": 2 if gone else 5,  # dis (completed: out of stock) / tbc, as we knew it
            "handlingStatusCode": 2 if gone else 0,
            "handlingUpdatedOnStr": "2025-06-01 00:00:00.0000" if gone else "2025-01-01 00:00:00.0000",
            "returnRequestLineItemVasList": [],
        }
        return UpstreamOutcome(OutcomeKind.SUCCESS, "getReturnInventory", 200, payload=payload)

    def list_return_inventory(self, create_from: str, create_to: str, page_size: int, offset: int) -> UpstreamOutcome:
        payload = {"data": [], "totalNumberOfRecords": 0}
        return UpstreamOutcome(OutcomeKind.SUCCESS, "listReturnInventory", 200, payload=payload)


def in_stock(store: InventoryStore, known: dict, ids: range) -> None:
    """Items in stock as the store writes them: the first through the store, the rest its copies (BatchWriteItem)."""
    then = "2025-01-01T00:00:00.0000000Z"
    store.apply(InventoryFacts(ids[0], known), inventory.event_version(then, sync_windows.SYNC_SOURCE), then)
    client = boto3.client("dynamodb")
    stored = client.get_item(TableName=store._table, Key={"returnInventoryId": {"N": str(ids[0])}})["Item"]
    assert stored[IN_STOCK_KEY] == {"N": str(in_stock_shard(ids[0]))}  # the store keys it into the index
    for start in range(1, len(ids), 25):
        puts = [
            {
                "PutRequest": {
                    "Item": {
                        **stored,
                        "returnInventoryId": {"N": str(i)},
                        IN_STOCK_KEY: {"N": str(in_stock_shard(i))},
                    }
                }
            }
            for i in ids[start : start + 25]
        ]
        client.batch_write_item(RequestItems={store._table: puts})


def test_the_scheduled_sync_re_reads_2000_items_in_stock_through_pages_of_the_in_stock_index_without_a_scan(
    load_with_upstream, sync_queue, lambda_context, tables
):
    env = {"SYNC_QUEUE_URL": sync_queue, "RETRY_BASE_DELAY_SECONDS": "0"}
    worker = load_with_upstream("ResendWorkerFunction", **env)
    reconciler = load_with_upstream("ReconcilerFunction", **env)
    ids = range(10_001, 12_001)
    upstream = InventoryReads(gone=set(ids[:10]))
    worker.syncs._upstream = upstream  # built when the worker module loaded
    reconciler.services.__dict__["upstream"] = upstream  # cached_property: replaced before first use
    store = InventoryStore(tables["InventoryTable"])
    known = {
        "warehouseId": 2,
        "handlingCode": "tbc",
        "handlingStatusCode": "pending",
        "inStock": True,
        "pendingVas": False,
    }
    in_stock(store, known, ids)
    then = "2025-01-01T00:00:00.0000000Z"
    store.apply(InventoryFacts(1, {**known, "inStock": False}), inventory.event_version(then, "seed"), then)
    calls: collections.Counter[str] = collections.Counter()
    base.client().meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))

    started = reconciler.lambda_handler({"inventorySync": "scheduled"}, lambda_context)
    assert started["pagesTotal"] == IN_STOCK_SHARDS  # each shard's first page (the window's are counted as listed)
    assert calls["Scan"] == 0 and sum(calls.values()) == 1  # the sync record: nothing else is read to start
    pages = drain(worker, sync_queue, lambda_context, rounds=60)

    progress = reconciler.services.syncs.get(started["syncId"])
    assert (progress["status"], progress["errors"]) == ("DONE", [])
    assert progress["pagesDone"] == progress["pagesTotal"] == pages  # the list window's one page among them
    assert sorted(upstream.asked) == list(ids)  # every item in stock re-read once; the one out of stock not
    assert (progress["inventoriesSeen"], progress["inventoriesChanged"]) == (2000, 10)
    # 8 shards of 250: 5 full pages each (and an empty one where DynamoDB cannot tell the 5th was the last)
    rereads = pages - 1
    assert IN_STOCK_SHARDS * 5 <= rereads <= IN_STOCK_SHARDS * 6
    assert calls["Scan"] == 0 and calls["Query"] == rereads  # one index page each
    # what left stock upstream left the index too
    assert all(store.get(i).values["inStock"] is False for i in ids[:10])
    listed = [i for shard in range(IN_STOCK_SHARDS) for i in store.in_stock_page(shard, None, 1000)[0]]
    assert sorted(listed) == list(ids[10:])


def test_items_in_stock_written_before_the_index_existed_are_keyed_into_it_once_by_the_ops_tool(tables):
    from ops import in_stock_index

    store = InventoryStore(tables["InventoryTable"])
    then = "2025-01-01T00:00:00.0000000Z"
    known = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending"}
    for inventory_id, stocked in ((17, True), (25, True), (33, False)):
        facts = InventoryFacts(inventory_id, {**known, "inStock": stocked})
        store.apply(facts, inventory.event_version(then, "w"), then)
    client = boto3.client("dynamodb")
    for inventory_id in (17, 25):  # as an older version of the store left them: no index key
        client.update_item(
            TableName=tables["InventoryTable"],
            Key={"returnInventoryId": {"N": str(inventory_id)}},
            UpdateExpression=f"REMOVE {IN_STOCK_KEY}",
        )
    assert store.in_stock_page(in_stock_shard(17), None, 50) == ([], None)

    printed: list[str] = []
    assert in_stock_index.main(["--table", tables["InventoryTable"]], printed.append) == 0
    assert printed == [f'{{"table": "{tables["InventoryTable"]}", "keyed": 2}}']
    assert store.in_stock_page(in_stock_shard(17), None, 50) == ([17, 25], None)  # 33 is not in stock
    assert in_stock_index.main(["--table", tables["InventoryTable"]], printed.append) == 0
    assert printed[-1].endswith('"keyed": 0}')  # once


def test_a_re_read_page_handled_again_after_it_was_counted_reads_nothing_and_queues_its_next_page_again(
    load_with_upstream, sync_queue, tables
):
    """SQS delivers at least once, and the function can die between counting a page and queueing the next."""
    worker = load_with_upstream("ResendWorkerFunction", SYNC_QUEUE_URL=sync_queue)
    upstream = InventoryReads(gone=set())
    worker.syncs._upstream = upstream
    store = InventoryStore(tables["InventoryTable"])
    known = {"warehouseId": 2, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True}
    in_stock(store, known, range(8, 8 * 61, 8))  # 60 items, all in shard 0: two pages
    sync = worker.syncs.start_scheduled(3)
    first = {"kind": "inventoryReread", "syncId": sync["syncId"], "shard": 0, "after": None}
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=sync_queue)

    assert worker.syncs.handle(first) == "counted" and len(upstream.asked) == 50
    assert worker.syncs.handle(first) == "already counted" and len(upstream.asked) == 50  # nothing re-read
    queued = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=sync_queue, MaxNumberOfMessages=10)["Messages"]
    ]
    assert queued == [{**first, "after": 400}] * 2  # the next page, queued again (counted once, when it runs)
    assert worker.syncs.get(sync["syncId"])["pagesTotal"] == IN_STOCK_SHARDS + 1
