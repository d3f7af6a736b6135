"""The DynamoDB adapter keeps the reducer's guarantees with conditional writes (moto)."""

import itertools

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.domain import inventory
from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.webhook_events import InventoryFacts
from tests.unit.test_inventory_reducer import EVENT_TIMES, events_strategy, ordered_oracle

ELIGIBLE = frozenset({"ohd", "tbc"})
_fresh_ids = itertools.count(1000, 10)


@pytest.fixture
def store(tables):
    return InventoryStore(tables["InventoryTable"])


def put(store, inventory_id, facts, event_time=EVENT_TIMES[0], delivery="d"):
    return store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(event_time, delivery), event_time)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), events=events_strategy)
def test_stored_state_converges_for_any_arrival_order(store, data, events):
    # GIVEN a fresh block of inventory ids for this example
    base = next(_fresh_ids)
    events = [(d, base + i, facts, t) for d, i, facts, t in events]
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=4))
    # WHEN the deliveries arrive shuffled, some twice
    for delivery_id, inventory_id, facts, event_time in data.draw(st.permutations(events + duplicates)):
        put(store, inventory_id, facts, event_time, delivery_id)
    # THEN what DynamoDB holds is the in-order result
    expected_values, expected_last = ordered_oracle(events)
    for inventory_id, values in expected_values.items():
        record = store.get(inventory_id, consistent=True)
        assert dict(record.values) == values
        assert record.last_event_time == expected_last[inventory_id]


def test_in_order_events_take_the_one_write_fast_path_and_late_ones_merge(store):
    assert put(store, 1, {"sku": "A", "inStock": True}, EVENT_TIMES[0], "a") == "applied"
    assert put(store, 1, {"inStock": False}, EVENT_TIMES[4], "c") == "applied"
    assert put(store, 1, {"inStock": True, "sku": "B"}, EVENT_TIMES[2], "b") == "merged"
    assert put(store, 1, {"inStock": True}, EVENT_TIMES[2], "b") == "superseded"
    record = store.get(1, consistent=True)
    assert record.values == {"sku": "B", "inStock": False}
    assert record.last_event_time == EVENT_TIMES[4]


def test_late_merge_does_not_touch_the_reservation(store, tables):
    put(store, 1, {"handlingCode": "ohd"}, EVENT_TIMES[3], "new")
    boto3.client("dynamodb").update_item(
        TableName=tables["InventoryTable"],
        Key={"returnInventoryId": {"N": "1"}},
        UpdateExpression="SET activeResendRequestId = :r",
        ExpressionAttributeValues={":r": {"S": "rr-1"}},
    )
    put(store, 1, {"sku": "late"}, EVENT_TIMES[0], "old")
    record = store.get(1, consistent=True)
    assert record.active_resend_request_id == "rr-1"
    assert record.values == {"handlingCode": "ohd", "sku": "late"}


def test_get_many_reads_every_known_item_in_one_batch(store):
    for i in (1, 2, 3):
        put(store, i, {"warehouseId": 2})
    assert sorted(store.get_many([1, 2, 3, 4, 2])) == [1, 2, 3]


ELIGIBLE_ITEM = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}
VARIANTS = [
    {},
    {"handlingCode": "tbc"},
    {"handlingCode": "rsd"},
    {"handlingStatusCode": "completed"},
    {"inStock": False},
    {"pendingVas": True},
    {"pendingVas": False},
    {"otherWorkflow": "recall"},
    {"otherWorkflow": "consolidation"},
    {"otherWorkflow": None},  # a workflow that ended
    {"fraudFlag": {"isFraudulent": True, "reasonCode": "serialMismatch"}},
    {"fraudFlag": {"isFraudulent": False, "reasonCode": None}},
    {"fraudFlag": None},
]


def test_the_eligibility_filter_in_dynamodb_agrees_with_the_domain_rule(store, tables):
    # GIVEN one item per variant, one of them reserved
    for offset, variant in enumerate(VARIANTS):
        put(store, 100 + offset, {**ELIGIBLE_ITEM, **variant})
    boto3.client("dynamodb").update_item(
        TableName=tables["InventoryTable"],
        Key={"returnInventoryId": {"N": "100"}},
        UpdateExpression="SET activeResendRequestId = :r",
        ExpressionAttributeValues={":r": {"S": "rr-1"}},
    )
    # WHEN listing eligible items
    listed, token = store.list_by_warehouse(2, 50, eligible_handling_codes=ELIGIBLE)
    # THEN exactly the ones the domain rule accepts come back
    everything = store.get_many(range(100, 100 + len(VARIANTS)))
    expected = sorted(i for i, record in everything.items() if inventory.is_eligible(record, ELIGIBLE))
    assert sorted(r.inventory_id for r in listed) == expected == [101, 106, 109, 111, 112]
    assert token is None


_fresh_warehouses = itertools.count(1000)
# An eligible item with up to two of its attributes unset, null, or set to a value that meets or fails its
# condition: every value each condition reads, alone and in pairs.
UNSET = object()
ELIGIBLE_STORED = {**ELIGIBLE_ITEM, "pendingVas": False}
VARIATIONS = [
    (name, value)
    for name, values in {
        "handlingCode": [UNSET, None, "tbc", "rsd"],
        "handlingStatusCode": [UNSET, None, "completed"],
        "inStock": [UNSET, None, False],
        "pendingVas": [UNSET, None, True],
        "otherWorkflow": [None, "recall", "consolidation", ""],
        "fraudFlag": [None, {}, {"isFraudulent": True, "reasonCode": "x"}, {"isFraudulent": False, "reasonCode": None}],
        "activeResendRequestId": [None, "rr-1"],
    }.items()
    for value in values
]
stored_values = st.lists(st.sampled_from(VARIATIONS), max_size=2).map(lambda pairs: {**ELIGIBLE_STORED, **dict(pairs)})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(stored_values, min_size=1, max_size=8))
def test_any_stored_item_is_listed_as_eligible_exactly_when_the_domain_rule_says_so(store, tables, items):
    # GIVEN items of a fresh warehouse holding any mix of unset, null and set attributes
    warehouse = next(_fresh_warehouses)
    client = boto3.client("dynamodb")
    for offset, values in enumerate(items):
        item = {name: value for name, value in values.items() if value is not UNSET}
        item.update(returnInventoryId=warehouse * 100 + offset, warehouseId=warehouse)
        client.put_item(TableName=tables["InventoryTable"], Item=base.to_item(item))
    # WHEN DynamoDB filters the warehouse's items by the derived expression
    listed, _ = store.list_by_warehouse(warehouse, 50, eligible_handling_codes=ELIGIBLE)
    # THEN it keeps exactly those the Python predicate accepts
    everything = store.get_many(warehouse * 100 + offset for offset in range(len(items)))
    expected = sorted(i for i, record in everything.items() if inventory.is_eligible(record, ELIGIBLE))
    assert sorted(r.inventory_id for r in listed) == expected


def test_listing_pages_with_a_token_and_never_mixes_warehouses(store):
    for i in range(1, 8):
        put(store, i, {"warehouseId": 2})
    put(store, 50, {"warehouseId": 3})
    first, token = store.list_by_warehouse(2, 3)
    second, token2 = store.list_by_warehouse(2, 3, token)
    third, token3 = store.list_by_warehouse(2, 3, token2)
    ids = [r.inventory_id for r in first + second + third]
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert token3 is None
    with pytest.raises(ValueError, match="another warehouseId"):
        store.list_by_warehouse(3, 3, token)
    with pytest.raises(ValueError):
        store.list_by_warehouse(2, 3, "not-a-token")


def test_a_record_round_trips_through_dynamodb(store):
    put(store, 9, {"warehouseId": 2, "rma": "R", "inStock": True, "pendingVas": False}, EVENT_TIMES[1])
    assert store.get(9) == InventoryRecord(
        9,
        {"warehouseId": 2, "rma": "R", "inStock": True, "pendingVas": False},
        {
            name: inventory.event_version(EVENT_TIMES[1], "d")
            for name in ("warehouseId", "rma", "inStock", "pendingVas")
        },
        inventory.event_version(EVENT_TIMES[1], "d"),
        EVENT_TIMES[1],
    )
    assert store.get(10) is None
