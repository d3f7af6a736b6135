"""Resend instructions on the running local stack (contract section 12): registered before its parcel
arrives, matched when the emulator's webhook logs it (the inventory stream read by InventoryReferenceFunction),
resent once under the key instruction:<id>, however many deliveries and syncs report it; and when that look-up
missed it, by the reconciler's next run."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local import settings as local_settings
from local.emulator import webhooks
from local.sign import post_signed
from tests.integration.test_resend_flow import SHIPMENT, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def emulator(stack) -> str:
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    return stack["emulator"]


def register(api, rma: str) -> dict:
    """An instruction waiting for the parcel with this RMA."""
    body = {"match": {"rma": rma}, "resendShipment": SHIPMENT}
    response = api.post("/instructions", json=body, headers={"Idempotency-Key": f"it-{rma}"})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "WAITING"
    return response.json()


def parcel_arrives(emulator: str, rma: str) -> dict:
    """The emulator logs the parcel (ohd: no hold) and delivers its signed newInventoryCreated webhook."""
    arrived = requests.post(
        f"{emulator}/_emulator/inventories", json={"warehouseId": 2, "rma": rma, "handlingCode": "ohd"}, timeout=15
    )
    arrived.raise_for_status()
    return arrived.json()["inventory"]


def matched(api, instruction: dict, timeout: float = 60, interval: float = 0.5) -> dict:
    """The instruction once MATCHED, and its resend made under the key instruction:<id>."""
    view = wait_for(
        lambda: api.get(f"/instructions/{instruction['instructionId']}").json(),
        lambda found: found["status"] == "MATCHED",
        timeout=timeout,
        interval=interval,
    )
    resend = api.get(f"/resends/{view['resendRequestId']}").json()
    assert resend["idempotencyKey"] == f"instruction:{instruction['instructionId']}"
    assert resend["status"] in ("PENDING", "SUBMITTED", "IN_PROGRESS", "COMPLETED")
    return view


def test_an_instruction_registered_before_its_parcel_is_resent_when_it_arrives(api, emulator):
    rma = f"IT-INSTR-{uuid.uuid4().hex[:8]}"
    instruction = register(api, rma)
    inventory = parcel_arrives(emulator, rma)
    assert matched(api, instruction)["returnInventoryId"] == inventory["returnInventoryId"]


def test_an_arrival_the_stream_s_look_up_missed_is_matched_by_the_reconciler(api, stack, aws_client, emulator):
    rma = f"IT-INSTR-LATE-{uuid.uuid4().hex[:8]}"
    instruction = register(api, rma)
    # The arrival's look-up (the ByMatch index) cannot see it yet: a registration within the index's lag
    aws_client("dynamodb").update_item(
        TableName=stack["tables"]["ResendInstructionTable"],
        Key={"instructionId": {"S": instruction["instructionId"]}},
        UpdateExpression="REMOVE matchRef",
    )
    inventory = parcel_arrives(emulator, rma)
    # The reconciler's next run (every 30 s locally) matches it on consistent reads
    view = matched(api, instruction, timeout=120, interval=2)
    assert view["returnInventoryId"] == inventory["returnInventoryId"]


def test_an_arrival_reported_by_two_deliveries_and_a_sync_creates_one_resend(api, stack, emulator):
    """The same parcel reported three times (its webhook, a second delivery of it under another notification, and
    an inventory sync that reads it again): the instruction's one resend, created once upstream."""
    rma = f"IT-TWICE-{uuid.uuid4().hex[:8]}"
    instruction = register(api, rma)
    inventory = parcel_arrives(emulator, rma)
    again = {**webhooks.new_inventory_created(inventory), "notificationId": uuid.uuid4().hex}
    redelivered = post_signed(
        stack["webhookUrl"],
        local_settings.DEV_RH_SIGNING_KEY,
        json.dumps(again).encode(),
        signed_url=stack["webhookSignedUrl"],
    )
    assert redelivered.status_code == 200, redelivered.text
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    synced = api.post("/sync/inventories", json={"since": since}, signed=True)
    assert synced.status_code == 202, synced.text
    sync_id = synced.json()["syncId"]
    wait_for(lambda: api.get(f"/sync/inventories/{sync_id}", signed=True).json(), lambda s: s["status"] == "DONE")

    view = matched(api, instruction)
    key = f"instruction:{instruction['instructionId']}"
    assert api.get("/resends", params={"idempotencyKey": key}).json()["resendRequestId"] == view["resendRequestId"]

    def created() -> dict:
        return requests.get(f"{emulator}/_emulator/state", timeout=10).json()["createdPerIdempotencyKey"]

    assert wait_for(created, lambda state: key in state, timeout=30)[key] == 1
