"""POST /fulfilments and GET /fulfilments/{id} (contract section 12) through the real handlers against moto and
the Return Helper emulator: the stock index built by InventoryReferenceFunction from the inventory stream.

The emulator's warehouses: New Jersey (2) ships to the USA and to Great Britain, Hamburg (5) in Europe and to
Great Britain, so an order to Great Britain can be filled from either; fees grow with the units' weight.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.domain import inventory
from rh_common.domain.idempotency_keys import fulfilment_id_for
from rh_common.domain.webhook_events import InventoryFacts
from tests.support.resend import SHIPMENT, T, fault, handler_caller, upstream_state
from tests.support.streams import StreamReader

NJ, HAMBURG = 2, 5
HOODIE, MUG = "TEST-HOODIE-GRY-L", "TEST-MUG-WHT"
TO_GBR = {
    **SHIPMENT,
    "shipmentServiceType": "cheapest",
    "shipmentCountryCode": "gbr",
    "shipmentState": "London",
    "shipmentCity": "London",
    "shipmentPostalCode": "SW1A 1AA",
}
TO_USA = {**SHIPMENT, "shipmentServiceType": "cheapest"}


@pytest.fixture(autouse=True)
def one_moto_transaction_at_a_time(monkeypatch):
    """Groups and racing fulfilments run side by side; in-process moto's transact_write_items is not
    thread-safe (tests/functional/test_resend_workflow.py says why): a lock serialises it as DynamoDB does."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    unguarded = DynamoDBBackend.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        with lock:
            return unguarded(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)


def merchant_api(load_with_upstream, lambda_context, **environment):
    module = load_with_upstream("MerchantApiFunction", UPSTREAM_TIMEOUT_SECONDS="10", **environment)
    return handler_caller(module, lambda_context)


@pytest.fixture
def api(load_with_upstream, lambda_context):
    return merchant_api(load_with_upstream, lambda_context)


@pytest.fixture
def stock(tables, emulator, load_with_upstream, lambda_context):
    """Units of a SKU both upstream and in our state, and the stream read into the stock index."""
    store = InventoryStore(tables["InventoryTable"])
    # With the emulator upstream, as the merchant API: the consumer also matches instructions (it calls Return
    # Helper), and a process has one environment.
    references = load_with_upstream("InventoryReferenceFunction")
    reader = StreamReader(tables["InventoryTable"])

    def make(inventory_id, warehouse_id, sku=HOODIE, handling="ohd", weight=500, logged_at="2025-03-01T00:00:00Z"):
        facts = {"warehouseId": warehouse_id, "handlingCode": handling, "handlingStatusCode": "pending"}
        facts.update(inStock=True, sku=sku, arrivalCreateOn=logged_at)
        store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(T, f"seed-{inventory_id}"), T)
        spec = {"returnInventoryId": inventory_id, "warehouseId": warehouse_id, "handlingCode": handling}
        spec.update(deliver=False, weight=weight, pendingVas=False)
        requests.post(f"{emulator.url}/_emulator/inventories", json=spec, timeout=5).raise_for_status()
        return inventory_id

    def settle():
        records = reader.read()["Records"]
        if records:
            assert references.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}

    make.settle = settle
    return make


def order(*lines, reference="ORDER-7", hold_first=False, **shipment):
    return {
        "orderReference": reference,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        "resendShipment": {**TO_GBR, **shipment},
        "holdFirst": hold_first,
    }


def fulfil(api, body, key="order-7"):
    return api("POST", "/fulfilments", body, headers={"Idempotency-Key": key})


def test_the_cheapest_warehouse_fills_the_order_oldest_units_first(api, stock, emulator):
    # GIVEN hoodies in both warehouses: Hamburg's light (DHL Paket), New Jersey's too (USPS Priority, dearer)
    stock(1, NJ)
    stock(2, HAMBURG, logged_at="2025-03-02T00:00:00Z")
    stock(3, HAMBURG, logged_at="2025-01-02T00:00:00Z")
    stock(4, HAMBURG, logged_at="2025-02-02T00:00:00Z")
    stock.settle()
    # WHEN two are ordered to Great Britain
    status, body = fulfil(api, order((HOODIE, 2)))
    # THEN Hamburg's two oldest go, in one resend, at its cheapest service
    assert status == 201, body
    assert body["status"] == "CREATED" and body["unfilled"] == [] and body["orderReference"] == "ORDER-7"
    [entry] = body["resends"]
    assert (entry["warehouseId"], sorted(entry["returnInventoryIdList"]), entry["status"]) == (
        HAMBURG,
        [3, 4],
        "SUBMITTED",
    )
    assert entry["shipmentServiceType"] == "SHIPMENT_DHL_PAKET_DE"
    assert len(upstream_state(emulator)["createdPerIdempotencyKey"]) == 1


def test_heavy_units_make_the_other_warehouse_the_cheaper_one(api, stock):
    stock(1, NJ, weight=500)
    stock(2, HAMBURG, weight=20_000)  # DHL Paket 4.99 + 0.50/kg: 14.99 against USPS Priority's 9.45
    stock.settle()
    status, body = fulfil(api, order((HOODIE, 1)))
    assert status == 201, body
    assert [(e["warehouseId"], e["returnInventoryIdList"]) for e in body["resends"]] == [(NJ, [1])]


def test_a_partial_fill_lists_what_is_missing_across_two_warehouses(api, stock):
    stock(1, NJ)
    stock(2, HAMBURG)
    stock(3, NJ, sku=MUG)
    stock.settle()
    status, body = fulfil(api, order((HOODIE, 3), (MUG, 1), ("TEST-UNKNOWN", 2)))
    assert status == 201, body
    assert body["status"] == "PARTIAL"
    assert sorted(body["unfilled"], key=lambda u: u["sku"]) == [
        {"sku": HOODIE, "quantity": 1},
        {"sku": "TEST-UNKNOWN", "quantity": 2},
    ]
    groups = {e["warehouseId"]: sorted(e["returnInventoryIdList"]) for e in body["resends"]}
    assert groups == {HAMBURG: [2], NJ: [1, 3]}


def test_no_line_filled_is_409_and_nothing_goes_upstream(api, stock, emulator):
    stock(1, HAMBURG)
    stock.settle()
    # Hamburg does not ship to the USA; nobody has the mug
    status, body = fulfil(api, order((HOODIE, 1), (MUG, 1), **TO_USA))
    assert status == 409, body
    assert body["unfilled"] == [{"sku": HOODIE, "quantity": 1}, {"sku": MUG, "quantity": 1}]
    assert body["resends"] == [] and body["message"]
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {}


def test_the_same_key_answers_the_same_fulfilment_and_another_body_is_422(api, stock, emulator):
    stock(1, HAMBURG)
    stock.settle()
    first = fulfil(api, order((HOODIE, 1)))
    again = fulfil(api, order((HOODIE, 1)))
    assert first[0] == again[0] == 201 and first[1] == again[1]
    other = fulfil(api, order((HOODIE, 1), reference="ORDER-8"))
    assert other[0] == 422, other
    assert len(upstream_state(emulator)["createdPerIdempotencyKey"]) == 1
    # GET reads it with each resend's current status; an unknown id is 404
    status, read = api("GET", f"/fulfilments/{first[1]['fulfilmentId']}")
    assert status == 200 and read["resends"][0]["resendRequestId"] == first[1]["resends"][0]["resendRequestId"]
    assert api("GET", "/fulfilments/00000000-0000-0000-0000-000000000000")[0] == 404


def test_refusals_are_422_and_reserve_nothing(api, stock, emulator):
    stock(1, HAMBURG)
    stock.settle()
    assert fulfil(api, order((HOODIE, 1), shipmentPostalCode="not a postcode!"))[0] == 422
    assert api("POST", "/fulfilments", order((HOODIE, 1)))[0] == 422  # no Idempotency-Key
    assert fulfil(api, order((HOODIE, 10_000)))[0] == 422  # over BATCH_MAX_ITEMS
    assert fulfil(api, {**order((HOODIE, 1)), "lines": []})[0] == 422
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {}
    status, body = fulfil(api, order((HOODIE, 1)), key="after-refusals")
    assert status == 201 and body["resends"][0]["returnInventoryIdList"] == [1]


def test_two_fulfilments_racing_for_the_last_unit_one_gets_it(api, stock):
    stock(1, HAMBURG)
    stock.settle()
    answers: list = []
    start = threading.Barrier(2)

    def race(key):
        start.wait()
        answers.append(fulfil(api, order((HOODIE, 1), reference=key), key=key))

    threads = [threading.Thread(target=race, args=(k,)) for k in ("race-a", "race-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409], answers
    loser = next(body for status, body in answers if status == 409)
    assert loser["unfilled"] == [{"sku": HOODIE, "quantity": 1}]


def test_a_stale_index_costs_a_retry_with_the_next_unit(api, stock, emulator):
    # GIVEN the oldest unit already reserved by a resend the index has not yet seen
    stock(1, HAMBURG, logged_at="2025-01-01T00:00:00Z")
    stock(2, HAMBURG, logged_at="2025-02-01T00:00:00Z")
    stock.settle()
    resend = {"returnInventoryIdList": [1], "description": "x", "resendShipment": {**TO_GBR}}
    resend["resendShipment"]["shipmentServiceType"] = "SHIPMENT_DHL_PAKET_DE"
    assert api("POST", "/resends", resend)[0] == 201
    # WHEN a fulfilment picks from the stale index
    status, body = fulfil(api, order((HOODIE, 1)))
    # THEN the next unit goes instead; nothing is reserved twice
    assert status == 201, body
    assert [e["returnInventoryIdList"] for e in body["resends"]] == [[2]]
    assert len(upstream_state(emulator)["createdPerIdempotencyKey"]) == 2


def test_over_the_approval_threshold_the_resend_waits_with_nothing_upstream(
    load_with_upstream, lambda_context, stock, emulator
):
    strict = merchant_api(load_with_upstream, lambda_context, APPROVAL_FEE_THRESHOLD="1")
    stock(1, HAMBURG, handling="tbc")
    stock.settle()
    status, body = fulfil(strict, order((HOODIE, 1), hold_first=True))
    assert status == 201, body
    assert body["status"] == "AWAITING_APPROVAL"
    [entry] = body["resends"]
    assert entry["status"] == "AWAITING_APPROVAL"
    state = upstream_state(emulator)
    assert state["createdPerIdempotencyKey"] == {}
    status, view = strict("GET", f"/resends/{entry['resendRequestId']}")
    assert view["status"] == "AWAITING_APPROVAL" and view["quotedFee"] > 1


def test_a_fulfilment_over_the_resend_request_queue_is_read_like_one_made_over_http(
    load_with_upstream, lambda_context, api, stock, emulator
):
    from tests.events.loader import load_event

    worker = load_with_upstream("ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="10")
    stock(1, HAMBURG)
    stock.settle()
    record = {**load_event("sqs_resend_request")["Records"][0], "messageId": "m-1"}
    record["body"] = json.dumps({"idempotencyKey": "queued-order", "fulfilment": order((HOODIE, 1))})
    assert worker.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    status, body = api("GET", f"/fulfilments/{fulfilment_id_for('queued-order')}")
    assert status == 200, body
    assert (body["status"], body["resends"][0]["returnInventoryIdList"]) == ("CREATED", [1])
    assert body["resends"][0]["status"] == "SUBMITTED"
    # the same message again (SQS delivers at least once): the same fulfilment, nothing created twice
    assert worker.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    assert len(upstream_state(emulator)["createdPerIdempotencyKey"]) == 1


def test_a_first_call_that_died_after_creating_a_group_is_carried_on_not_doubled(
    api, stock, emulator, tables, monkeypatch
):
    from rh_common.adapters.dynamodb.batch_store import BatchStore

    stock(1, HAMBURG, logged_at="2025-01-01T00:00:00Z")
    stock(2, HAMBURG, logged_at="2025-02-01T00:00:00Z")
    stock.settle()
    unguarded = BatchStore.update

    def dies_before_the_answer(self, key, changes):
        if "answer" in changes:
            raise RuntimeError("the Lambda timed out")
        unguarded(self, key, changes)

    monkeypatch.setattr(BatchStore, "update", dies_before_the_answer)
    assert fulfil(api, order((HOODIE, 1)))[0] == 500  # its group created, the answer never stored
    monkeypatch.setattr(BatchStore, "update", unguarded)
    assert fulfil(api, order((HOODIE, 1)))[0] == 409  # still running, as far as anyone can tell
    # its answerBefore passed: the retry carries on with the group it stored, not with the next unit
    [item] = [i for i in boto3.client("dynamodb").scan(TableName=tables["ResendBatchTable"])["Items"]]
    boto3.client("dynamodb").update_item(
        TableName=tables["ResendBatchTable"],
        Key={"batchKey": item["batchKey"]},
        UpdateExpression="SET answerBefore = :zero",
        ExpressionAttributeValues={":zero": {"N": "0"}},
    )
    status, body = fulfil(api, order((HOODIE, 1)))
    assert status == 201, body
    assert [e["returnInventoryIdList"] for e in body["resends"]] == [[1]] and body["unfilled"] == []
    assert len(upstream_state(emulator)["createdPerIdempotencyKey"]) == 1


def test_hold_first_holds_the_picked_tbc_units_and_only_those(api, stock, emulator):
    stock(1, HAMBURG, handling="tbc", logged_at="2025-01-01T00:00:00Z")
    stock(2, HAMBURG, handling="tbc", logged_at="2025-02-01T00:00:00Z")  # not picked: left as it is
    stock.settle()
    status, body = fulfil(api, order((HOODIE, 1), hold_first=True))
    assert status == 201, body
    assert [(e["returnInventoryIdList"], e["status"]) for e in body["resends"]] == [([1], "SUBMITTED")]
    state = upstream_state(emulator)
    assert sum(state["updateHandlingCalls"].values()) == 1
    assert api("GET", "/inventories/2")[1]["handlingCode"] == "tbc"


@pytest.mark.parametrize("code", ["RETURN_DHL_PAKET_DE", "SHIPMENT_USPS_GA_SIG_NJ"], ids=["return-type", "not-there"])
def test_a_service_type_no_stocked_warehouse_offers_there_is_422_on_it_and_reserves_nothing(api, stock, emulator, code):
    stock(1, HAMBURG)
    stock.settle()
    status, body = fulfil(api, order((HOODIE, 1), shipmentServiceType=code))
    assert status == 422, body
    assert [e["field"] for e in body["errors"]] == ["resendShipment.shipmentServiceType"]
    assert fulfil(api, order((HOODIE, 1), shipmentServiceType=code)) == (status, body)  # stored: the same again
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {}
    assert api("GET", "/inventories/1")[1]["activeResendRequestId"] is None
    assert api("GET", f"/fulfilments/{fulfilment_id_for('order-7')}")[0] == 404  # refused: no fulfilment


def test_under_the_threshold_a_named_service_goes_at_once_with_its_fee_recorded(
    load_with_upstream, lambda_context, stock
):
    lenient = merchant_api(load_with_upstream, lambda_context, APPROVAL_FEE_THRESHOLD="1000")
    stock(1, HAMBURG, logged_at="2025-01-01T00:00:00Z")
    stock(2, HAMBURG, logged_at="2025-02-01T00:00:00Z")  # quoted with unit 1 (the first choice), then not taken
    stock.settle()
    status, body = fulfil(lenient, order((HOODIE, 1), shipmentServiceType="SHIPMENT_UPS_STANDARD_DE"))
    assert status == 201, body
    [entry] = body["resends"]
    assert (entry["status"], entry["shipmentServiceType"]) == ("SUBMITTED", "SHIPMENT_UPS_STANDARD_DE")
    assert lenient("GET", f"/resends/{entry['resendRequestId']}")[1]["quotedFee"] == pytest.approx(9.90 + 0.5)


# ------------------------------------------------------------------ speed and scale (issue 22)

CAP = "TEST-CAP-BLK"
QUOTE_OPERATION = "getShippingFeeListByToShippingOption"


@pytest.fixture
def quotes_made(emulator, monkeypatch):
    """Each quote the process asks Return Helper for, as (its units, when it was sent, when it was answered):
    a spy on the real session, which still makes every call."""
    made: list[tuple[list[int], float, float]] = []
    send = requests.Session.send

    def timed_send(session, request, **kwargs):
        started = time.perf_counter()
        response = send(session, request, **kwargs)
        url = request.url or ""
        if url.startswith(emulator.api_base) and urlsplit(url).path.lower().endswith(QUOTE_OPERATION.lower()):
            query = parse_qs(urlsplit(request.url).query)
            units = sorted(
                int(i) for name, ids in query.items() if name.lower() == "returninventoryidlist" for i in ids
            )
            made.append((units, started, time.perf_counter()))
        return response

    monkeypatch.setattr(requests.Session, "send", timed_send)
    return made


@pytest.fixture
def reservations():
    """The units of each reserving transaction (the resend record's Put and its items' holds), from the
    parameters of every TransactWriteItems on the process's one DynamoDB client."""
    from rh_common.adapters.dynamodb import base

    made: list[list[int]] = []

    def record(params, **_):
        actions = params.get("TransactItems") or []
        if any("Put" in action for action in actions):
            made.append(sorted(int(a["Update"]["Key"]["returnInventoryId"]["N"]) for a in actions if "Update" in a))

    base.client().meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", record)
    yield made
    base.client().meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", record)


def test_three_lines_over_two_warehouses_quote_each_warehouse_once_in_parallel_and_reserve_once_a_group(
    api, stock, emulator, quotes_made, reservations
):
    # GIVEN three SKUs: the hoodies in Hamburg, the mug and the cap in New Jersey; both ship to Great Britain
    stock(1, HAMBURG, logged_at="2025-01-01T00:00:00Z")
    stock(2, HAMBURG, logged_at="2025-02-01T00:00:00Z")
    stock(3, NJ, sku=MUG)
    stock(4, NJ, sku=CAP)
    stock.settle()
    quotes_made.clear()
    reservations.clear()
    # and Return Helper slow to quote, each quote held for `latency`
    latency = 0.5
    for _ in range(2):
        fault(emulator, QUOTE_OPERATION, kind="latency", seconds=latency)
    # WHEN the order of three lines is fulfilled
    status, body = fulfil(api, order((HOODIE, 2), (MUG, 1), (CAP, 1)))
    assert status == 201, body
    groups = {entry["warehouseId"]: sorted(entry["returnInventoryIdList"]) for entry in body["resends"]}
    assert groups == {HAMBURG: [1, 2], NJ: [3, 4]} and body["unfilled"] == []
    # THEN each warehouse is quoted once, for the units of its group (the group's own quote is the cached one)
    assert sorted(units for units, _, _ in quotes_made) == [[1, 2], [3, 4]]
    assert upstream_state(emulator)["shippingFeeCalls"] == 2
    # both slow quotes were waited for side by side: each began before the other was answered
    (_, first_sent, first_answered), (_, second_sent, second_answered) = quotes_made
    assert min(first_answered - first_sent, second_answered - second_sent) >= latency
    assert max(first_sent, second_sent) < min(first_answered, second_answered)
    # and each group was reserved in one transaction of its own
    assert sorted(reservations) == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (order((HOODIE, 51)), 422, "lines"),  # BATCH_MAX_ITEMS: 50, the template's default
        (order((HOODIE, 30), (MUG, 21)), 422, "lines"),  # the lines' units together
        (order((HOODIE, 1), shipmentPostalCode="not a postcode!"), 422, "resendShipment.shipmentPostalCode"),
        (order(("TEST-UNKNOWN", 1)), 409, None),
    ],
    ids=["a-line-over-the-cap", "lines-over-the-cap", "an-address-refused", "an-unknown-sku"],
)
def test_a_refused_fulfilment_reserves_nothing_and_asks_nothing_upstream(api, stock, emulator, body, status, says):
    stock(1, HAMBURG)
    stock(2, NJ, sku=MUG)
    stock.settle()
    before = upstream_state(emulator)
    answer_status, answer = fulfil(api, body)
    assert answer_status == status, answer
    if says is None:
        assert answer["unfilled"] == [{"sku": "TEST-UNKNOWN", "quantity": 1}] and answer["resends"] == []
    else:
        assert says in [error["field"] for error in answer["errors"]], answer
    after = upstream_state(emulator)
    assert after["shippingFeeCalls"] == before["shippingFeeCalls"]
    assert (after["createResendCalls"], after["updateHandlingCalls"]) == ({}, {})
    assert [api("GET", f"/inventories/{i}")[1]["activeResendRequestId"] for i in (1, 2)] == [None, None]


def test_a_warm_fulfilment_of_one_group_reads_its_units_and_their_quote_once(api, stock, calls):
    stock(1, HAMBURG, sku=MUG)
    stock(2, HAMBURG)
    stock(3, HAMBURG)
    stock.settle()
    assert fulfil(api, order((MUG, 1)), key="warm-up")[0] == 201  # the service types are read once a process
    calls.reset()
    status, body = fulfil(api, order((HOODIE, 2)))
    assert status == 201 and [e["returnInventoryIdList"] for e in body["resends"]] == [[2, 3]], body
    # the record; the stock rows; the quote (the units, the cache, the quote kept); the groups stored; the
    # group created as POST /resends (the units with the quote kept, the reservation, SUBMITTED); the answer
    assert calls.dynamodb == [
        "PutItem", "Query", "BatchGetItem", "GetItem", "PutItem", "UpdateItem",
        "TransactGetItems", "TransactWriteItems", "TransactWriteItems", "UpdateItem",
    ]  # fmt: skip
    assert calls.upstream == [QUOTE_OPERATION, "createResend"]
