"""The planner (rh_common.domain.resend_plan): groups of one warehouse, at most the cap, fewest, deterministic."""

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.resend_plan import plan

CODES = frozenset({"ohd", "tbc"})
ELIGIBLE = {"handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}


def record(inventory_id, warehouse_id, **values):
    return InventoryRecord(inventory_id, {"warehouseId": warehouse_id, **ELIGIBLE, **values})


# An item: (warehouse, what is wrong with it or None)
PROBLEMS = [None, None, None, "not in stock", "pending vas", "rsd", "reserved", "unknown"]


def build(spec):
    records = {}
    for inventory_id, (warehouse_id, problem) in spec.items():
        if problem == "unknown":
            continue
        values = {
            "not in stock": {"inStock": False},
            "pending vas": {"pendingVas": True},
            "rsd": {"handlingCode": "rsd"},
        }.get(problem, {})
        r = record(inventory_id, warehouse_id, **values)
        if problem == "reserved":
            r = InventoryRecord(r.inventory_id, r.values, active_resend_request_id="other-request")
        records[inventory_id] = r
    return records


items = st.dictionaries(
    st.integers(min_value=1, max_value=10_000),
    st.tuples(st.sampled_from([2, 5, 7]), st.sampled_from(PROBLEMS)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(spec=items, cap=st.integers(min_value=1, max_value=7), seed=st.integers())
def test_every_eligible_item_is_in_exactly_one_group_of_one_warehouse_within_the_cap(spec, cap, seed):
    records = build(spec)
    ids = list(spec)
    result = plan(ids, records, cap, CODES)

    eligible = {i for i, (_, problem) in spec.items() if problem is None}
    grouped = [i for group in result.groups for i in group.inventory_ids]
    assert sorted(grouped) == sorted(eligible)  # each exactly once
    assert {e.inventory_id for e in result.excluded} == set(spec) - eligible
    assert all(e.reason for e in result.excluded)
    for group in result.groups:
        assert 1 <= len(group.inventory_ids) <= cap
        assert {records[i].values["warehouseId"] for i in group.inventory_ids} == {group.warehouse_id}
    for warehouse_id in {w for w, _ in spec.values()}:
        n = sum(1 for i in eligible if spec[i][0] == warehouse_id)
        assert sum(1 for g in result.groups if g.warehouse_id == warehouse_id) == math.ceil(n / cap)

    shuffled = ids[:]
    random.Random(seed).shuffle(shuffled)
    assert plan(shuffled, dict(reversed(list(records.items()))), cap, CODES) == result


def test_reasons_say_why_an_item_is_left_out():
    records = {
        1: record(1, 2, inStock=False),
        2: record(2, 2),
        3: InventoryRecord(3, {**ELIGIBLE, "warehouseId": 2}, active_resend_request_id="r-1"),
    }
    result = plan([9, 3, 2, 1], records, 5, CODES).to_json()
    assert result["groups"] == [{"warehouseId": 2, "returnInventoryIdList": [2]}]
    assert result["excluded"] == [
        {"returnInventoryId": 1, "reason": "is not in stock"},
        {"returnInventoryId": 3, "reason": "is reserved by resend request r-1"},
        {"returnInventoryId": 9, "reason": "not known"},
    ]


def test_five_items_over_two_warehouses_with_a_cap_of_three_are_three_groups():
    records = {i: record(i, 2 if i <= 3 or i == 5 else 5) for i in range(1, 6)}
    result = plan([5, 4, 3, 2, 1], records, 3, CODES).to_json()
    assert result["groups"] == [
        {"warehouseId": 2, "returnInventoryIdList": [1, 2, 3]},
        {"warehouseId": 2, "returnInventoryIdList": [5]},
        {"warehouseId": 5, "returnInventoryIdList": [4]},
    ]
