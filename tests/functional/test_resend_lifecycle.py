"""Resend status webhooks move requests forward only; FAILED and CANCELED release the items."""

import base64
import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from rh_common import signature
from rh_common.results import Outcome
from tests.events.loader import load_event
from tests.support.resend import resend_body

URL = "https://hooks.example.com/v1/webhooks/returnhelper"


@pytest.fixture
def webhook(load_function):
    return load_function("WebhookFunction", WEBHOOK_PUBLIC_URL=URL)


@pytest.fixture
def worker(load_function, emulator, retry_queue):
    return load_function("ResendWorkerFunction", RH_API_BASE_URL=emulator.api_base, RESEND_RETRY_QUEUE_URL=retry_queue)


@pytest.fixture
def submitted(worker, items):
    """A SUBMITTED request for fresh items: (request view, item ids)."""

    def make(*ids, **values):
        items(*ids, **values)
        answer = worker.service.intake(f"life-{ids[0]}", resend_body(list(ids)))
        assert answer.outcome == Outcome.SUBMITTED, answer.body
        return answer.body, list(ids)

    return make


def after_creation() -> datetime:
    """Event times after the request was created (our own "rsd" mark is dated then), as upstream's are."""
    return datetime.now(UTC) + timedelta(minutes=1)


@pytest.fixture
def report(webhook, lambda_context, signing_key):
    """Deliver a signed resend/updateResendStatus webhook."""
    start = after_creation()

    def send(resend_id, code, ids, second, tracking=None, error="", handling=(4, 0)):
        code_, status_ = handling  # the rows' handling code and status (upstream numbers)
        payload = {
            "category": "resend",
            "action": "updateResendStatus",
            "eventTime": signature.format_timestamp(start + timedelta(seconds=second)),
            "resend": {"resendId": resend_id, "resendStatusCode": code},
            "resendShipmentList": [{"resendId": resend_id, "trackingNumber": tracking, "error": error}],
            "returnInventoryList": [
                {"returnInventoryId": i, "warehouseId": 2, "handlingCode": code_, "handlingStatusCode": status_}
                for i in ids
            ],
        }
        raw = json.dumps(payload).encode()
        event = copy.deepcopy(load_event("apigw_webhook_post"))
        event["headers"] = signature.signed_headers(signing_key, URL, raw)
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        response = webhook.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])

    return send


def test_a_resend_moves_through_in_progress_to_completed_with_its_tracking_number(worker, submitted, report, items):
    view, ids = submitted(801, 802)
    report(view["resendId"], 2, ids, 10)
    assert worker.service.get(view["resendRequestId"]).body["status"] == "IN_PROGRESS"
    report(view["resendId"], 3, ids, 20, tracking="9400100000000000000001")
    done = worker.service.get(view["resendRequestId"]).body
    assert (done["status"], done["trackingNumber"], done["resendStatusCode"]) == (
        "COMPLETED",
        "9400100000000000000001",
        3,
    )
    for inventory_id in ids:
        record = items.store.get(inventory_id, consistent=True)
        assert (record.values["handlingCode"], record.values["handlingStatusCode"]) == ("rsd", "completed")
        assert record.values["inStock"] is False


def test_late_and_duplicated_events_never_move_a_status_backwards(worker, submitted, report):
    view, ids = submitted(811)
    report(view["resendId"], 3, ids, 30, tracking="T-1")
    report(view["resendId"], 2, ids, 20)  # late in-progress
    report(view["resendId"], 0, ids, 10)  # late pending
    report(view["resendId"], 3, ids, 30, tracking="T-1")  # duplicate
    assert worker.service.get(view["resendRequestId"]).body["status"] == "COMPLETED"


def test_a_failed_resend_records_the_error_and_releases_the_items(worker, submitted, report, items):
    view, ids = submitted(821)
    report(view["resendId"], 4, ids, 10, error=json.dumps({"message": "Invalid address."}))
    failed = worker.service.get(view["resendRequestId"]).body
    assert failed["status"] == "FAILED" and "Invalid address." in json.dumps(failed["lastError"])
    record = items.store.get(821, consistent=True)
    assert record.active_resend_request_id is None
    assert record.values["handlingCode"] == "ohd"  # the snapshot's handling stands after a failure


def test_a_failed_resend_gives_the_items_their_handling_back_dated_at_the_webhook(
    worker, submitted, report, items, emulator
):
    view, ids = submitted(851, handlingCode="tbc")
    assert items.store.get(851, consistent=True).values["handlingCode"] == "rsd"
    # The status webhook itself still lists the item as rsd: the release is the later fact of that instant.
    report(view["resendId"], 4, ids, 10, error="bad address", handling=(3, 1))
    record = items.store.get(851, consistent=True)
    assert (record.values["handlingCode"], record.values["handlingStatusCode"]) == ("tbc", "pending")
    assert record.active_resend_request_id is None
    assert worker.service.get(view["resendRequestId"]).body["status"] == "FAILED"
    # Eligible again: the same items can be resent at once (upstream, too, has released them).
    advanced = requests.post(
        f"{emulator.url}/_emulator/resends/{view['resendId']}/advance", json={"to": "failed"}, timeout=5
    )
    assert advanced.status_code == 200, advanced.text
    again = worker.service.intake("life-851-again", resend_body(ids))
    assert (again.outcome, again.body["status"]) == (Outcome.SUBMITTED, "SUBMITTED"), again.body


def test_a_newer_webhook_still_wins_over_the_released_handling(worker, submitted, report, items):
    view, ids = submitted(861, handlingCode="tbc")
    report(view["resendId"], 1, ids, 10, handling=(3, 0))  # upstream cancel at +10 s
    assert items.store.get(861, consistent=True).values["handlingCode"] == "tbc"
    report(999998, 1, ids, 20, handling=(2, 2))  # a newer fact about the item (snapshot stands): dis / completed
    assert items.store.get(861, consistent=True).values["handlingCode"] == "dis"
    report(999997, 1, ids, 5, handling=(3, 1))  # an older one does not undo the release
    assert items.store.get(861, consistent=True).values["handlingCode"] == "dis"


def test_an_upstream_cancel_releases_the_items(worker, submitted, report, items):
    view, ids = submitted(831)
    report(view["resendId"], 1, ids, 10)
    assert worker.service.get(view["resendRequestId"]).body["status"] == "CANCELED"
    assert items.store.get(831, consistent=True).active_resend_request_id is None


def test_a_status_event_for_a_resend_we_do_not_know_is_kept_and_acknowledged(report, tables):
    assert report(999999, 3, [], 10)["status"] == "applied"


def test_the_deprecated_tracking_number_event_sets_the_tracking_number(
    worker, submitted, webhook, lambda_context, signing_key
):
    view, _ = submitted(841)
    payload = {
        "category": "resend",
        "action": "updateResendTrackingNumber",
        "eventTime": signature.format_timestamp(after_creation()),
        "resend": {"resendId": view["resendId"]},
        "trackingNumber": "LEGACY-TRACK-1",
        "failureReason": "",
    }
    raw = json.dumps(payload).encode()
    event = copy.deepcopy(load_event("apigw_webhook_post"))
    event["headers"] = signature.signed_headers(signing_key, URL, raw)
    event["body"], event["isBase64Encoded"] = raw.decode(), False
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 200
    read = worker.service.get(view["resendRequestId"]).body
    assert (read["status"], read["trackingNumber"]) == ("SUBMITTED", "LEGACY-TRACK-1")
