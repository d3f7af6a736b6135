"""Day one on the local stack: stock that exists only in Return Helper becomes readable after
one POST /sync/inventories (contract section 8), and a resend for an item never synced is accepted."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.resend import resend_body

pytestmark = pytest.mark.integration


def test_120_items_over_100_days_known_only_upstream_are_readable_after_one_sync(stack, api):
    emulator = stack["emulator"]
    created = requests.post(
        f"{emulator}/_emulator/inventories/backfill", json={"count": 120, "days": 100}, timeout=10
    ).json()["returnInventoryIdList"]
    assert api.get(f"/inventories/{created[0]}").status_code == 404

    since = (datetime.now(UTC) - timedelta(days=100, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.post("/sync/inventories", json={"since": since}).status_code == 403  # the merchant key alone
    started = api.post("/sync/inventories", json={"since": since}, signed=True)
    assert (started.status_code, started.json()["status"]) == (202, "RUNNING")

    deadline, progress = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        progress = api.get(f"/sync/inventories/{started.json()['syncId']}", signed=True).json()
        if progress["status"] != "RUNNING":
            break
        time.sleep(0.5)
    assert progress["status"] == "DONE", progress
    assert progress["errors"] == [] and progress["pagesDone"] == progress["pagesTotal"]
    # other tests' upstream stock may fall in the window too: at least ours, 74 + 46 in two windows, pages of 50
    assert progress["inventoriesSeen"] >= 120 and progress["pagesTotal"] >= 3
    views = [api.get(f"/inventories/{i}") for i in created]
    assert all(v.status_code == 200 and v.json()["inStock"] is True for v in views)
    assert {v.json()["handlingCode"] for v in views} == {"ohd"}


def test_a_resend_for_an_item_never_synced_is_accepted(stack, api):
    [inventory_id] = requests.post(
        f"{stack['emulator']}/_emulator/inventories/backfill", json={"count": 1, "days": 1}, timeout=10
    ).json()["returnInventoryIdList"]
    created = api.post("/resends", json=resend_body([inventory_id]))
    assert (created.status_code, created.json()["status"]) == (201, "SUBMITTED"), created.text
