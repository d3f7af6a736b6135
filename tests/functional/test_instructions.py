"""Resend instructions (CONTRACT section 12) through the handlers over moto and the emulator: registered
(address checked, never echoed), read, listed by status, cancelled, expired, and matched by the item they
wait for, whether it arrived before or after, once whatever the number of reports."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.support.resend import SHIPMENT

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
