"""The resend view's `shipments`: every entry of the newest report's resendShipmentList, numbers exactly
as sent, whatever order the reports arrive (or are replayed) in; and `quotedFee` from a recent quote."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from itertools import permutations

import pytest

from rh_common.domain import quote, resend_lifecycle, webhook_events
from rh_common.domain.json_input import load
from rh_common.domain.results import Outcome
from rh_common.services.resend_tracking import ResendTracker
from tests.events.loader import load_event, load_event_bytes
from tests.support.fakes import FakeInventories, FakeQuotes, FakeResendRecords, success
from tests.support.resend import SHIPMENT
from tests.unit.test_resend_service import World

FAILED_SAMPLE = "resend_updateResendStatus_failed"


def test_the_failed_sample_s_shipment_is_read_with_its_numbers_exactly_and_without_its_address():
    event = webhook_events.normalise(load(load_event_bytes(FAILED_SAMPLE)))
    assert event.resend is not None and event.resend.shipments is not None
    (shipment,) = event.resend.shipments
    assert shipment.view() == {
        "resendShipmentId": 3595,
        "warehouseId": 2,
        "trackingNumber": None,
        "cost": Decimal("11.03"),
        "currencyCode": "USD",
        "chargeableWeight": Decimal("920.0"),
        "error": '{"message":"Invalid address."}',
    }
    assert all(not isinstance(value, float) for value in shipment.view().values())


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"resendShipmentId": "3595", "warehouseId": "2"}, {"resendShipmentId": 3595, "warehouseId": 2}),
        ({"cost": "7.10", "chargeableWeight": 500}, {"cost": Decimal("7.10"), "chargeableWeight": 500}),
        ({"cost": 0.1, "chargeableWeight": 1e-3}, {"cost": Decimal("0.1"), "chargeableWeight": Decimal("0.001")}),
        ({"cost": "n/a", "chargeableWeight": True}, {"cost": None, "chargeableWeight": None}),
        ({"cost": Decimal("1E+200"), "chargeableWeight": 10**40}, {"cost": None, "chargeableWeight": None}),
        ({"cost": Decimal("NaN")}, {"cost": None}),
        ({"resendShipmentId": "x", "warehouseId": -1}, {"resendShipmentId": None, "warehouseId": None}),
        ({"costCurrencyCode": "", "trackingNumber": "", "error": ""}, {"currencyCode": None, "trackingNumber": None}),
        ({"currencyCode": "eur", "error": {"message": "Invalid address."}}, {"currencyCode": "EUR"}),
    ],
)
def test_a_shipment_entry_keeps_what_it_can_and_never_costs_the_report(row, expected):
    (shipment,) = webhook_events.resend_shipments([row]) or ()
    view = shipment.view()
    assert {name: view[name] for name in expected} == expected
    if isinstance(row.get("error"), dict):
        assert json.loads(view["error"]) == row["error"]


def test_a_report_without_a_list_says_nothing_about_shipments():
    assert webhook_events.resend_shipments(None) is None
    assert webhook_events.resend_shipments("not a list") is None
    assert webhook_events.resend_shipments([]) == ()


# ------------------------------------------------------------------ newest report wins, in any order


def report(second: int, code: int, tracking: str | None, cost: str, error: str = "") -> dict:
    payload = copy.deepcopy(load_event(FAILED_SAMPLE))
    payload["eventTime"] = f"2025-03-05T03:00:{second:02d}.0000000Z"
    payload["resend"]["resendStatusCode"] = code
    shipment = payload["resendShipmentList"][0]
    shipment.update(trackingNumber=tracking, error=error, cost=Decimal(cost))
    return payload


REPORTS = [
    report(10, 0, None, "11.03"),
    report(20, 2, None, "11.50"),
    report(30, 3, "9400100000000000000001", "12.07"),
]


def tracked_request() -> tuple[FakeResendRecords, ResendTracker]:
    inventories = FakeInventories()
    for inventory_id in (20251, 20278):
        inventories.seed(inventory_id, handlingCode="rsd", handlingStatusCode="pending", inStock=True, warehouseId=2)
    records = FakeResendRecords(inventories, FakeQuotes())
    records.records["r-1"] = {
        "resendRequestId": "r-1",
        "status": "SUBMITTED",
        "resendId": 3600,
        "returnInventoryIdList": [20251, 20278],
        "updatedAt": "2025-03-05T02:41:07Z",
    }
    return records, ResendTracker(records, [].append, inventories)


def apply(tracker: ResendTracker, records: FakeResendRecords, payload: dict, delivery_id: str) -> None:
    event = webhook_events.normalise(payload)
    assert event.resend is not None
    tracker.apply_to(records.get("r-1") or {}, event.resend, event.event_time, delivery_id)


@pytest.mark.parametrize("order", list(permutations(range(len(REPORTS)))))
def test_the_shipments_are_the_newest_report_s_in_any_arrival_order(order):
    records, tracker = tracked_request()
    for index in order:
        apply(tracker, records, REPORTS[index], f"d-{index}")
    for index in order:  # a replay of every report changes nothing
        apply(tracker, records, REPORTS[index], f"d-{index}")
    view = resend_lifecycle.view(records.get("r-1") or {})
    assert view["status"] == "COMPLETED"
    assert [(s["trackingNumber"], s["cost"], s["resendShipmentId"]) for s in view["shipments"]] == [
        ("9400100000000000000001", Decimal("12.07"), 3595)
    ]
    assert view["trackingNumber"] == "9400100000000000000001"


def test_a_failed_report_shows_its_shipment_s_error_and_a_later_one_without_a_list_keeps_it():
    records, tracker = tracked_request()
    apply(tracker, records, report(10, 4, None, "11.03", '{"message":"Invalid address."}'), "d-failed")
    tracking_only = {
        "category": "resend",
        "action": "updateResendTrackingNumber",
        "eventTime": "2025-03-05T03:01:00.0000000Z",
        "resend": {"resendId": 3600},
        "trackingNumber": "9400100000000000000002",
    }
    apply(tracker, records, tracking_only, "d-tracking")
    view = resend_lifecycle.view(records.get("r-1") or {})
    assert view["status"] == "FAILED"
    assert view["lastError"] == {
        "errorCode": None,
        "detail": "Return Helper reported the resend failed: Invalid address.",
        "reason": "addressInvalid",
    }
    assert [s["error"] for s in view["shipments"]] == ['{"message":"Invalid address."}']


def test_two_reports_of_one_instant_settle_the_same_way_in_either_order():
    first, second = report(10, 2, None, "11.03"), report(10, 2, None, "11.99")
    outcomes = []
    for order in ((first, "d-a"), (second, "d-b")), ((second, "d-b"), (first, "d-a")):
        records, tracker = tracked_request()
        for payload, delivery_id in order:
            apply(tracker, records, payload, delivery_id)
        outcomes.append(resend_lifecycle.view(records.get("r-1") or {})["shipments"])
    assert outcomes[0] == outcomes[1] and outcomes[0][0]["cost"] == Decimal("11.99")  # d-b sorts after d-a


def test_an_older_report_arriving_after_a_newer_one_with_the_same_list_does_not_replace_it():
    records, tracker = tracked_request()
    newest = report(30, 2, None, "11.03")
    apply(tracker, records, report(20, 2, None, "11.03"), "d-20")
    apply(tracker, records, newest, "d-30")  # the same list: only remembered as the newest
    apply(tracker, records, report(25, 2, None, "99.99"), "d-25")
    assert [s["cost"] for s in resend_lifecycle.view(records.get("r-1") or {})["shipments"]] == [Decimal("11.03")]


def test_before_any_report_the_shipments_are_empty():
    records, _ = tracked_request()
    assert resend_lifecycle.view(records.get("r-1") or {})["shipments"] == []


# ------------------------------------------------------------------ quotedFee


def test_the_fee_of_a_recent_quote_for_the_chosen_service_is_recorded_with_the_request():
    world = World()
    ids = world.items(9101, 9102)
    records = world.inventories.get_many(ids)
    key = quote.quote_key(ids, SHIPMENT["shipmentCountryCode"], SHIPMENT["shipmentPostalCode"])
    body = {
        "warehouseId": 2,
        "currencyCode": "USD",
        "items": [
            {"serviceTypeCode": "SHIPMENT_OTHER", "fee": 5.1},
            {"serviceTypeCode": SHIPMENT["shipmentServiceType"].lower(), "fee": 7.85},
        ],
        "cheapestServiceTypeCode": "SHIPMENT_OTHER",
    }
    world.quote_cache.put(key, quote.cache_entry(records, body))
    world.upstream.script("createResend", success("createResend", resendId=4001, resendNumber="RSD-1"))
    created = world.create(ids, key="quoted-1")
    assert created.outcome == Outcome.SUBMITTED and created.body["quotedFee"] == 7.85
    assert world.service.get(created.body["resendRequestId"]).body["quotedFee"] == 7.85
    assert world.upstream.calls_of("shippingFees") == []  # known from the quote, never asked for


def test_without_a_current_quote_for_these_items_and_destination_the_fee_is_unknown():
    world = World()
    ids = world.items(9111, 9112)
    quoted = {"items": [{"serviceTypeCode": SHIPMENT["shipmentServiceType"], "fee": 9.0}]}
    # another destination; other items; these items before a newer event on one of them
    current = world.inventories.get_many(ids)
    world.quote_cache.put(quote.quote_key(ids, "deu", "10115"), quote.cache_entry(current, quoted))
    world.quote_cache.put(
        quote.quote_key(ids[:1], SHIPMENT["shipmentCountryCode"], SHIPMENT["shipmentPostalCode"]),
        quote.cache_entry(world.inventories.get_many(ids[:1]), quoted),
    )
    world.quote_cache.put(
        quote.quote_key(ids, SHIPMENT["shipmentCountryCode"], SHIPMENT["shipmentPostalCode"]),
        quote.cache_entry(current, quoted),
    )
    world.items(9112, version="2025-06-01T00:00:00.0000000Z#recalibrated")
    created = world.create(ids, key="unquoted-1")
    assert created.outcome == Outcome.SUBMITTED and created.body["quotedFee"] is None
