"""Resend status webhooks move requests forward only; FAILED and CANCELED release the items."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from rh_common.domain import timestamps
from rh_common.domain.results import Outcome
from tests.support.resend import resend_body


@pytest.fixture
def submitted(worker, items):
    """A SUBMITTED request for fresh items: (request view, item ids)."""

    def make(*ids, **values):
        items(*ids, **values)
        answer = worker.service.intake(f"life-{ids[0]}", resend_body(list(ids)))
        assert answer.outcome == Outcome.SUBMITTED, answer.body
        return answer.body, list(ids)

    return make


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


def test_the_deprecated_tracking_number_event_sets_the_tracking_number(worker, submitted, deliver):
    view, _ = submitted(841)
    payload = {
        "category": "resend",
        "action": "updateResendTrackingNumber",
        # after the request was created (our own "rsd" mark is dated then), as upstream's are
        "eventTime": timestamps.upstream_iso(datetime.now(UTC) + timedelta(minutes=1)),
        "resend": {"resendId": view["resendId"]},
        "trackingNumber": "LEGACY-TRACK-1",
        "failureReason": "",
    }
    assert deliver(json.dumps(payload).encode(), base64_body=False)[0] == 200
    read = worker.service.get(view["resendRequestId"]).body
    assert (read["status"], read["trackingNumber"]) == ("SUBMITTED", "LEGACY-TRACK-1")
