"""POST /resends in at most three sequential DynamoDB requests once warm, and its fallback.

Status reports parked for the new resend id are not looked up here: the record's first resend id
on the table's stream releases them (tests/functional/test_parked_resend_reports.py).

Counted with botocore's own event hook on the handlers' DynamoDB client (every request, in order).
"""

from __future__ import annotations

import pytest

from rh_common.adapters.dynamodb import base
from rh_common.domain import inventory
from rh_common.domain.webhook_events import InventoryFacts
from tests.support.resend import ON_HOLD, resend_body


@pytest.fixture
def requests_made(tables):
    made: list[str] = []
    base.client().meta.events.register("before-call.dynamodb", lambda model, **_: made.append(model.name))
    return made


def test_a_warm_resend_reads_once_reserves_once_and_records_once(api, items, requests_made):
    first, second = items(701, 702, 703), items(704, 705, 706)
    requests_made.clear()
    status, _ = api("POST", "/resends", resend_body(first))
    assert status == 201
    # The first of this process also reads the service types from the cache table (then keeps them).
    assert requests_made == [
        "TransactGetItems", "GetItem", "PutItem", "TransactWriteItems", "TransactWriteItems"
    ]  # fmt: skip

    requests_made.clear()
    status, body = api("POST", "/resends", resend_body(second))
    assert status == 201 and body["status"] == "SUBMITTED"
    assert requests_made == ["TransactGetItems", "TransactWriteItems", "TransactWriteItems"]
    for inventory_id in second:
        record = items.store.get(inventory_id, consistent=True)
        assert record.values["handlingCode"] == "rsd" and record.active_resend_request_id == body["resendRequestId"]


def test_a_newer_webhook_on_an_item_falls_back_to_merging_each_fact(api, items, requests_made):
    ids = items(711, 712)
    # An item whose last event is newer than the resend's own fact (dated now): the one transaction
    # is cancelled, the record and each fact are then written on their own, and the newer fact stands.
    future = "2999-01-01T00:00:00.0000000Z"
    items.store.apply(InventoryFacts(712, {**ON_HOLD, "inStock": True}), inventory.event_version(future, "x"), future)
    requests_made.clear()
    status, body = api("POST", "/resends", resend_body(ids))
    assert status == 201 and body["status"] == "SUBMITTED"
    assert requests_made.count("TransactWriteItems") == 2  # the reservation, the cancelled record + facts
    assert api("GET", f"/resends/{body['resendRequestId']}")[1]["status"] == "SUBMITTED"
    assert items.store.get(711, consistent=True).values["handlingCode"] == "rsd"
    newer = items.store.get(712, consistent=True)
    assert newer.values["handlingCode"] == "ohd" and newer.active_resend_request_id == body["resendRequestId"]


def test_with_a_key_the_record_is_read_with_the_items(api, items, requests_made):
    warm, ids = items(721), items(722, 723)
    assert api("POST", "/resends", resend_body(warm))[0] == 201
    requests_made.clear()
    headers = {"Idempotency-Key": "order-1001-resend"}
    status, body = api("POST", "/resends", resend_body(ids), headers=headers)
    assert status == 201
    assert requests_made == ["TransactGetItems", "TransactWriteItems", "TransactWriteItems"]
    requests_made.clear()
    assert api("POST", "/resends", resend_body(ids), headers=headers) == (201, body)  # replayed
    assert requests_made == ["TransactGetItems"]
