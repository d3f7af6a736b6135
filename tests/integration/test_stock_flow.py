"""Stock by SKU and aging (contract section 12) on the running local stack: arrivals through the webhook,
the inventory stream read by InventoryReferenceFunction into the sparse stock and aging rows, GET /stock,
GET /inventories?agedOverDays=N&warehouseId=W, and the reconciler's scheduled runs (every 30 s locally)
publishing InventoryAging once on the bus."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime

import pytest

from local import settings as local_settings
from local.sign import post_signed
from rh_common.domain import timestamps
from tests.events.loader import load_event
from tests.integration.test_events_flow import Subscriber
from tests.integration.test_lookup_flow import arrive  # noqa: F401 - the fixture
from tests.integration.test_resend_flow import wait_for

pytestmark = pytest.mark.integration
NJ = 2


def units(api, **query) -> list[dict]:
    response = api.get("/stock", params=query)
    assert response.status_code == 200, response.text
    return response.json()["units"]


def test_stock_counts_arrivals_per_warehouse_and_ship_to_keeps_those_shipping_there(api, arrive):  # noqa: F811
    sku = f"IT-STOCK-{uuid.uuid4().hex[:8]}"
    arrive(sku), arrive(sku)
    [nj] = wait_for(lambda: units(api, sku=sku), lambda found: found and found[0]["eligible"] == 2, timeout=30)
    assert (nj["warehouseId"], nj["toBeConfirmed"] + nj["onHold"]) == (NJ, 2)
    assert nj["oldestLoggedAt"] is not None
    assert [u["warehouseId"] for u in units(api, sku=sku, shipTo="usa")] == [NJ]
    assert units(api, sku=sku, shipTo="deu") == []  # New Jersey ships nowhere in Germany
    assert api.get("/stock", params={"sku": sku, "shipTo": "xx"}).status_code == 422


def test_an_item_logged_long_ago_is_listed_as_aged_and_published_once(api, stack, aws_client):
    subscriber = Subscriber(aws_client, stack["eventBus"], ("InventoryAging",))
    try:
        # GIVEN an arrival Return Helper logged in March 2025 (the sample's createOn), delivered now
        inventory_id = random.randint(10**8, 10**9)
        payload = load_event("newInventoryCreated")
        payload["returnInventory"] |= {"returnInventoryId": str(inventory_id), "sku": f"IT-AGED-{inventory_id}"}
        payload["eventTime"] = timestamps.upstream_iso(datetime.now(UTC))
        payload["notificationId"] = uuid.uuid4().hex
        raw = json.dumps(payload).encode()
        answer = post_signed(
            stack["webhookUrl"], local_settings.DEV_RH_SIGNING_KEY, raw, signed_url=stack["webhookSignedUrl"]
        )
        assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text

        def aged() -> list[int]:  # every page: the shared stack holds other tests' aged items too
            ids: list[int] = []
            params = {"warehouseId": NJ, "agedOverDays": 30, "limit": 100}
            while True:
                response = api.get("/inventories", params=params)
                assert response.status_code == 200, response.text
                ids += [item["returnInventoryId"] for item in response.json()["items"]]
                if not response.json()["nextToken"]:
                    return ids
                params["nextToken"] = response.json()["nextToken"]

        # THEN it is listed among the warehouse's aged items (its row follows within seconds)
        wait_for(aged, lambda ids: inventory_id in ids, timeout=30)

        def alerts() -> list[dict]:
            return [e["detail"] for e in subscriber.drain() if e["detail"]["returnInventoryId"] == inventory_id]

        # and a reconciler run publishes it, once (the next run, 30 s later, publishes nothing more)
        [event] = wait_for(alerts, lambda found: len(found) == 1, timeout=75, interval=2)
        assert event["ageDays"] > 30 and event["loggedAt"] == timestamps.sortable(
            payload["returnInventory"]["createOn"]
        )
        assert event["warehouseId"] == NJ and event["handlingCode"] == "tbc"
        time.sleep(35)
        assert len(alerts()) == 1
    finally:
        subscriber.close()
