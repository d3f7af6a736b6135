"""The stock and aging rows of an item (domain/stock.py): which rows an image has, what they carry, and ages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from local.template import LocalTemplate
from rh_common.domain import references, stock
from rh_common.services.inventory_references import ReferenceKeeper
from tests.support.fakes import FakeInventories, FakeReferences

CODES = ("ohd", "tbc")
IDLE = {"warehouseId": 2, "handlingCode": "tbc", "handlingStatusCode": "pending", "inStock": True, "sku": "K-1"}
LOGGED = {"arrivalCreateOn": "2025-03-01T08:00:00+08:00"}


def attributes(**values):
    return {**IDLE, **LOGGED, "activeResendRequestId": None, **values}


def test_an_eligible_logged_item_has_a_stock_row_and_an_aging_row_with_its_values():
    rows = stock.index_rows(attributes(), CODES)
    sortable = "2025-03-01T00:00:00.0000000Z"  # +08:00 in UTC, string order = time order
    assert rows == {
        "stock#K-1": {"warehouseId": 2, "handlingCode": "tbc", "loggedAt": LOGGED["arrivalCreateOn"]},
        "aging#2": {
            "warehouseId": 2,
            "handlingCode": "tbc",
            "sku": "K-1",
            "loggedAt": LOGGED["arrivalCreateOn"],
            "loggedAtSortable": sortable,
        },
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"activeResendRequestId": "req-1"}, set()),  # reserved: on its way out, neither stock nor idle
        ({"fraudFlag": {"isFraudulent": True}}, {"aging#2"}),
        ({"otherWorkflow": "recall"}, {"aging#2"}),
        ({"pendingVas": True}, {"aging#2"}),
        ({"handlingCode": "rtn"}, set()),
        ({"handlingStatusCode": "inProgress"}, set()),
        ({"inStock": False}, set()),
        ({"warehouseId": None}, set()),
        ({"sku": None}, {"aging#2"}),  # no SKU: nothing to find it by
        ({"arrivalCreateOn": None}, {"stock#K-1"}),  # no loggedAt: no age
        ({"arrivalCreateOn": "yesterday"}, {"stock#K-1"}),  # not a date-time: no age either
        ({"handlingCode": "ohd"}, {"stock#K-1", "aging#2"}),
    ],
)
def test_the_rows_follow_eligibility_and_idleness(values, expected):
    assert set(stock.index_rows(attributes(**values), CODES)) == expected


@pytest.mark.parametrize(
    "values",
    [{}, {"handlingCode": "ohd"}, {"fraudFlag": {"isFraudulent": True}}, {"activeResendRequestId": "req-1"}],
)
def test_only_aging_rows_carry_the_sortable_logged_at_so_only_they_are_in_the_index(values):
    rows = stock.index_rows(attributes(**values), CODES)
    assert {ref for ref, row in rows.items() if stock.LOGGED_AT_SORTABLE in row} == {
        ref for ref in rows if ref.startswith(f"{stock.AGING}#")
    }


def test_the_template_indexes_the_aging_rows_by_ref_and_sortable_logged_at_with_what_the_check_reads():
    table = LocalTemplate.load().resources("AWS::DynamoDB::Table")["InventoryReferenceTable"]["Properties"]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByLoggedAt"
    assert index["KeySchema"] == [
        {"AttributeName": "ref", "KeyType": "HASH"},
        {"AttributeName": stock.LOGGED_AT_SORTABLE, "KeyType": "RANGE"},
    ]
    assert {"AttributeName": stock.LOGGED_AT_SORTABLE, "AttributeType": "S"} in table["AttributeDefinitions"]
    # an aging row's every value but the keys: what an AgingRow and its InventoryAging event are made of
    row = stock.index_rows(attributes(), CODES)["aging#2"]
    projected = set(index["Projection"]["NonKeyAttributes"])
    assert (index["Projection"]["ProjectionType"], projected) == ("INCLUDE", set(row) - {stock.LOGGED_AT_SORTABLE})


def test_the_eligible_handling_codes_setting_decides_the_stock_rows():
    assert set(stock.index_rows(attributes(handlingCode="ohd"), ("tbc",))) == {"aging#2"}


def test_row_changes_write_the_new_rows_and_delete_those_gone():
    write, delete = stock.row_changes(attributes(), attributes(activeResendRequestId="req-1"), CODES)
    assert (write, delete) == ({}, frozenset({"stock#K-1", "aging#2"}))
    write, delete = stock.row_changes(attributes(), attributes(pendingVas=True), CODES)
    assert (set(write), delete) == ({"aging#2"}, frozenset({"stock#K-1"}))
    write, delete = stock.row_changes(attributes(), None, CODES)  # the item is gone
    assert (write, delete) == ({}, frozenset({"stock#K-1", "aging#2"}))
    write, delete = stock.row_changes(None, attributes(sku="K-2"), CODES)
    assert (set(write), delete) == ({"stock#K-2", "aging#2"}, frozenset())


def test_units_count_per_warehouse_and_keep_the_oldest_logged_at_by_time_not_by_text():
    rows = [
        stock.StockRow(1, 5, "tbc", "2025-03-01T09:00:00+08:00"),  # 01:00Z: the oldest
        stock.StockRow(2, 5, "ohd", "2025-03-01T02:00:00Z"),
        stock.StockRow(3, 2, "ohd", None),
    ]
    assert stock.units_by_warehouse(rows) == [
        {"warehouseId": 2, "eligible": 1, "onHold": 1, "toBeConfirmed": 0, "oldestLoggedAt": None},
        {
            "warehouseId": 5,
            "eligible": 2,
            "onHold": 1,
            "toBeConfirmed": 1,
            "oldestLoggedAt": "2025-03-01T09:00:00+08:00",
        },
    ]
    assert [u["warehouseId"] for u in stock.units_by_warehouse(rows, [5, 9])] == [5]


NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("logged_at", "days"),
    [
        ("2025-03-02T12:00:00Z", 30),  # exactly 30 days
        ("2025-03-02T12:00:01Z", 29),  # one second short of 30
        ("2025-03-02T20:00:00+08:00", 30),  # 12:00Z: the offset counts
        ("2025-04-02T00:00:00Z", 0),  # a clock ahead of ours: age 0, never negative
    ],
)
def test_age_in_whole_days_with_a_fixed_clock(logged_at, days):
    assert stock.age_days(logged_at, NOW) == days


def test_the_cutoff_is_older_than_n_days_in_the_rows_sortable_form():
    cutoff = stock.age_cutoff(NOW, 30)
    assert cutoff == "2025-03-02T12:00:00.0000000Z"
    assert "2025-03-02T11:59:59.9999999Z" < cutoff <= "2025-03-02T12:00:00.0000000Z"


def test_the_aging_event_carries_the_contract_fields_and_a_stable_event_id():
    row = stock.AgingRow(20251, 2, "K-1", "tbc", "2025-02-01T00:00:00Z")
    event = stock.aging_event(row, NOW)
    assert {k: v for k, v in event.items() if k != "eventId"} == {
        "returnInventoryId": 20251,
        "warehouseId": 2,
        "sku": "K-1",
        "handlingCode": "tbc",
        "loggedAt": "2025-02-01T00:00:00Z",
        "ageDays": 59,
    }
    assert event["eventId"] == stock.aging_event(row, datetime(2025, 5, 1, tzinfo=UTC))["eventId"]
    assert (
        event["eventId"]
        != stock.aging_event(stock.AgingRow(20252, 2, "K-1", "tbc", "2025-02-01T00:00:00Z"), NOW)["eventId"]
    )


# ------------------------------------------------------------------ the stream consumer keeps them


def test_the_keeper_writes_the_rows_with_their_values_moves_them_and_notes_the_warehouse():
    rows = FakeReferences()
    keeper = ReferenceKeeper(rows, FakeInventories(), CODES)
    keeper.apply(references.ItemChanged(7, None, attributes()))
    assert rows.rows == {"sku#K-1": {7}, "stock#K-1": {7}, "aging#2": {7}}
    assert rows.row_values["stock#K-1", 7]["handlingCode"] == "tbc"
    assert rows.row_values["sku#K-1", 7] == {}  # a look-up row carries nothing
    assert rows.aging_warehouse_ids == {2}
    # reserved: out of the stock and no longer idle; the look-up row stays
    keeper.apply(references.ItemChanged(7, attributes(), attributes(activeResendRequestId="req-1")))
    assert {ref: ids for ref, ids in rows.rows.items() if ids} == {"sku#K-1": {7}}
    # released, and now on hold: back, with the new handling code
    keeper.apply(references.ItemChanged(7, attributes(activeResendRequestId="req-1"), attributes(handlingCode="ohd")))
    assert rows.row_values["stock#K-1", 7]["handlingCode"] == rows.row_values["aging#2", 7]["handlingCode"] == "ohd"
