"""Inventory sync: POST /sync/inventories through the merchant API, pages through the worker,
against moto and the emulator (contract section 8)."""

import itertools
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from aws_lambda_powertools import Metrics, Tracer

from rh_common.domain import inventory, sync_windows, timestamps
from rh_common.domain.webhook_events import InventoryFacts
from rh_common.runtime import wiring
from tests.support.queue_drain import lambda_record
from tests.support.resend import fault, handler_caller, resend_body, upstream_state

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


# ------------------------------------------------------------------ the pure part


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2026-10-01", "2026-11-29", ("2026-10-01T00:00:00+00:00", "2026-11-29T23:59:59+00:00")),
        ("2026-10-01T10:00:00+02:00", None, ("2026-10-01T08:00:00+00:00", NOW.isoformat())),
        ("2026-11-01", "2027-01-01", ("2026-11-01T00:00:00+00:00", NOW.isoformat())),  # until past now = now
    ],
)
def test_a_window_is_read_as_utc_days_and_times(since, until, expected):
    window, problems = sync_windows.parse_window(since, until, NOW)
    assert problems == [] and tuple(m.isoformat() for m in window) == expected


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("2026-11-20", "2026-11-10", "since"),  # after until
        ("2026-12-05", None, "since"),  # in the future
        ("yesterday", None, "since"),
        ("2026-02-30", None, "since"),
        ("2026-11-01", "soon", "until"),
        ("2026-11-01T10:00:00", None, "since"),  # a date-time without Z or offset
        (None, None, "since"),
        (20261101, None, "since"),
        ("0001-01-01T00:00:00+01:00", None, "since"),  # past year 1 once in UTC
        ("2026-11-01", "9999-12-31T23:59:59-01:00", "until"),
        ("2015-01-01", None, "since"),  # more than five years
    ],
)
def test_a_bad_window_is_a_field_error(since, until, field):
    window, problems = sync_windows.parse_window(since, until, NOW)
    assert window is None and [p.field for p in problems][:1] == [field]


def test_windows_are_at_most_62_days_and_cover_every_second_once():
    start, end = NOW - timedelta(days=200), NOW
    windows = sync_windows.windows(start, end)
    assert len(windows) == 4
    bounds = [(datetime.fromisoformat(w.create_from), datetime.fromisoformat(w.create_to)) for w in windows]
    assert bounds[0][0] == start and bounds[-1][1] == end
    assert all(b - a <= timedelta(days=62) for a, b in bounds)
    assert all(later[0] - earlier[1] == timedelta(seconds=1) for earlier, later in itertools.pairwise(bounds))


def test_get_return_inventory_facts_are_dated_by_the_handling_update_with_stock_and_vas_inferred():
    payload = {
        "returnInventoryId": "77",
        "warehouseId": 2,
        "handlingCode": 3,
        "handlingStatusCode": 2,
        "sku": "SKU-9",
        "handlingUpdatedOnStr": "2022-08-09 08:54:59.8219",
        "returnRequestLineItemVasList": [{"isFinished": True}, {"isFinished": False}],
    }
    facts, version, fact_time = sync_windows.facts_of(payload)
    assert facts.inventory_id == 77 and fact_time == "2022-08-09T08:54:59.8219000Z"
    assert version == "2022-08-09T08:54:59.8219000Z#sync"
    assert facts.values == {
        "sku": "SKU-9",
        "warehouseId": 2,
        "handlingCode": "rsd",
        "handlingStatusCode": "completed",
        "inStock": False,  # a completed resend has left the warehouse
    }
    read = sync_windows.read_of(payload, "2026-12-01T10:00:00.000000Z")  # the VAS is dated by the read
    assert (read.read_dated.values, read.read_version) == ({"pendingVas": True}, "2026-12-01T10:00:00.0000000Z#sync")
    unset = {**payload, "handlingUpdatedOnStr": "0001-01-01T00:00:00", "createOn": "2022-01-01T00:00:00"}
    assert sync_windows.facts_of(unset)[2] == "2022-01-01T00:00:00.0000000Z"


# ------------------------------------------------------------------ the job, through the handlers


@pytest.fixture
def functions(load_with_upstream, sync_queue):
    env = {"SYNC_QUEUE_URL": sync_queue, "RETRY_BASE_DELAY_SECONDS": "0"}  # a retried page is visible again at once
    return load_with_upstream("MerchantApiFunction", **env), load_with_upstream("ResendWorkerFunction", **env)


@pytest.fixture
def store(functions):
    """The inventory table the functions share (their environment is set), read and written as a webhook would."""
    return wiring.Wiring(Metrics(), Tracer()).inventories


def api(merchant, lambda_context, method, path, body=None):
    return handler_caller(merchant, lambda_context)(method, path, body=body)


def drain(worker, sync_queue, lambda_context, rounds=40):
    """Run the worker on the queue's messages (one per invocation, as the template says) until empty;
    returns how many page messages it handled."""
    sqs, handled = boto3.client("sqs"), 0
    for _ in range(rounds):
        messages = sqs.receive_message(QueueUrl=sync_queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return handled
        for message in messages:
            event = {"Records": [lambda_record(message, sync_queue)]}
            assert worker.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=sync_queue, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    raise AssertionError("the sync queue never emptied")


def backfill(emulator, count, days):
    response = requests.post(f"{emulator.url}/_emulator/inventories/backfill", json={"count": count, "days": days})
    response.raise_for_status()
    return response.json()["returnInventoryIdList"]


def test_a_sync_reads_every_window_and_page_as_messages_and_ends_done(
    functions, store, emulator, sync_queue, lambda_context, tables
):
    merchant, worker = functions
    ids = backfill(emulator, 120, 100)  # upstream only: no webhook ever told us

    status, started = api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(101)})
    assert (status, started["status"]) == (202, "RUNNING")
    # a page of GetReturnInventory fails transiently: only that page is tried again
    fault(emulator, "getReturnInventory", kind="http5xx", status=503)
    pages = drain(worker, sync_queue, lambda_context)

    status, progress = api(merchant, lambda_context, "GET", f"/sync/inventories/{started['syncId']}")
    assert status == 200
    # 101 days: two windows (62 + 39 days) holding 74 + 46 of the items: 2 + 1 pages of at most 50
    assert (progress["status"], progress["pagesDone"], progress["pagesTotal"], progress["errors"]) == ("DONE", 3, 3, [])
    assert (progress["inventoriesSeen"], progress["inventoriesChanged"]) == (120, 120)
    assert pages == 4  # three pages, the one that failed twice
    assert all(store.get(i).values.get("inStock") is True for i in ids)

    # a re-run learns the same facts at the same versions: nothing changes
    status, again = api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(101)})
    drain(worker, sync_queue, lambda_context)
    rerun = api(merchant, lambda_context, "GET", f"/sync/inventories/{again['syncId']}")[1]
    assert (rerun["status"], rerun["inventoriesSeen"], rerun["inventoriesChanged"]) == ("DONE", 120, 0)


def test_a_newer_webhook_keeps_its_state_over_the_sync(functions, store, emulator, sync_queue, lambda_context):
    merchant, worker = functions
    [inventory_id] = backfill(emulator, 1, 2)
    # a webhook dated after upstream's handling update says the item was disposed of
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    facts = InventoryFacts(inventory_id, {"handlingCode": "dis", "handlingStatusCode": "completed", "inStock": False})
    store.apply(facts, inventory.event_version(later, "webhook"), later)

    api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(3)})
    drain(worker, sync_queue, lambda_context)

    values = store.get(inventory_id).values
    assert (values["handlingCode"], values["inStock"], values["warehouseId"]) == ("dis", False, 2)


def test_a_sync_that_keeps_failing_ends_failed_with_the_upstream_error(functions, emulator, sync_queue, lambda_context):
    merchant, worker = functions
    backfill(emulator, 3, 2)
    fault(emulator, "listReturnInventory", kind="softError", errorCode="VALIDATION_FAILED", error={"createTo": "no"})
    _, started = api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(3)})
    drain(worker, sync_queue, lambda_context)
    progress = api(merchant, lambda_context, "GET", f"/sync/inventories/{started['syncId']}")[1]
    assert progress["status"] == "FAILED"
    assert progress["errors"] == [{"message": "listReturnInventory: VALIDATION_FAILED"}]


def test_bad_windows_and_unknown_syncs(functions, lambda_context):
    merchant, _ = functions
    status, body = api(merchant, lambda_context, "POST", "/sync/inventories", {"since": "2999-01-01"})
    assert status == 422 and body["errors"][0]["field"] == "since"
    status, body = api(merchant, lambda_context, "POST", "/sync/inventories", {"since": "x", "until": "y"})
    assert status == 422 and {e["field"] for e in body["errors"]} == {"since", "until"}
    assert api(merchant, lambda_context, "POST", "/sync/inventories", {"since": 5})[0] == 422
    assert api(merchant, lambda_context, "POST", "/sync/inventories", {"from": "2026-01-01"})[0] == 422
    status, body = api(merchant, lambda_context, "GET", "/sync/inventories/nope")
    assert status == 404 and body["errors"] == []


def test_a_resend_for_an_item_never_synced_is_looked_up_and_accepted(functions, store, emulator, lambda_context):
    merchant, _ = functions
    [inventory_id] = backfill(emulator, 1, 1)  # on hold upstream, unknown here
    assert store.get(inventory_id) is None
    status, body = api(merchant, lambda_context, "POST", "/resends", resend_body([inventory_id]))
    assert (status, body["status"]) == (201, "SUBMITTED"), body
    assert api(merchant, lambda_context, "POST", "/resends", resend_body([987_654_321]))[0] == 422


def _days_ago(days):
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%d")


def test_the_scheduled_sync_lists_the_last_days_and_re_reads_every_item_in_stock(
    functions, store, load_function, emulator, sync_queue, retry_queue, lambda_context
):
    merchant, worker = functions
    # an old item we know as on hold, that upstream disposed of while deliveries were suspended
    [old] = backfill(emulator, 1, 30)
    then = "2025-01-01T00:00:00.0000000Z"
    store.apply(
        InventoryFacts(
            old, {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}
        ),
        inventory.event_version(then, "webhook"),
        then,
    )
    emulator.state._inventories[old].update(handlingCode="dis", handlingStatusCode="completed")  # upstream only
    [new] = backfill(emulator, 1, 1)  # and one created yesterday, never announced

    reconciler = load_function(
        "ReconcilerFunction",
        RH_API_BASE_URL=emulator.api_base,
        SYNC_QUEUE_URL=sync_queue,
        RESEND_RETRY_QUEUE_URL=retry_queue,
    )
    started = reconciler.lambda_handler({"inventorySync": "scheduled"}, lambda_context)
    drain(worker, sync_queue, lambda_context)

    progress = api(merchant, lambda_context, "GET", f"/sync/inventories/{started['syncId']}")[1]
    assert progress["status"] == "DONE" and progress["pagesTotal"] == 1 + 8  # one window (3 days), a page per shard
    assert store.get(new).values["inStock"] is True
    values = store.get(old).values
    assert (values["handlingCode"], values["inStock"]) == ("dis", False)


def test_a_sync_that_reads_a_finished_vas_clears_pending_vas_and_a_newer_webhook_still_wins(
    functions, store, emulator, sync_queue, lambda_context
):
    """Contract section 8: a VAS does not move handlingUpdatedOn, so the sync's pendingVas is dated by its read."""
    merchant, worker = functions
    [inventory_id] = backfill(emulator, 1, 2)  # handlingUpdatedOn: its creation, days ago
    requested = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store.apply(  # the VAS request's webhook, newer than the handling update
        InventoryFacts(inventory_id, {"pendingVas": True}), inventory.event_version(requested, "vas"), requested
    )
    emulator.state._inventories[inventory_id]["vasList"] = [{"vasType": "photo", "isFinished": True}]  # done upstream

    api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(3)})
    drain(worker, sync_queue, lambda_context)
    assert store.get(inventory_id).values["pendingVas"] is False

    earlier = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store.apply(  # a late delivery, newer than the item's last event but older than the sync's read
        InventoryFacts(inventory_id, {"pendingVas": True}), inventory.event_version(earlier, "late"), earlier
    )
    assert store.get(inventory_id).values["pendingVas"] is False

    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store.apply(  # a newer VAS request than the sync's read
        InventoryFacts(inventory_id, {"pendingVas": True}), inventory.event_version(later, "vas2"), later
    )
    api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(3)})
    drain(worker, sync_queue, lambda_context)
    assert store.get(inventory_id).values["pendingVas"] is True


def test_a_sync_sets_the_facts_get_return_inventory_has_and_loggedAt_from_the_list(
    functions, emulator, sync_queue, lambda_context
):
    # GIVEN an item only Return Helper knows (the emulator answers GetReturnInventory with a weight in grams and
    # empty remarks, and lists the item's createOn)
    merchant, worker = functions
    [inventory_id] = backfill(emulator, 1, 2)
    [listed] = [i for i in upstream_state(emulator)["inventories"] if i["returnInventoryId"] == inventory_id]
    # WHEN a sync reads it
    api(merchant, lambda_context, "POST", "/sync/inventories", {"since": _days_ago(3)})
    drain(worker, sync_queue, lambda_context)
    # THEN the view carries what the answer has, loggedAt is the list's createOn (never when we read it), and
    # nothing the answer does not have (photos: S3 keys only) is made up
    status, view = api(merchant, lambda_context, "GET", f"/inventories/{inventory_id}")
    assert status == 200
    assert view["loggedAt"] == timestamps.sortable(listed["createOn"])
    assert (view["weight"], view["imageUrls"], view["warehouseRemarks"], view["fraudFlag"]) == (500.0, None, None, None)
