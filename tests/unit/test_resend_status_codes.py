"""What each upstream resendStatusCode means (returnhelper-api.md: 0 pending, 1 canceled, 2 inProgress,
3 completed, 4 failed), seen from every path that reads or writes one: a status webhook's items, the
request's status (webhook and GetResend poll alike), and the codes a request records for itself."""

from __future__ import annotations

import pytest

from rh_common.domain import resend_lifecycle, webhook_events
from rh_common.domain.resend_lifecycle import RELEASES_ITEMS, RESTORES_HANDLING, Status
from tests.unit.test_resend_service import World

NOW = "2099-01-01T00:00:00.0000000Z"
SNAPSHOT = {"handlingCode": "ohd", "handlingStatusCode": "pending"}  # what the report's lagging rows say


def status_report(code) -> dict:
    return {
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": "2024-05-02T02:59:27.8657445Z",
        "resend": {"resendId": "3588", "resendStatusCode": code},
        "returnInventoryList": [
            {"returnInventoryId": "18148", "warehouseId": "2", "handlingCode": 4, "handlingStatusCode": 0}
        ],
    }


@pytest.mark.parametrize(
    ("code", "status", "items", "ends_unshipped"),
    [
        (0, Status.SUBMITTED, {"handlingCode": "rsd", "handlingStatusCode": "pending"}, False),
        (1, Status.CANCELED, SNAPSHOT, True),
        (2, Status.IN_PROGRESS, {"handlingCode": "rsd", "handlingStatusCode": "inProgress"}, False),
        (3, Status.COMPLETED, {"handlingCode": "rsd", "handlingStatusCode": "completed", "inStock": False}, False),
        (4, Status.FAILED, SNAPSHOT, True),
    ],
)
@pytest.mark.parametrize("sent_as", [int, str], ids=["number", "digit-string"])
def test_each_code_moves_the_request_and_its_items_as_documented(code, status, items, ends_unshipped, sent_as):
    # GIVEN a status webhook at this code, whose item rows still say ohd/pending
    event = webhook_events.normalise(status_report(sent_as(code)))
    # WHEN its items and its resend update are read, and the update applied to a PENDING request
    (facts,) = event.inventories
    changes, target = resend_lifecycle.upstream_changes(
        {"status": "PENDING"}, event.resend.status_code, None, None, NOW
    )
    # THEN the items have the code's handling (or the snapshot's, when the resend ended unshipped) ...
    assert dict(facts.values) == {"warehouseId": 2, **items}
    # ... the request has the code's status and records the code ...
    assert (target, changes["status"], changes["resendStatusCode"]) == (status, status.value, code)
    # ... and the tracker gives the items their handling back and releases them exactly when it ended unshipped
    assert (target in RESTORES_HANDLING, target in RELEASES_ITEMS) == (ends_unshipped, ends_unshipped)


def test_an_unknown_code_moves_nothing_and_sets_no_handling():
    event = webhook_events.normalise(status_report(7))
    changes, target = resend_lifecycle.upstream_changes({"status": "PENDING"}, 7, None, None, NOW)
    assert (changes, target) == ({}, None)
    assert dict(event.inventories[0].values) == {"warehouseId": 2, **SNAPSHOT}


def test_a_request_that_submits_or_cancels_itself_records_what_the_same_report_would():
    # GIVEN a request Return Helper accepted (this system moved it to SUBMITTED itself)
    world = World()
    world.items(40, **SNAPSHOT)
    created = world.create([40], "codes-1").body
    record = world.records.get(created["resendRequestId"])
    # THEN it records code 0 and its item has the handling a code-0 report gives it
    (facts,) = webhook_events.normalise(status_report(0)).inventories
    item = world.inventories.get(40)
    assert (record["status"], record["resendStatusCode"]) == ("SUBMITTED", 0)
    assert {name: item.values[name] for name in ("handlingCode", "handlingStatusCode")} == {
        name: facts.values[name] for name in ("handlingCode", "handlingStatusCode")
    }
    # WHEN it is cancelled here / THEN it records code 1, as a code-1 report would
    world.service.cancel(created["resendRequestId"])
    canceled = world.records.get(created["resendRequestId"])
    _, target = resend_lifecycle.upstream_changes(record, 1, None, None, NOW)
    assert (canceled["status"], canceled["resendStatusCode"]) == (target.value, 1)


@pytest.mark.parametrize(
    ("sent", "read"),
    [(3, 3), ("3", 3), (" 4 ", 4), (7, 7), ("x", None), ("", None), (True, None), (None, None), ("1234", None)],
)
def test_a_code_is_read_alike_from_a_webhook_and_a_poll(sent, read):
    assert resend_lifecycle.read_status_code(sent) == read
    if read is None:  # a webhook's status report without a readable code is kept unprocessable
        with pytest.raises(webhook_events.UnprocessableEvent):
            webhook_events.normalise(status_report(sent))
    else:
        assert webhook_events.normalise(status_report(sent)).resend.status_code == read
