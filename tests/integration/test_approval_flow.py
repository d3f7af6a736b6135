"""Approval before money is spent through the running local stack (CONTRACT section 12): requests waiting
AWAITING_APPROVAL are approved (sent through the real path), rejected, and timed out by the reconciler's
scheduled runs (every 30 s locally).

The stack runs with no approval threshold (its template default), so only an instruction's fraud-flagged item
would wait (the demo shows that path, tests/integration/test_demo.py); these tests need waiting requests of a
given age, so each is written as the create path writes it, through the same store and reservation, into the
stack's tables.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from rh_common.adapters.dynamodb.resend_store import ResendStore
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.timestamps import iso
from tests.integration.test_resend_flow import SHIPMENT

pytestmark = pytest.mark.integration

RECONCILER_RUNS_WITHIN_SECONDS = 75  # every 30 s locally, and the run's own time


@pytest.fixture
def arrive(stack):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")

    def one() -> int:
        response = requests.post(f"{stack['emulator']}/_emulator/inventories", json={"warehouseId": 2}, timeout=15)
        response.raise_for_status()
        return int(response.json()["inventory"]["returnInventoryId"])

    return one


@pytest.fixture
def waiting(stack, aws_client, api, monkeypatch):
    """A request AWAITING_APPROVAL for `ids`, waiting since `since`, as ResendService.create leaves it."""
    monkeypatch.setenv("RESEND_MAX_ITEMS", "5")  # the request model's cap (the stack's template default)
    tables = stack["tables"]
    store = ResendStore(tables["ResendRequestTable"], tables["InventoryTable"], None, client=aws_client("dynamodb"))

    def make(ids: list[int], since: datetime) -> str:
        request = CreateResendRequest.model_validate({"returnInventoryIdList": ids, "resendShipment": SHIPMENT})
        key = f"approval-{uuid.uuid4()}"
        request_id = request_id_for(key)
        views = {i: api.get(f"/inventories/{i}").json() for i in ids}  # the items as their webhooks left them
        assert all(view["eligibleForResend"] for view in views.values()), views
        handling = ("handlingCode", "handlingStatusCode")
        before = {str(i): {name: view[name] for name in handling} for i, view in views.items()}
        store.reserve(
            {
                "resendRequestId": request_id,
                "status": "AWAITING_APPROVAL",
                "approval": "awaiting",
                "returnInventoryIdList": ids,
                "warehouseId": 2,
                "upstreamIdempotencyKey": key,
                "idempotencyKey": key,
                "fingerprint": request.fingerprint(),
                "request": request.upstream_body(),
                "attempts": 0,
                "createdAt": iso(since),
                "updatedAt": iso(since),
                "handlingBefore": before,
            },
            ids,
        )
        return request_id

    return make


def upstream_creations(stack) -> dict:
    return requests.get(f"{stack['emulator']}/_emulator/state", timeout=10).json()["createdPerIdempotencyKey"]


def test_approve_sends_it_and_reject_frees_its_items(api, stack, arrive, waiting):
    now = datetime.now(UTC)
    to_approve, to_reject = [arrive()], [arrive()]
    approved_id, rejected_id = waiting(to_approve, now), waiting(to_reject, now)
    listed = api.get("/resends", params={"status": "AWAITING_APPROVAL", "limit": 100}).json()["items"]
    assert {approved_id, rejected_id} <= {view["resendRequestId"] for view in listed}
    approved = api.post(f"/resends/{approved_id}/approve")
    assert (approved.status_code, approved.json()["status"]) == (200, "SUBMITTED"), approved.text
    assert upstream_creations(stack)[approved.json()["idempotencyKey"]] == 1
    assert api.post(f"/resends/{approved_id}/approve").json() == api.get(f"/resends/{approved_id}").json()
    assert api.post(f"/resends/{approved_id}/reject").status_code == 409
    rejected = api.post(f"/resends/{rejected_id}/reject")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "CANCELED"), rejected.text
    assert api.get(f"/inventories/{to_reject[0]}").json()["eligibleForResend"] is True
    assert api.post(f"/resends/{rejected_id}/approve").status_code == 409


def test_the_reconciler_times_out_an_unanswered_request(api, arrive, waiting):
    ids = [arrive()]
    request_id = waiting(ids, datetime.now(UTC) - timedelta(hours=73))  # ApprovalTimeoutHours: 72
    deadline = time.monotonic() + RECONCILER_RUNS_WITHIN_SECONDS
    view = api.get(f"/resends/{request_id}").json()
    while view["status"] == "AWAITING_APPROVAL" and time.monotonic() < deadline:
        time.sleep(2)
        view = api.get(f"/resends/{request_id}").json()
    assert view["status"] == "CANCELED", view
    assert view["lastError"]["reason"] == "approvalTimeout" and view["lastError"]["errorCode"] is None
    assert api.get(f"/inventories/{ids[0]}").json()["eligibleForResend"] is True
    assert api.post(f"/resends/{request_id}/approve").status_code == 409
    assert api.post(f"/resends/{request_id}/reject").json() == view
