"""Hold, quote, plan and batch (contract section 7) through the real merchant API handler:
moto for AWS and the Return Helper emulator (a real HTTP server, in-process) upstream.

RESEND_MAX_ITEMS=3 here (the stack's default is 5), so five items over two warehouses
make three groups.
"""

import json
import threading

import boto3
import pytest
import requests

from local.emulator import quote as emulator_quote
from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.contract.workflow_requests import BatchRequest
from rh_common.domain import inventory, webhook_events
from rh_common.domain.webhook_events import InventoryFacts
from tests.support.resend import T, fault, handler_caller, resend_body, upstream_state

NJ, HAMBURG = 2, 5


@pytest.fixture(autouse=True)
def one_moto_transaction_at_a_time(monkeypatch):
    """Batch groups run side by side; in-process moto is not thread-safe where they meet: its
    transact_write_items deep-copies each table it touches (its rollback) while another group's
    thread writes that table ("dictionary changed size during iteration", seen once under load).
    DynamoDB, DynamoDB Local and moto server serialise that themselves; here a lock does."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    unguarded = DynamoDBBackend.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        with lock:
            return unguarded(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)


@pytest.fixture
def api(load_with_upstream, lambda_context):
    module = load_with_upstream(
        "MerchantApiFunction",
        # Groups call the in-process emulator side by side: on a loaded machine one second is too
        # tight and a group would turn PENDING (faults here answer at once; nothing waits on this).
        UPSTREAM_TIMEOUT_SECONDS="10",
        RESEND_MAX_ITEMS="3",
        BATCH_MAX_ITEMS="8",  # the plan below takes 8 items (a plan is capped like a batch)
    )
    return handler_caller(module, lambda_context)


@pytest.fixture
def seed(tables, emulator):
    """An item both upstream (emulator) and in our state, as its webhooks would have left it."""
    store = InventoryStore(tables["InventoryTable"])

    def make(inventory_id, warehouse_id=NJ, handling="ohd", weight=500, **values):
        facts = {"warehouseId": warehouse_id, "handlingCode": handling, "handlingStatusCode": "pending"}
        facts.update({"inStock": True, **values})
        store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(T, f"seed-{inventory_id}"), T)
        spec = {"returnInventoryId": inventory_id, "warehouseId": warehouse_id, "handlingCode": handling}
        spec.update(deliver=False, weight=weight, pendingVas=bool(values.get("pendingVas")))
        requests.post(f"{emulator.url}/_emulator/inventories", json=spec, timeout=5).raise_for_status()
        return inventory_id

    make.store = store
    return make


def quote_body(ids, country="usa", postal="10001"):
    return {"returnInventoryIdList": ids, "shipmentCountryCode": country, "shipmentPostalCode": postal}


# ------------------------------------------------------------------ plan


def test_the_plan_groups_by_warehouse_within_the_cap_and_lists_the_rest(api, seed, tables):
    for i in (1, 2, 3):
        seed(i)
    seed(5, fraudFlag={"isFraudulent": False, "reasonCode": None})
    seed(4, HAMBURG)
    seed(6, inStock=False)
    seed(7, fraudFlag={"isFraudulent": True, "reasonCode": "serialMismatch"})
    status, plan = api("POST", "/resends/plan", {"returnInventoryIdList": [7, 6, 5, 4, 3, 2, 1, 99]})
    assert status == 200, plan
    assert plan["groups"] == [
        {"warehouseId": NJ, "returnInventoryIdList": [1, 2, 3]},
        {"warehouseId": NJ, "returnInventoryIdList": [5]},
        {"warehouseId": HAMBURG, "returnInventoryIdList": [4]},
    ]
    assert plan["excluded"] == [
        {"returnInventoryId": 6, "reason": "is not in stock"},
        {"returnInventoryId": 7, "reason": "fraudFlag"},  # the contract's name for it (section 11)
        {"returnInventoryId": 99, "reason": "not known"},
    ]
    assert boto3.client("dynamodb").scan(TableName=tables["ResendRequestTable"])["Items"] == []


@pytest.mark.parametrize("body", [{"returnInventoryIdList": "1"}, {"returnInventoryIdList": []}, [1], {"x": 1}])
def test_a_malformed_plan_body_is_422(api, tables, body):
    status, answer = api("POST", "/resends/plan", body)
    assert status == 422 and answer["errors"], answer


# ------------------------------------------------------------------ quote


def test_the_quote_offers_only_shipment_services_to_the_country_cheapest_first(api, seed, emulator):
    ids = [seed(11), seed(12)]
    status, quote = api("POST", "/resends/quote", quote_body(ids))
    assert status == 200, quote
    kg = emulator_quote.chargeable_kg([500, 500])
    expected = sorted(
        (emulator_quote.fee(code, kg), code)
        for code in ("SHIPMENT_USPS_GA_SIG_NJ", "SHIPMENT_USPS_PM_NJ", "SHIPMENT_UPS_GROUND_NJ")
    )
    assert [(i["fee"], i["serviceTypeCode"]) for i in quote["items"]] == expected
    # upstream also listed its (cheaper) return service type: never offered
    assert not any(i["serviceTypeCode"].startswith("RETURN_") for i in quote["items"])
    assert quote["cheapestServiceTypeCode"] == expected[0][1]
    assert quote["warehouseId"] == NJ and quote["currencyCode"] == "USD"
    assert quote["items"][0]["chargeableWeight"] == kg


def test_a_quote_is_cached_until_a_recalibration_of_one_of_its_items(api, seed, emulator, tables):
    ids = [seed(21), seed(22)]
    first = api("POST", "/resends/quote", quote_body(ids))
    assert api("POST", "/resends/quote", quote_body(ids)) == first
    assert upstream_state(emulator)["shippingFeeCalls"] == 1
    assert api("POST", "/resends/quote", quote_body(ids, postal="08817"))[0] == 200  # another destination
    assert upstream_state(emulator)["shippingFeeCalls"] == 2

    recalibrated = {
        "recalibrateSupplement": {"returnInventoryId": 22, "warehouseId": NJ, "weight": 2500, "weightUom": "g"},
        "category": "completeRecalibrate",
        "action": "completeRecalibrate",
        "eventTime": "2025-03-04T09:00:00.0000000Z",
    }
    event = webhook_events.normalise(recalibrated)  # as the webhook path applies it (ingest)
    store = InventoryStore(tables["InventoryTable"])
    for facts in event.inventories:
        store.apply(facts, inventory.event_version(event.event_time, "d-1"), event.event_time)
    assert api("POST", "/resends/quote", quote_body(ids))[0] == 200
    assert upstream_state(emulator)["shippingFeeCalls"] == 3


def test_a_resend_after_its_quote_records_the_fee_of_its_service_and_one_without_a_quote_none(api, seed):
    ids = [seed(61), seed(62)]
    status, quoted = api("POST", "/resends/quote", quote_body(ids, postal="10001"))
    assert status == 200 and len(quoted["items"]) > 1, quoted
    chosen = quoted["items"][-1]  # any quoted service, not only the cheapest
    body = resend_body(
        ids, shipmentServiceType=chosen["serviceTypeCode"], shipmentPostalCode="10001", shipmentState="NY"
    )
    status, created = api("POST", "/resends", body, headers={"Idempotency-Key": "quoted-61"})
    assert status == 201 and created["quotedFee"] == chosen["fee"], created
    assert api("GET", f"/resends/{created['resendRequestId']}")[1]["quotedFee"] == chosen["fee"]
    # items nobody quoted: unknown
    body = resend_body(
        [seed(63)], shipmentServiceType=chosen["serviceTypeCode"], shipmentPostalCode="10001", shipmentState="NY"
    )
    status, unquoted = api("POST", "/resends", body, headers={"Idempotency-Key": "unquoted-63"})
    assert status == 201 and unquoted["quotedFee"] is None


def test_quote_refusals(api, seed, emulator):
    seed(31)
    seed(32, HAMBURG)
    seed(33, handling="rsd")
    seed(36, fraudFlag={"isFraudulent": True, "reasonCode": "serialMismatch"})
    status, body = api("POST", "/resends/quote", quote_body([31, 36]))
    assert status == 422 and [e["field"] for e in body["errors"]] == ["returnInventoryIdList.1"]
    assert "fraudFlag" in body["errors"][0]["message"]
    status, body = api("POST", "/resends/quote", quote_body([31, 32]))
    assert status == 422 and "one warehouse" in json.dumps(body)
    status, body = api("POST", "/resends/quote", quote_body([31, 33, 34]))
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"returnInventoryIdList.1", "returnInventoryIdList.2"}
    # a Tokyo postal code, and no service ships to Japan
    status, body = api("POST", "/resends/quote", quote_body([31], country="jpn", postal="100-0001"))
    assert status == 422 and body["errors"][0]["field"] == "shipmentCountryCode"
    status, body = api("POST", "/resends/quote", quote_body([31], country="zzz"))
    assert status == 422 and body["errors"][0]["field"] == "shipmentCountryCode"
    assert upstream_state(emulator)["shippingFeeCalls"] == 0


def test_a_quote_where_upstream_refuses_the_service_types_is_422_as_for_a_resend(api, seed, emulator):
    # GIVEN Return Helper refuses to list the warehouse's service types (the one look-up the create path uses)
    seed(35)
    fault(emulator, "getAvailableShipmentServiceType", kind="softError", errorCode="VALIDATION_FAILED")
    # WHEN quoting
    status, body = api("POST", "/resends/quote", quote_body([35]))
    # THEN a field error, not a 500
    assert status == 422 and body["errors"][0]["field"] == "shipmentCountryCode"
    assert "no shipment service types" in body["errors"][0]["message"]


def test_a_quote_for_a_reserved_item_is_409(api, seed, emulator):
    seed(41)
    assert api("POST", "/resends", resend_body([41]))[0] == 201
    status, body = api("POST", "/resends/quote", quote_body([41]))
    assert status == 409 and body["conflicts"][0]["returnInventoryId"] == 41


def test_an_unreachable_upstream_quote_is_503_with_retry_after(api, seed, emulator):
    seed(51)
    fault(emulator, "getShippingFeeListByToShippingOption", kind="http5xx")
    status, body = api("POST", "/resends/quote", quote_body([51]))
    assert status == 503 and body["errors"] == [] and api.headers["Retry-After"]


# ------------------------------------------------------------------ hold


def test_a_tbc_item_is_held_once_and_then_resent(api, seed, emulator):
    seed(61, handling="tbc")
    status, view = api("POST", "/inventories/61/hold")
    assert status == 200, view
    assert (view["handlingCode"], view["handlingStatusCode"], view["eligibleForResend"]) == ("ohd", "pending", True)
    [upstream] = [i for i in upstream_state(emulator)["inventories"] if i["returnInventoryId"] == 61]
    assert upstream["handlingCode"] == "ohd"
    assert api("GET", "/inventories/61")[1]["handlingCode"] == "ohd"
    # idempotent: no second upstream call
    assert api("POST", "/inventories/61/hold")[0] == 200
    assert sum(upstream_state(emulator)["updateHandlingCalls"].values()) == 1
    status, resend = api("POST", "/resends", resend_body([61]))
    assert status == 201, resend


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"pendingVas": True}, "pending VAS"),
        ({"inStock": False}, "not in stock"),
        ({"handlingStatusCode": "inProgress"}, "not pending"),
    ],
)
def test_an_item_that_cannot_be_held_is_409_without_an_upstream_call(api, seed, emulator, values, why):
    seed(71, handling="tbc", **values)
    status, body = api("POST", "/inventories/71/hold")
    assert status == 409 and why in body["errors"][0]["message"] and body["errors"][0]["field"] == "returnInventoryId"
    assert upstream_state(emulator)["updateHandlingCalls"] == {}


def test_a_reserved_item_cannot_be_held_and_an_unknown_one_is_404(api, seed, emulator):
    seed(81, handling="tbc")
    assert api("POST", "/resends", resend_body([81]))[0] == 201
    status, body = api("POST", "/inventories/81/hold")
    assert status == 409 and "reserved" in body["message"]
    assert api("POST", "/inventories/82/hold")[0] == 404
    assert api("POST", "/inventories/0/hold")[0] == 422


def test_upstream_refusing_a_hold_is_422_with_upstream_and_unavailable_is_503(api, seed, emulator):
    seed(91, handling="tbc")
    fault(
        emulator,
        "updateReturnInventoryHandling",
        kind="softError",
        errorCode="VALIDATION_FAILED",
        error={"returnInventoryId": "nope"},
    )
    status, body = api("POST", "/inventories/91/hold")
    assert status == 422 and body["upstream"] == {
        "errorCode": "VALIDATION_FAILED",
        "error": {"returnInventoryId": "nope"},
    }
    fault(emulator, "updateReturnInventoryHandling", kind="http5xx")
    status, body = api("POST", "/inventories/91/hold")
    assert status == 503 and api.headers["Retry-After"]
    assert api("GET", "/inventories/91")[1]["handlingCode"] == "tbc"  # nothing recorded for a refusal


# ------------------------------------------------------------------ batch


def _five_items(seed):
    for i in (101, 102, 103, 105):
        seed(i)
    seed(104, HAMBURG)
    return [101, 102, 103, 104, 105]


# Both warehouses ship to gbr, each with two services: "cheapest" is a real choice per group.
TO_GBR = {"shipmentCountryCode": "gbr", "shipmentState": "NA", "shipmentPostalCode": "SW1A 1AA"}


def cheapest(codes, weights):
    kg = emulator_quote.chargeable_kg(weights)
    return min(codes, key=lambda code: emulator_quote.fee(code, kg))


def test_five_items_over_two_warehouses_are_three_resends_at_the_cheapest_service_each(api, seed, emulator):
    ids = _five_items(seed)
    body = resend_body(ids, shipmentServiceType="cheapest", **TO_GBR)
    status, result = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "batch-1"})
    assert status == 200, result
    assert result["batchKey"] == "batch-1" and result["excluded"] == []
    by_items = {tuple(e["returnInventoryIdList"]): e for e in result["resends"]}
    assert set(by_items) == {(101, 102, 103), (105,), (104,)}
    assert {e["status"] for e in result["resends"]} == {"SUBMITTED"}
    nj = ("SHIPMENT_USPS_PM_NJ", "SHIPMENT_FEDEX_INTL_ECONOMY_NJ")
    hamburg = ("SHIPMENT_DHL_PAKET_DE", "SHIPMENT_UPS_STANDARD_DE")
    assert by_items[(101, 102, 103)]["shipmentServiceType"] == cheapest(nj, [500] * 3)
    assert by_items[(105,)]["shipmentServiceType"] == cheapest(nj, [500])
    assert by_items[(104,)]["shipmentServiceType"] == cheapest(hamburg, [500])
    assert by_items[(104,)]["warehouseId"] == HAMBURG

    # the same call again: the same groups and request ids, and still three creates upstream
    assert api("POST", "/resends/batch", body, headers={"Idempotency-Key": "batch-1"}) == (status, result)
    state = upstream_state(emulator)
    assert sum(state["createResendCalls"].values()) == 3
    assert sorted(state["createdPerIdempotencyKey"]) == ["batch-1#g0", "batch-1#g1", "batch-1#g2"]
    assert {tuple(r["returnInventoryIdList"]) for r in state["resends"]} == set(by_items)

    status, read = api("GET", "/resends/batch/batch-1")
    assert status == 200 and [e["resendRequestId"] for e in read["resends"]] == [
        e["resendRequestId"] for e in result["resends"]
    ]
    other = {**body, "remarks": "another body"}
    status, refused = api("POST", "/resends/batch", other, headers={"Idempotency-Key": "batch-1"})
    assert status == 422 and refused["errors"][0]["field"] == "Idempotency-Key"


def test_hold_first_holds_the_tbc_items_then_resends_them(api, seed, emulator):
    seed(121, handling="tbc")
    seed(122)
    seed(123, inStock=False)
    seed(124, handling="tbc", fraudFlag={"isFraudulent": True, "reasonCode": "serialMismatch"})
    body = {**resend_body([121, 122, 123, 124]), "holdFirst": True}
    status, result = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "batch-hold"})
    assert status == 200, result
    [entry] = result["resends"]
    assert entry["returnInventoryIdList"] == [121, 122] and entry["status"] == "SUBMITTED"
    assert result["excluded"] == [
        {"returnInventoryId": 123, "reason": "is not in stock"},
        {"returnInventoryId": 124, "reason": "fraudFlag"},
    ]
    assert sum(upstream_state(emulator)["updateHandlingCalls"].values()) == 1


def test_groups_fail_on_their_own_and_a_transient_failure_leaves_a_group_pending(api, seed, emulator):
    ids = _five_items(seed)
    # Hamburg does not ship to the usa: that group is refused, the NJ groups go (one after a 503)
    fault(emulator, "createResend", kind="http5xx")
    body = resend_body(ids, shipmentServiceType="cheapest")
    status, result = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "batch-3"})
    assert status == 200, result
    statuses = {tuple(e["returnInventoryIdList"]): e["status"] for e in result["resends"]}
    assert statuses[(104,)] == "REJECTED"
    assert sorted([statuses[(101, 102, 103)], statuses[(105,)]]) == ["PENDING", "SUBMITTED"]
    [rejected] = [e for e in result["resends"] if e["status"] == "REJECTED"]
    assert rejected["errors"] and rejected["resendRequestId"] is None


def test_batch_refusals(api, seed, emulator):
    ids = [seed(i) for i in range(111, 120)]
    status, body = api("POST", "/resends/batch", resend_body(ids[:2]))
    assert status == 422 and body["errors"][0]["field"].lower() == "idempotency-key"
    status, body = api("POST", "/resends/batch", resend_body(ids), headers={"Idempotency-Key": "too-many"})
    assert status == 422 and "at most 8" in body["errors"][0]["message"]
    assert api("GET", "/resends/batch/too-many")[0] == 404
    assert upstream_state(emulator)["createResendCalls"] == {}


# ------------------------------------------------------------------ GET /resends?status=


def test_resends_by_status_newest_first_in_pages(api, seed, emulator):
    made = []
    for i in (131, 132, 133):
        seed(i)
        status, body = api("POST", "/resends", resend_body([i]))
        assert status == 201
        made.append(body["resendRequestId"])
    status, page = api("GET", "/resends", query={"status": "SUBMITTED", "limit": "2"})
    assert status == 200, page
    assert [r["resendRequestId"] for r in page["items"]] == made[::-1][:2] and page["nextToken"]
    status, rest = api("GET", "/resends", query={"status": "SUBMITTED", "nextToken": page["nextToken"]})
    assert status == 200 and [r["resendRequestId"] for r in rest["items"]] == made[:1] and rest["nextToken"] is None
    assert api("GET", "/resends", query={"status": "PENDING"}) == (200, {"items": [], "nextToken": None})
    assert "resendShipment" not in json.dumps(page) and "Test Recipient" not in json.dumps(page)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "SUBMITTED", "idempotencyKey": "k"},
        {"status": "WHATEVER"},
        {"status": "SUBMITTED", "limit": "0"},
        {"status": "SUBMITTED", "limit": "101"},
        {"status": "SUBMITTED", "nextToken": "not-a-token"},
        {"status": "PENDING", "nextToken": "WyJTVUJNSVRURUQiLCIyMDI1IiwiYSJd"},  # a SUBMITTED token
    ],
)
def test_listing_by_status_refuses_bad_queries(api, tables, query):
    status, body = api("GET", "/resends", query=query)
    assert status == 422 and body["errors"], body


# ------------------------------------------------------------------ batch: in flight, undecided, resumed


def test_the_same_key_while_the_first_batch_runs_is_409_and_a_dead_first_call_is_carried_on(
    api, seed, emulator, tables
):
    seed(143)
    seed(144)
    body = resend_body([143, 144])
    # a first call cut off after planning: its record, answerBefore still ahead
    dynamo = boto3.client("dynamodb")
    plan = {"groups": [{"warehouseId": NJ, "returnInventoryIdList": [143, 144]}], "excluded": []}
    dynamo.put_item(
        TableName=tables["ResendBatchTable"],
        Item={
            "batchKey": {"S": "cut-off"},
            "fingerprint": {"S": BatchRequest.model_validate(body).fingerprint()},
            "answerBefore": {"N": "9999999999"},
            "plan": {"S": json.dumps(plan)},
        },
    )
    status, busy = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "cut-off"})
    assert status == 409 and busy["errors"] == []
    assert api("GET", "/resends/batch/cut-off")[1]["resends"][0]["status"] == "PENDING"
    assert upstream_state(emulator)["createResendCalls"] == {}
    # its time is up (the function died): the retry carries on with the stored plan
    dynamo.update_item(
        TableName=tables["ResendBatchTable"],
        Key={"batchKey": {"S": "cut-off"}},
        UpdateExpression="SET answerBefore = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    status, result = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "cut-off"})
    assert status == 200 and [e["status"] for e in result["resends"]] == ["SUBMITTED"]
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"cut-off#g0": 1}


def test_a_group_without_an_answer_makes_the_batch_503_and_the_retry_finishes_it(api, seed, emulator):
    ids = [seed(151), seed(152, HAMBURG)]
    fault(emulator, "getAvailableShipmentServiceType", kind="http5xx")  # nothing cached yet: one group undecided
    body = resend_body(ids, shipmentServiceType="cheapest", **TO_GBR)
    status, answer = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "undecided"})
    assert status == 503 and api.headers["Retry-After"], answer
    status, result = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "undecided"})
    assert status == 200 and {e["status"] for e in result["resends"]} == {"SUBMITTED"}, result
    assert sorted(upstream_state(emulator)["createdPerIdempotencyKey"].values()) == [1, 1]


def test_an_item_known_only_upstream_is_looked_up_before_hold_quote_and_plan(api, emulator):
    for inventory_id in (161, 162):
        spec = {"returnInventoryId": inventory_id, "warehouseId": NJ, "handlingCode": "tbc", "deliver": False}
        requests.post(f"{emulator.url}/_emulator/inventories", json=spec, timeout=5).raise_for_status()
    status, view = api("POST", "/inventories/161/hold")
    assert status == 200 and view["handlingCode"] == "ohd", view
    assert api("POST", "/resends/quote", quote_body([162]))[0] == 200
    status, plan = api("POST", "/resends/plan", {"returnInventoryIdList": [161, 162, 163]})
    assert plan["groups"] == [{"warehouseId": NJ, "returnInventoryIdList": [161, 162]}]
    assert plan["excluded"] == [{"returnInventoryId": 163, "reason": "not known"}]
