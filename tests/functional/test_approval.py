"""Approval before money is spent (CONTRACT section 12) through the handlers over moto and the emulator:
a resend the system decides on waits AWAITING_APPROVAL (reserved, nothing upstream), the merchant approves
(sent as POST /resends sends) or rejects (CANCELED, items free), cancel is a reject, the reconciler times an
unanswered one out, and each state is published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from rh_common.contract.resend_request import CreateResendRequest
from rh_common.domain import inventory
from rh_common.domain.approval import Origin
from rh_common.domain.results import Outcome
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event
from tests.support.resend import ON_HOLD, SHIPMENT, T, resend_body, upstream_state
from tests.support.streams import BusCapture, StreamReader

THRESHOLD = "10"
SHIPMENT_POSTAL_CODE = SHIPMENT["shipmentPostalCode"]


def roomy():  # a Lambda context's remaining time, never running out
    return 120_000


@pytest.fixture
def automatic(load_with_upstream):
    """The resend service as the later features call it (the worker's wiring), with ApprovalFeeThreshold 10."""
    return load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD=THRESHOLD).service


@pytest.fixture
def awaiting(automatic, items):
    """A request that waits for a person: an instruction's resend with no quote while a threshold is set."""

    def make(*ids, key=None, origin=Origin.INSTRUCTION, **shipment):
        items(*ids)
        request = CreateResendRequest.model_validate(resend_body(list(ids), **shipment))
        result = automatic.create(request, key or f"approval-{ids[0]}", origin)
        assert result.outcome == Outcome.AWAITING_APPROVAL, result.body
        return result.body

    return make


def upstream_creates(emulator) -> dict:
    return upstream_state(emulator)["createdPerIdempotencyKey"]


def test_a_waiting_request_reserves_its_items_sends_nothing_and_is_listed(api, awaiting, items, emulator):
    view = awaiting(1201, 1202)
    assert (view["status"], view["quotedFee"], view["attempts"], view["resendId"]) == (
        "AWAITING_APPROVAL",
        None,
        0,
        None,
    )
    for inventory_id in (1201, 1202):
        record = items.store.get(inventory_id, consistent=True)
        assert record.active_resend_request_id == view["resendRequestId"]
        assert record.values["handlingCode"] == "ohd"  # no hold, no rsd: nothing happened to it
    assert upstream_creates(emulator) == {}
    status, page = api("GET", "/resends", query={"status": "AWAITING_APPROVAL"})
    assert status == 200 and [v["resendRequestId"] for v in page["items"]] == [view["resendRequestId"]]
    assert api("GET", f"/resends/{view['resendRequestId']}") == (200, view)


def test_the_same_key_again_answers_the_same_waiting_request(automatic, awaiting):
    view = awaiting(1211, key="same-1211")
    again = automatic.create(CreateResendRequest.model_validate(resend_body([1211])), "same-1211", Origin.INSTRUCTION)
    assert again.decision == Outcome.AWAITING_APPROVAL and again.body["resendRequestId"] == view["resendRequestId"]


def test_approve_sends_it_as_post_resends_does_and_approve_again_answers_the_current_view(api, awaiting, emulator):
    view = awaiting(1221, key="approve-1221")
    status, approved = api("POST", f"/resends/{view['resendRequestId']}/approve")
    assert status == 200 and approved["status"] == "SUBMITTED" and approved["resendId"] is not None, approved
    assert approved["attempts"] == 1
    assert upstream_creates(emulator) == {"approve-1221": 1}  # under the request's own idempotency key
    again_status, again = api("POST", f"/resends/{view['resendRequestId']}/approve")
    assert (again_status, again) == (200, approved)
    assert upstream_creates(emulator) == {"approve-1221": 1}
    status, refused = api("POST", f"/resends/{view['resendRequestId']}/reject")
    assert status == 409 and "approved" in refused["message"]


def test_reject_frees_the_items_and_reject_again_answers_the_current_view(api, awaiting, items, emulator):
    view = awaiting(1231)
    status, rejected = api("POST", f"/resends/{view['resendRequestId']}/reject")
    assert status == 200 and (rejected["status"], rejected["lastError"]) == ("CANCELED", None)
    record = items.store.get(1231, consistent=True)
    assert record.active_resend_request_id is None
    assert (record.values["handlingCode"], record.values["handlingStatusCode"]) == ("ohd", "pending")
    assert api("GET", "/inventories/1231")[1]["eligibleForResend"] is True
    assert api("POST", f"/resends/{view['resendRequestId']}/reject") == (200, rejected)
    status, refused = api("POST", f"/resends/{view['resendRequestId']}/approve")
    assert status == 409 and "rejected" in refused["message"]
    assert upstream_creates(emulator) == {}


def test_cancel_of_a_waiting_request_is_its_reject(api, awaiting, items):
    view = awaiting(1241)
    status, canceled = api("POST", f"/resends/{view['resendRequestId']}/cancel")
    assert status == 200 and canceled["status"] == "CANCELED"
    assert items.store.get(1241, consistent=True).active_resend_request_id is None
    assert api("POST", f"/resends/{view['resendRequestId']}/reject")[0] == 200  # it was a reject
    assert api("POST", f"/resends/{view['resendRequestId']}/approve")[0] == 409


def test_either_answer_on_a_request_that_never_awaited_approval_is_409_and_unknown_ids_404(api, items):
    ids = items(1251)
    status, created = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "merchant-1251"})
    assert status == 201 and created["status"] == "SUBMITTED"  # the merchant's own request never waits
    for action in ("approve", "reject"):
        status, refused = api("POST", f"/resends/{created['resendRequestId']}/{action}")
        assert status == 409 and "never awaited approval" in refused["message"], refused
        assert api("POST", f"/resends/no-such-request/{action}")[0] == 404
    assert api("GET", f"/resends/{created['resendRequestId']}")[1]["status"] == "SUBMITTED"


def test_approve_and_reject_racing_exactly_one_wins(api, automatic, awaiting, items, emulator, monkeypatch):
    view = awaiting(1261, key="race-1261")
    request_id = view["resendRequestId"]
    records = automatic._resends
    real_get = records.get
    rejected_meanwhile = []

    def get_then_reject_first(rid):
        """The approve reads the request AWAITING_APPROVAL; a reject lands before its conditional write."""
        seen = real_get(rid)
        if rid == request_id and not rejected_meanwhile:
            monkeypatch.setattr(records, "get", real_get)  # the other call reads as usual
            rejected_meanwhile.append(automatic.reject(request_id))
        return seen

    monkeypatch.setattr(records, "get", get_then_reject_first)
    lost = automatic.approve(request_id)
    assert rejected_meanwhile[0].outcome == Outcome.CANCELED
    assert lost.outcome == Outcome.NOT_AWAITING_APPROVAL
    assert real_get(request_id)["status"] == "CANCELED"
    assert items.store.get(1261, consistent=True).active_resend_request_id is None
    assert upstream_creates(emulator) == {}


def test_reject_losing_to_an_approve_is_409_and_the_items_stay_reserved(automatic, awaiting, items, monkeypatch):
    view = awaiting(1262, key="race-1262")
    request_id = view["resendRequestId"]
    records = automatic._resends
    real_get = records.get
    approved_meanwhile = []

    def get_then_approve_first(rid):
        seen = real_get(rid)
        if rid == request_id and not approved_meanwhile:
            monkeypatch.setattr(records, "get", real_get)  # the other call reads as usual
            approved_meanwhile.append(automatic.approve(request_id))
        return seen

    monkeypatch.setattr(records, "get", get_then_approve_first)
    lost = automatic.reject(request_id)
    assert approved_meanwhile[0].outcome == Outcome.APPROVED
    assert lost.outcome == Outcome.NOT_AWAITING_APPROVAL
    assert real_get(request_id)["status"] == "SUBMITTED"
    assert items.store.get(1262, consistent=True).active_resend_request_id == request_id


def test_the_reconciler_times_out_an_unanswered_request_and_no_answer_moves_it_after(
    api, load_with_upstream, awaiting, items, emulator, lambda_context
):
    view = awaiting(1271)
    other = awaiting(1272)
    module = load_with_upstream("ReconcilerFunction", APPROVAL_TIMEOUT_HOURS="72")
    reconciler = module.services.reconciler
    created = datetime.fromisoformat(view["createdAt"].replace("Z", "+00:00"))
    # not yet: 71 hours on
    assert reconciler.run(roomy, now=created + timedelta(hours=71)).approvals_timed_out == []
    # the scheduled handler's run, its clock 72 hours and a second on
    original = reconciler.run
    module.services.reconciler.run = lambda remaining: original(remaining, now=created + timedelta(hours=72, seconds=1))
    scheduled = module.lambda_handler(load_event("eventbridge_scheduled_event"), lambda_context)
    del module.services.reconciler.run
    assert scheduled["approvalsTimedOut"] == 2
    assert api("GET", f"/resends/{other['resendRequestId']}")[1]["status"] == "CANCELED"
    status, timed_out = api("GET", f"/resends/{view['resendRequestId']}")
    assert status == 200 and timed_out["status"] == "CANCELED"
    assert timed_out["lastError"] == {
        "errorCode": None,
        "detail": "nobody approved or rejected the resend within 72 hours",
        "reason": "approvalTimeout",
    }
    assert items.store.get(1271, consistent=True).active_resend_request_id is None
    assert api("POST", f"/resends/{view['resendRequestId']}/approve")[0] == 409  # approve after a timeout
    assert api("POST", f"/resends/{view['resendRequestId']}/reject") == (200, timed_out)
    assert reconciler.run(roomy, now=created + timedelta(hours=100)).approvals_timed_out == []
    assert upstream_creates(emulator) == {}


def test_the_timeout_stops_within_the_reconciler_s_budget(load_with_upstream, awaiting):
    view = awaiting(1281)
    reconciler = load_with_upstream("ReconcilerFunction").services.reconciler
    later = datetime.now(UTC) + timedelta(days=30)
    report = reconciler.run(lambda: 1, now=later)  # no time left: no step starts
    assert report.out_of_time and report.approvals_timed_out == []
    assert reconciler.run(roomy, now=later).approvals_timed_out == [view["resendRequestId"]]


def test_an_instruction_s_fraud_flagged_item_waits_even_with_the_threshold_off(load_with_upstream, items):
    off = load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD="").service
    items(1291, fraudFlag={"isFraudulent": True, "reasonCode": "FR01"})
    request = CreateResendRequest.model_validate(resend_body([1291]))
    waiting = off.create(request, "fraud-1291", Origin.INSTRUCTION)
    assert waiting.outcome == Outcome.AWAITING_APPROVAL and waiting.body["status"] == "AWAITING_APPROVAL"
    assert waiting.body["approvalReason"] == "fraudFlag"  # what the person asked to approve reads first
    # a fulfilment (or the merchant) asking for it is refused as before: a flagged item is not eligible
    items(1292, fraudFlag={"isFraudulent": True, "reasonCode": "FR01"})
    refused = off.create(CreateResendRequest.model_validate(resend_body([1292])), "fraud-1292", Origin.FULFILMENT)
    assert refused.outcome == Outcome.INVALID and "fraudFlag" in str(refused.body["errors"])


def test_threshold_off_or_fee_under_it_sends_at_once(load_with_upstream, api, items, emulator):
    off = load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD="").service
    items(1301)
    sent = off.create(CreateResendRequest.model_validate(resend_body([1301])), "off-1301", Origin.FULFILMENT)
    assert sent.outcome == Outcome.SUBMITTED
    # with a quote: over the threshold waits with its fee, under it goes
    ids = items(1302)
    status, quoted = api(
        "POST",
        "/resends/quote",
        {
            "returnInventoryIdList": ids,
            "shipmentCountryCode": "usa",
            "shipmentPostalCode": SHIPMENT["shipmentPostalCode"],
        },
    )
    assert status == 200 and quoted["items"], quoted
    chosen = quoted["items"][0]
    fee = chosen["fee"]
    body = resend_body(ids, shipmentServiceType=chosen["serviceTypeCode"])
    under = load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD=str(fee)).service
    over = load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD=str(fee - 0.01)).service
    waiting = over.create(CreateResendRequest.model_validate(body), "over-1302", Origin.FULFILMENT)
    assert waiting.outcome == Outcome.AWAITING_APPROVAL and waiting.body["quotedFee"] == fee, waiting.body
    assert waiting.body["approvalReason"] == "overThreshold"
    status, rejected = api("POST", f"/resends/{waiting.body['resendRequestId']}/reject")
    assert (status, rejected["approvalReason"]) == (200, "overThreshold")  # why it waited, kept once answered
    sent = under.create(CreateResendRequest.model_validate(body), "under-1302", Origin.FULFILMENT)
    assert sent.outcome == Outcome.SUBMITTED and sent.body["quotedFee"] == fee and sent.body["approvalReason"] is None
    assert set(upstream_creates(emulator)) == {"off-1301", "under-1302"}


def test_each_state_is_published_as_resend_status_changed(
    load_function, api, awaiting, load_with_upstream, tables, lambda_context
):
    publisher = load_function("EventPublisherFunction")
    streams = StreamReader(tables["ResendRequestTable"])
    bus = BusCapture(publisher.publisher._bus)
    approved = awaiting(1311)
    rejected = awaiting(1312)
    timed_out = awaiting(1313)
    api("POST", f"/resends/{approved['resendRequestId']}/approve")
    api("POST", f"/resends/{rejected['resendRequestId']}/reject")
    reconciler = load_with_upstream("ReconcilerFunction").services.reconciler
    reconciler.run(roomy, now=datetime.now(UTC) + timedelta(hours=73))
    assert publisher.lambda_handler(streams.read(), lambda_context)["batchItemFailures"] == []
    changes = [
        (e["detail"]["resendRequestId"], e["detail"]["previousStatus"], e["detail"]["status"], e["detail"]["lastError"])
        for e in bus.drain()
        if e["detail-type"] == "ResendStatusChanged"
    ]
    timeout_error = {
        "errorCode": None,
        "reason": "approvalTimeout",
        "detail": "nobody approved or rejected the resend within 72 hours",
    }
    for view, moves in (
        (approved, [(None, "AWAITING_APPROVAL", None), ("AWAITING_APPROVAL", "PENDING", None)]),
        (rejected, [(None, "AWAITING_APPROVAL", None), ("AWAITING_APPROVAL", "CANCELED", None)]),
        (timed_out, [(None, "AWAITING_APPROVAL", None), ("AWAITING_APPROVAL", "CANCELED", timeout_error)]),
    ):
        seen = [change[1:] for change in changes if change[0] == view["resendRequestId"]]
        assert seen[: len(moves)] == moves, (view["resendRequestId"], seen)


# ------------------------------------------------------------------ holdFirst happens after approval


@pytest.fixture
def tbc_item(items, emulator):
    """An item to be confirmed (tbc, pending), here and upstream."""

    def make(inventory_id):
        facts = {**ON_HOLD, "handlingCode": "tbc"}
        items.store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(T, "seed"), T)
        spec = {"returnInventoryId": inventory_id, "warehouseId": 2, "handlingCode": "tbc", "deliver": False}
        requests.post(f"{emulator.url}/_emulator/inventories", json=spec, timeout=5).raise_for_status()
        return inventory_id

    return make


def holds_asked(emulator) -> dict:
    """UpdateReturnInventoryHandling calls, per idempotency key."""
    return upstream_state(emulator)["updateHandlingCalls"]


def test_hold_first_waits_for_the_approval_and_then_holds_before_the_create(api, automatic, tbc_item, items, emulator):
    ids = [tbc_item(1321), tbc_item(1322)]
    request = CreateResendRequest.model_validate(resend_body(ids))
    waiting = automatic.create(request, "hold-1321", Origin.INSTRUCTION, hold_first=True)
    assert waiting.outcome == Outcome.AWAITING_APPROVAL
    assert holds_asked(emulator) == {} and upstream_creates(emulator) == {}  # not even a hold while it waits
    assert items.store.get(1321, consistent=True).values["handlingCode"] == "tbc"
    status, approved = api("POST", f"/resends/{waiting.body['resendRequestId']}/approve")
    assert status == 200 and approved["status"] == "SUBMITTED", approved
    assert sum(holds_asked(emulator).values()) == 2 and upstream_creates(emulator) == {"hold-1321": 1}
    record = automatic._resends.get(waiting.body["resendRequestId"])
    # a cancel or failure from now on gives back the hold, not the tbc it had before
    assert record["handlingBefore"] == {str(i): {"handlingCode": "ohd", "handlingStatusCode": "pending"} for i in ids}


def test_a_rejected_hold_first_request_never_held_anything(api, automatic, tbc_item, items, emulator):
    ids = [tbc_item(1331)]
    waiting = automatic.create(
        CreateResendRequest.model_validate(resend_body(ids)), "hold-1331", Origin.FULFILMENT, hold_first=True
    )
    assert api("POST", f"/resends/{waiting.body['resendRequestId']}/reject")[0] == 200
    assert holds_asked(emulator) == {}
    record = items.store.get(1331, consistent=True)
    assert (record.values["handlingCode"], record.active_resend_request_id) == ("tbc", None)


def test_hold_first_of_a_resend_that_goes_at_once_holds_before_it_is_created(load_with_upstream, tbc_item, emulator):
    off = load_with_upstream("ResendWorkerFunction", APPROVAL_FEE_THRESHOLD="").service
    ids = [tbc_item(1341)]
    sent = off.create(
        CreateResendRequest.model_validate(resend_body(ids)), "hold-1341", Origin.FULFILMENT, hold_first=True
    )
    assert sent.outcome == Outcome.SUBMITTED, sent.body
    assert sum(holds_asked(emulator).values()) == 1 and upstream_creates(emulator) == {"hold-1341": 1}
    record = off._resends.get(sent.body["resendRequestId"])
    assert record["handlingBefore"] == {"1341": {"handlingCode": "ohd", "handlingStatusCode": "pending"}}
