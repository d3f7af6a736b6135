"""Resend instructions (CONTRACT section 12) through the handlers over moto and the emulator: registered
(address checked, never echoed), read, listed by status, cancelled, expired, and matched by the item they
wait for, whether it arrived before or after, once whatever the number of reports; and the reconciler's sweep
(expiry stored, an arrival the stream's consumer missed matched) within its bound, in turns."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from local.stream_poller import RecordFilter
from rh_common.contract.instructions import InstructionRequest
from rh_common.domain import inventory
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event
from tests.support.resend import SHIPMENT, T, fault, upstream_state
from tests.support.streams import StreamReader

RMA = "USE-2-250303-D00011-44"
ARRIVED = {"warehouseId": 2, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True}


def instruction(match=None, **more):
    return {"match": {"rma": RMA} if match is None else match, "resendShipment": dict(SHIPMENT), **more}


@pytest.fixture
def register(api):
    def call(body, key="instr-1"):
        return api("POST", "/instructions", body=body, headers={"Idempotency-Key": key})

    return call


def stored(tables) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables["ResendInstructionTable"])["Items"]


# ------------------------------------------------------------------ registration, reads, cancel, expiry


def test_a_registered_instruction_waits_is_read_and_listed_and_never_echoes_the_address(register, api):
    status, view = register(instruction(sku="TEST-HOODIE-GRY-L"))
    assert (status, view["status"], view["match"], view["sku"]) == (201, "WAITING", {"rma": RMA}, "TEST-HOODIE-GRY-L")
    assert view["resendRequestId"] is None
    text = json.dumps(view)
    assert SHIPMENT["shipmentPhone"] not in text and SHIPMENT["shipmentEmail"] not in text
    assert "resendShipment" not in view
    assert api("GET", f"/instructions/{view['instructionId']}") == (200, view)
    status, page = api("GET", "/instructions", query={"status": "WAITING"})
    assert (status, [v["instructionId"] for v in page["items"]], page["nextToken"]) == (
        200,
        [view["instructionId"]],
        None,
    )
    assert api("GET", "/instructions", query={"status": "MATCHED"}) == (200, {"items": [], "nextToken": None})


def test_the_same_key_answers_the_same_instruction_and_another_body_is_422(register):
    first = register(instruction())
    assert register(instruction()) == first
    status, body = register(instruction({"rma": "OTHER"}))
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["Idempotency-Key"])


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        (instruction({}), {"Idempotency-Key": "k"}, "match"),
        (instruction({"rma": RMA, "sku": "X"}), {"Idempotency-Key": "k"}, "match"),
        (instruction({"orderNumber": "1"}), {"Idempotency-Key": "k"}, "match"),
        (instruction(), {}, "Idempotency-Key"),
        (
            {**instruction(), "resendShipment": {**SHIPMENT, "shipmentPostalCode": "10001"}},
            {"Idempotency-Key": "k"},
            "resendShipment.shipmentPostalCode",
        ),
        (instruction(expiresAt="2020-01-01T00:00:00Z"), {"Idempotency-Key": "k"}, "expiresAt"),
    ],
    ids=["no-key", "two-keys", "unknown-key", "no-idempotency-key", "address-refused", "expired-already"],
)
def test_a_refused_registration_is_422_naming_the_field_and_stores_nothing(api, tables, body, headers, field):
    status, answer = api("POST", "/instructions", body=body, headers=headers)
    assert status == 422, answer
    assert field in [e["field"] for e in answer["errors"]]
    assert SHIPMENT["shipmentPhone"] not in json.dumps(answer)
    assert stored(tables) == []


def test_cancel_only_while_waiting_and_unknown_ids_are_404(register, api):
    _, view = register(instruction())
    status, cancelled = api("POST", f"/instructions/{view['instructionId']}/cancel")
    assert (status, cancelled["status"]) == (200, "CANCELED")
    assert api("POST", f"/instructions/{view['instructionId']}/cancel")[0] == 409
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "CANCELED"
    assert api("GET", "/instructions/nobody")[0] == 404
    assert api("POST", "/instructions/nobody/cancel")[0] == 404


def test_an_instruction_past_its_expiry_reads_expired_and_cannot_be_cancelled(register, api, tables):
    _, view = register(instruction(expiresAt="2099-01-01T00:00:00Z"))
    assert view["expiresAt"].startswith("2099-01-01T00:00:00")
    boto3.client("dynamodb").update_item(
        TableName=tables["ResendInstructionTable"],
        Key={"instructionId": {"S": view["instructionId"]}},
        UpdateExpression="SET expiresAt = :t",
        ExpressionAttributeValues={":t": {"S": "2020-01-01T00:00:00.000000Z"}},
    )
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "EXPIRED"
    assert api("POST", f"/instructions/{view['instructionId']}/cancel")[0] == 409
    assert api("GET", "/instructions", query={"status": "WAITING"})[1]["items"] == []
    status, page = api("GET", "/instructions", query={"status": "EXPIRED"})
    assert (status, [v["instructionId"] for v in page["items"]]) == (200, [view["instructionId"]])


def test_the_default_expiry_is_ninety_days(register):
    _, view = register(instruction())
    from datetime import datetime, timedelta

    created = datetime.fromisoformat(view["createdAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(view["expiresAt"].replace("Z", "+00:00"))
    assert expires - created == timedelta(days=90)


# ------------------------------------------------------------------ matching on arrival


@pytest.fixture
def settle(load_with_upstream, lambda_context, tables, template):
    """Deliver both tables' streams to InventoryReferenceFunction as its event source mappings would (the
    template's filters), until nothing new is written; `again`: every record delivered once more."""
    module = load_with_upstream("InventoryReferenceFunction")
    sources = [s for s in template.dynamodb_event_sources() if s.function_id == "InventoryReferenceFunction"]
    readers = [(StreamReader(tables[s.table_id]), RecordFilter(s.filter_patterns)) for s in sources]

    def run(*, again: bool = False) -> None:
        delivered = []
        for _ in range(10):
            batches = [[r for r in reader.read()["Records"] if keep.passes(r)] for reader, keep in readers]
            batches = [records for records in batches if records]
            if not batches:
                break
            for records in batches:
                delivered.append(records)
                assert module.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
        for records in delivered if again else []:
            assert module.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}

    run.module = module
    return run


def arrive(items, inventory_id, event_time=T, **values):
    """The item logged as a webhook or a sync would record it (and known upstream, on hold)."""
    items(inventory_id, rma=RMA, **values)
    if event_time != T:
        items.store.apply(
            InventoryFacts(inventory_id, {"rma": RMA, **values}),
            inventory.event_version(event_time, "again"),
            event_time,
        )


def creates(emulator) -> dict:
    return upstream_state(emulator)["createdPerIdempotencyKey"]


def matched(api, instruction_id) -> dict:
    status, view = api("GET", f"/instructions/{instruction_id}")
    assert status == 200 and view["status"] == "MATCHED", view
    return view


def test_registered_then_arrived_creates_its_resend_once(register, api, items, settle, emulator):
    _, view = register(instruction(sku="TEST-HOODIE-GRY-L"))
    arrive(items, 1501, sku="TEST-HOODIE-GRY-L")
    settle(again=True)  # the batch redelivered: still one resend
    found = matched(api, view["instructionId"])
    assert found["returnInventoryId"] == 1501
    status, resend = api("GET", f"/resends/{found['resendRequestId']}")
    assert (status, resend["status"], resend["returnInventoryIdList"]) == (200, "SUBMITTED", [1501])
    assert resend["idempotencyKey"] == f"instruction:{view['instructionId']}"
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]


def test_an_item_of_another_sku_does_not_match(register, api, items, settle, emulator):
    _, view = register(instruction(sku="TEST-HOODIE-GRY-L"))
    arrive(items, 1502, sku="OTHER-SKU")
    settle()
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "WAITING"
    assert creates(emulator) == {}


def test_an_item_that_arrived_before_matches_at_registration(register, api, items, settle, emulator):
    arrive(items, 1503)
    settle()
    status, view = register(instruction())
    assert (status, view["status"], view["returnInventoryId"]) == (201, "MATCHED", 1503)
    assert api("GET", f"/resends/{view['resendRequestId']}")[1]["status"] == "SUBMITTED"
    settle(again=True)
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]


def test_an_arrival_reported_twice_and_out_of_order_creates_one_resend(register, api, items, settle, emulator):
    _, view = register(instruction())
    # a sync's report (older event) after the webhook's, each read from the stream, each redelivered
    arrive(items, 1504, event_time="2025-03-03T09:00:00.0000000Z")
    settle(again=True)
    items.store.apply(InventoryFacts(1504, {"rma": RMA}), inventory.event_version(T, "sync"), T)
    settle(again=True)
    matched(api, view["instructionId"])
    assert len(creates(emulator)) == 1


def test_a_cancelled_or_expired_instruction_never_matches(register, api, items, settle, emulator, tables):
    _, cancelled = register(instruction(), key="instr-c")
    assert api("POST", f"/instructions/{cancelled['instructionId']}/cancel")[0] == 200
    _, expired = register(instruction(), key="instr-e")
    boto3.client("dynamodb").update_item(
        TableName=tables["ResendInstructionTable"],
        Key={"instructionId": {"S": expired["instructionId"]}},
        UpdateExpression="SET expiresAt = :t",
        ExpressionAttributeValues={":t": {"S": "2020-01-01T00:00:00.000000Z"}},
    )
    arrive(items, 1505)
    settle()
    assert api("GET", f"/instructions/{cancelled['instructionId']}")[1]["status"] == "CANCELED"
    assert api("GET", f"/instructions/{expired['instructionId']}")[1]["status"] == "EXPIRED"
    assert creates(emulator) == {}
    assert items.store.get(1505, consistent=True).active_resend_request_id is None


def test_a_fraud_flagged_item_s_resend_waits_for_approval(register, api, items, settle, emulator):
    _, view = register(instruction())
    arrive(items, 1506, fraudFlag={"isFraudulent": True, "reasonCode": "FR01"})
    settle()
    found = matched(api, view["instructionId"])
    status, resend = api("GET", f"/resends/{found['resendRequestId']}")
    assert (status, resend["status"]) == (200, "AWAITING_APPROVAL")
    assert items.store.get(1506, consistent=True).active_resend_request_id == found["resendRequestId"]
    assert creates(emulator) == {}


def test_a_tbc_item_is_held_first_then_resent(register, api, items, settle, emulator):
    _, view = register(instruction())
    # logged as tbc, here and upstream
    facts = {**ARRIVED, "rma": RMA}
    items.store.apply(InventoryFacts(1507, facts), inventory.event_version(T, "tbc"), T)
    spec = {"returnInventoryId": 1507, "warehouseId": 2, "handlingCode": "tbc", "deliver": False}
    requests.post(f"{emulator.url}/_emulator/inventories", json=spec, timeout=5).raise_for_status()
    settle()
    found = matched(api, view["instructionId"])
    assert api("GET", f"/resends/{found['resendRequestId']}")[1]["status"] == "SUBMITTED"
    assert sum(upstream_state(emulator)["updateHandlingCalls"].values()) == 1


def test_an_item_that_cannot_be_resent_ends_the_instruction_with_its_refused_resend(register, api, items, settle):
    _, view = register(instruction())
    arrive(items, 1508, handlingCode="rtn")  # here and waiting, but its handling code is not one a resend takes
    settle(again=True)
    found = matched(api, view["instructionId"])
    status, resend = api("GET", f"/resends/{found['resendRequestId']}")
    assert (status, resend["status"], resend["lastError"]["reason"]) == (200, "REJECTED", "itemNotEligible")
    assert items.store.get(1508, consistent=True).active_resend_request_id is None


def later(items, inventory_id, event_time="2025-03-04T08:00:00.0000000Z", **facts):
    """A later report about the item (a webhook or a sync): only `facts` change."""
    items.store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(event_time, "later"), event_time)


@pytest.mark.parametrize(
    ("logged", "then"),
    [
        ({"inStock": False}, {"inStock": True}),
        ({"handlingStatusCode": "processing"}, {"handlingStatusCode": "pending"}),
        ({"otherWorkflow": "recall"}, {"otherWorkflow": None}),
        ({"sku": "TEST-HOODIE-GRY-X"}, {"sku": "TEST-HOODIE-GRY-L"}),  # a correction of the SKU
    ],
    ids=["not-in-stock-yet", "not-pending-yet", "another-workflow", "sku-corrected"],
)
def test_an_item_that_arrives_not_resendable_yet_is_matched_when_it_becomes_so(
    register, api, items, settle, emulator, logged, then
):
    _, view = register(instruction(sku="TEST-HOODIE-GRY-L"))
    arrive(items, 1510, **{"sku": "TEST-HOODIE-GRY-L", **logged})
    settle(again=True)
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "WAITING"  # waits for it
    assert creates(emulator) == {}
    later(items, 1510, **then)  # no reference gained: the item turned matchable
    settle(again=True)
    found = matched(api, view["instructionId"])
    assert found["returnInventoryId"] == 1510
    assert api("GET", f"/resends/{found['resendRequestId']}")[1]["status"] == "SUBMITTED"
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]


def test_an_item_reserved_by_another_request_is_matched_once_that_request_lets_it_go(
    register, api, items, settle, emulator, tables
):
    arrive(items, 1511)
    boto3.client("dynamodb").update_item(  # reserved by a request of the merchant's own
        TableName=tables["InventoryTable"],
        Key={"returnInventoryId": {"N": "1511"}},
        UpdateExpression="SET activeResendRequestId = :r",
        ExpressionAttributeValues={":r": {"S": "another-request"}},
    )
    settle()
    _, view = register(instruction())
    assert view["status"] == "WAITING"
    boto3.client("dynamodb").update_item(  # that request ended: the item is released
        TableName=tables["InventoryTable"],
        Key={"returnInventoryId": {"N": "1511"}},
        UpdateExpression="REMOVE activeResendRequestId",
    )
    settle()
    assert matched(api, view["instructionId"])["returnInventoryId"] == 1511
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]


def test_an_undecided_match_at_registration_is_503_and_the_same_key_again_matches(register, items, settle, emulator):
    arrive(items, 1509)
    settle()
    fault(emulator, "getAvailableShipmentServiceType", kind="http5xx", status=500)
    status, body = register(instruction())
    assert status == 503 and body["message"], body
    status, view = register(instruction())
    assert (status, view["status"], view["returnInventoryId"]) == (201, "MATCHED", 1509)


# ------------------------------------------------------------------ the reconciler's sweep


def roomy():  # a Lambda context's remaining time, never running out
    return 120_000


@pytest.fixture
def reconciler(load_with_upstream):
    return load_with_upstream("ReconcilerFunction")


def hide_from_arrivals(tables, instruction_id):
    """The arrival's look-up (the ByMatch index, eventually consistent) cannot see the instruction yet: the
    state a registration and an arrival within the index's lag leave."""
    boto3.client("dynamodb").update_item(
        TableName=tables["ResendInstructionTable"],
        Key={"instructionId": {"S": instruction_id}},
        UpdateExpression="REMOVE matchRef",
    )


def stored_instruction(tables, instruction_id) -> dict:
    return boto3.client("dynamodb").get_item(
        TableName=tables["ResendInstructionTable"], Key={"instructionId": {"S": instruction_id}}, ConsistentRead=True
    )["Item"]


def test_an_arrival_the_stream_missed_is_matched_by_the_reconciler_s_run(
    register, api, items, settle, emulator, tables, reconciler, lambda_context
):
    _, view = register(instruction())
    hide_from_arrivals(tables, view["instructionId"])
    arrive(items, 1520)
    settle(again=True)
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "WAITING"  # missed

    answer = reconciler.lambda_handler(load_event("eventbridge_scheduled_event"), lambda_context)
    assert (answer["instructionsMatched"], answer["instructionsExpired"]) == (1, 0)
    found = matched(api, view["instructionId"])
    assert found["returnInventoryId"] == 1520
    assert api("GET", f"/resends/{found['resendRequestId']}")[1]["status"] == "SUBMITTED"
    assert (
        reconciler.lambda_handler(load_event("eventbridge_scheduled_event"), lambda_context)["instructionsMatched"] == 0
    )
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]


@pytest.mark.parametrize("first", ["sweep", "arrival"])
def test_a_sweep_racing_an_arrival_creates_one_resend(
    register, api, items, settle, emulator, tables, reconciler, monkeypatch, first
):
    # GIVEN a waiting instruction, and both its look-ups still seeing it WAITING (the indexes' lag)
    _, view = register(instruction())
    consumer_store = settle.module.services.instructions._store
    sweep_store = reconciler.services.instructions._store
    stale_waiting = consumer_store.waiting_for(f"instruction#rma#{RMA}")
    assert [r["instructionId"] for r in stale_waiting] == [view["instructionId"]]
    monkeypatch.setattr(consumer_store, "waiting_for", lambda ref: copy.deepcopy(stale_waiting))
    stale_page = sweep_store.waiting_after(None, 100)
    monkeypatch.setattr(sweep_store, "waiting_after", lambda position, limit: copy.deepcopy(stale_page))
    arrive(items, 1521)
    if first == "sweep":
        with monkeypatch.context() as lagging:  # the consumer writes the reference rows, sees no instruction yet
            lagging.setattr(consumer_store, "waiting_for", lambda ref: [])
            settle()
        assert reconciler.services.reconciler.run(roomy).instructions_matched == [view["instructionId"]]
        settle.module.services.instructions.arrived(1521, None, items.store.get(1521, consistent=True).values)
    else:
        settle()  # the consumer matches it
        assert matched(api, view["instructionId"])
        assert reconciler.services.reconciler.run(roomy).instructions_matched == []
    # THEN one resend, recorded on the instruction
    found = matched(api, view["instructionId"])
    assert list(creates(emulator)) == [f"instruction:{view['instructionId']}"]
    status, page = api("GET", "/resends", query={"status": "SUBMITTED"})
    assert [r["resendRequestId"] for r in page["items"]] == [found["resendRequestId"]]


def test_an_expired_instruction_is_stored_expired_by_the_sweep_and_never_matched(
    register, api, items, settle, emulator, tables, reconciler
):
    # GIVEN an instruction that expires in an hour, whose item arrives unseen by the stream's look-up
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, view = register(instruction(expiresAt=expires))
    _, other = register(instruction({"rma": "STILL-WAITING"}), key="instr-w")
    hide_from_arrivals(tables, view["instructionId"])
    arrive(items, 1522)
    settle()
    # WHEN the reconciler runs two hours later
    report = reconciler.services.reconciler.run(roomy, now=datetime.now(UTC) + timedelta(hours=2))
    # THEN it is stored EXPIRED (out of the match index), read and listed so, never matched
    assert (report.instructions_expired, report.instructions_matched) == ([view["instructionId"]], [])
    row = stored_instruction(tables, view["instructionId"])
    assert row["status"] == {"S": "EXPIRED"} and "matchRef" not in row
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "EXPIRED"
    status, page = api("GET", "/instructions", query={"status": "EXPIRED"})
    assert (status, [v["instructionId"] for v in page["items"]]) == (200, [view["instructionId"]])
    waiting = api("GET", "/instructions", query={"status": "WAITING"})[1]["items"]
    assert [v["instructionId"] for v in waiting] == [other["instructionId"]]
    assert api("POST", f"/instructions/{view['instructionId']}/cancel")[0] == 409
    assert creates(emulator) == {}
    assert items.store.get(1522, consistent=True).active_resend_request_id is None


def test_expired_is_listed_whether_the_sweep_stored_it_yet_or_not_and_pages_through_both(register, api, tables):
    ids = []
    for n in range(3):
        _, view = register(instruction({"rma": f"R-{n}"}), key=f"instr-x{n}")
        boto3.client("dynamodb").update_item(
            TableName=tables["ResendInstructionTable"],
            Key={"instructionId": {"S": view["instructionId"]}},
            UpdateExpression="SET expiresAt = :t",
            ExpressionAttributeValues={":t": {"S": "2020-01-01T00:00:00.000000Z"}},
        )
        ids.append(view["instructionId"])
    boto3.client("dynamodb").update_item(  # the first one swept (stored EXPIRED), the others not yet
        TableName=tables["ResendInstructionTable"],
        Key={"instructionId": {"S": ids[0]}},
        UpdateExpression="SET #s = :e REMOVE matchRef",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":e": {"S": "EXPIRED"}},
    )
    listed, token = [], None
    for _ in range(6):
        query = {"status": "EXPIRED", "limit": "1", **({"nextToken": token} if token else {})}
        status, page = api("GET", "/instructions", query=query)
        assert status == 200, page
        listed += [v["instructionId"] for v in page["items"]]
        token = page["nextToken"]
        if token is None:
            break
    assert listed == ids


def test_the_sweep_is_bounded_and_goes_on_in_turns_from_where_the_last_run_stopped(
    register, api, items, settle, tables, load_with_upstream
):
    # GIVEN three waiting instructions, oldest first, that arrivals cannot see; at most two checked a run
    reconciler = load_with_upstream("ReconcilerFunction", RECONCILE_INSTRUCTIONS_MAX_PER_RUN="2")
    views = []
    for n in range(3):
        _, view = register(instruction({"rma": f"TURN-{n}"}), key=f"instr-t{n}")
        hide_from_arrivals(tables, view["instructionId"])
        views.append(view["instructionId"])
    first, second, third = views
    assert reconciler.services.reconciler.run(roomy).instructions_matched == []  # the first two: nothing yet
    # WHEN the first's and the third's items arrive, unseen by the stream's look-up
    items(1523, rma="TURN-0")
    items(1524, rma="TURN-2")
    settle()
    # THEN the next run goes on with the third, then turns round to the first (the cap: the second is the next run's)
    assert reconciler.services.reconciler.run(roomy).instructions_matched == [third, first]
    assert api("GET", f"/instructions/{second}")[1]["status"] == "WAITING"


def test_a_run_running_out_of_time_stops_the_sweep_and_the_next_goes_on_from_there(
    register, api, items, settle, tables, reconciler, monkeypatch
):
    # GIVEN three waiting instructions whose items arrived unseen by the stream's look-up
    views = []
    for n in range(3):
        _, view = register(instruction({"rma": f"LATE-{n}"}), key=f"instr-l{n}")
        hide_from_arrivals(tables, view["instructionId"])
        views.append(view["instructionId"])
        items(1530 + n, rma=f"LATE-{n}")
    settle()
    # AND a run whose time is gone once it has looked one up (the Lambda context's remaining time)
    looked_up = []
    rows = reconciler.services.instructions._references
    page = rows.page
    monkeypatch.setattr(rows, "page", lambda ref, limit: looked_up.append(ref) or page(ref, limit))
    report = reconciler.services.reconciler.run(lambda: 120_000 if not looked_up else 0)
    # THEN it stops after that one, and the next run goes on with the others
    assert (report.instructions_matched, report.out_of_time) == (views[:1], True)
    assert reconciler.services.reconciler.run(roomy).instructions_matched == views[1:]
    assert all(api("GET", f"/instructions/{i}")[1]["status"] == "MATCHED" for i in views)


def test_an_instruction_cancelled_while_the_sweep_s_index_still_shows_it_waiting_gets_no_resend(
    register, api, items, settle, emulator, tables, reconciler, monkeypatch
):
    _, view = register(instruction())
    hide_from_arrivals(tables, view["instructionId"])
    arrive(items, 1535)
    settle()
    sweep_store = reconciler.services.instructions._store
    stale_page = sweep_store.waiting_after(None, 100)  # the ByStatus index before it hears of the cancel
    assert api("POST", f"/instructions/{view['instructionId']}/cancel")[0] == 200
    monkeypatch.setattr(sweep_store, "waiting_after", lambda position, limit: copy.deepcopy(stale_page))
    assert reconciler.services.reconciler.run(roomy).instructions_matched == []
    assert api("GET", f"/instructions/{view['instructionId']}")[1]["status"] == "CANCELED"
    assert creates(emulator) == {}
    assert items.store.get(1535, consistent=True).active_resend_request_id is None


@pytest.mark.parametrize(("threshold", "waits"), [("1000", False), ("0.01", True)], ids=["under", "over"])
def test_an_instruction_s_resend_is_quoted_and_judged_by_its_fee(
    load_with_upstream, api, items, settle, emulator, threshold, waits
):
    # GIVEN an item in stock, and an approval threshold above / below its fee (the instruction service as the
    # stream's consumer builds it: the merchant API's is the same service, held by its routes)
    arrive(items, 1511, handlingCode="ohd")
    settle()
    consumer = load_with_upstream("InventoryReferenceFunction", APPROVAL_FEE_THRESHOLD=threshold)
    request = InstructionRequest.model_validate(instruction())
    # WHEN an instruction for it is registered (it matches at once)
    view = consumer.services.instructions.register(request, f"fee-{threshold}").body
    # THEN its resend was quoted (the fee recorded), and it waits only when the fee is over the threshold
    status, resend = api("GET", f"/resends/{view['resendRequestId']}")
    assert status == 200 and resend["quotedFee"] is not None and resend["quotedFee"] > 0.01, resend
    assert (resend["status"], resend["approvalReason"]) == (
        ("AWAITING_APPROVAL", "overThreshold") if waits else ("SUBMITTED", None)
    )
    assert list(creates(emulator)) == ([] if waits else [f"instruction:{view['instructionId']}"])
