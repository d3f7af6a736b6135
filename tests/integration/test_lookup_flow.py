"""Look-ups by reference and the consolidation workflow on the running local stack: the webhook, the
inventory and reference tables' streams (read by InventoryReferenceFunction, with the template's filters)
and the merchant API, as deployed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local import settings as local_settings
from local.sign import post_signed
from rh_common.domain import timestamps
from tests.events.loader import load_event
from tests.integration.test_resend_flow import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def arrive(stack):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")

    def one(sku: str) -> int:
        response = requests.post(
            f"{stack['emulator']}/_emulator/inventories", json={"warehouseId": 2, "sku": sku}, timeout=15
        )
        response.raise_for_status()
        assert response.json()["webhook"]["status"] == 200
        return int(response.json()["inventory"]["returnInventoryId"])

    return one


def send(stack, payload: dict) -> dict:
    payload["notificationId"] = uuid.uuid4().hex
    raw = json.dumps(payload).encode()
    answer = post_signed(
        stack["webhookUrl"], local_settings.DEV_RH_SIGNING_KEY, raw, signed_url=stack["webhookSignedUrl"]
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def found(api, **query) -> list[int]:
    response = api.get("/inventories", params=query)
    assert response.status_code == 200, response.text
    return [item["returnInventoryId"] for item in response.json()["items"]]


def eligible(api, inventory_id: int) -> bool:
    response = api.get(f"/inventories/{inventory_id}")
    assert response.status_code == 200, response.text
    return response.json()["eligibleForResend"]


def test_an_item_is_found_by_its_sku_and_a_cancelled_consolidation_frees_it(api, stack, arrive):
    sku = f"IT-LOOKUP-{uuid.uuid4().hex[:8]}"
    items = [arrive(sku), arrive(sku)]
    # the rows follow the arrivals within seconds
    assert sorted(wait_for(lambda: found(api, sku=sku), lambda ids: len(ids) == 2, timeout=30)) == sorted(items)
    assert found(api, sku=f"{sku}-unknown") == []
    assert all(eligible(api, i) for i in items)

    # packed into a consolidation order: no longer eligible
    order = f"01IT{uuid.uuid4().hex[:22].upper()}"
    packing = load_event("consolidateShippingOrderInventoryAllPacked")
    packing["order"]["consolidateShippingOrderId"] = order
    box = packing["order"]["shipmentList"][0]["boxList"][0]
    row = box["consolidateShippingInventoryList"][0]
    box["consolidateShippingInventoryList"] = [{**row, "returnInventoryId": i} for i in items]
    packing["eventTime"] = timestamps.upstream_iso(datetime.now(UTC) + timedelta(seconds=1))
    assert send(stack, packing)["status"] == "applied"
    assert not any(eligible(api, i) for i in items)

    # the order cancelled (it names only the order): both free again once the streams are read
    cancelled = load_event("consolidateShippingOrderCancelled")
    cancelled["order"]["consolidateShippingOrderId"] = order
    cancelled["eventTime"] = timestamps.upstream_iso(datetime.now(UTC) + timedelta(seconds=2))
    assert send(stack, cancelled)["status"] == "applied"
    wait_for(lambda: [eligible(api, i) for i in items], all, timeout=30)
