"""The reference rows an item's state stands for (domain/references.py), and GET /inventories' one selector."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rh_common.domain import references

ITEM = {
    "warehouseId": 2,
    "rma": "USE-2-250303-D00011-44",
    "sku": "TEST-HOODIE-GRY-L",
    "sellerReferenceNumber": "order-1001",
    "returnRequestId": "70312",  # a string in Return Helper's samples
    "inboundTrackingNumber": "9400100000000000000001",
    "handlingCode": "tbc",
}


def test_an_item_has_one_reference_per_look_up_it_has_a_value_for():
    assert references.references_of(ITEM) == {
        "rma#USE-2-250303-D00011-44",
        "sku#TEST-HOODIE-GRY-L",
        "sellerReferenceNumber#order-1001",
        "returnRequestId#70312",
        "inboundTrackingNumber#9400100000000000000001",
    }


def test_the_seller_reference_looked_up_is_the_one_shown_the_returns_else_the_items():
    # GIVEN only the item's own reference (GetReturnInventory's), then the return request's too
    item_only = {"itemSellerReferenceNumber": "LINE-7"}
    both = {"itemSellerReferenceNumber": "LINE-7", "sellerReferenceNumber": "ORDER-1002"}
    # THEN the row follows the view's precedence, and a look-up matches what the view shows
    assert references.references_of(item_only) == {"sellerReferenceNumber#LINE-7"}
    assert references.references_of(both) == {"sellerReferenceNumber#ORDER-1002"}
    assert references.matches(both, "sellerReferenceNumber", "ORDER-1002")
    assert not references.matches(both, "sellerReferenceNumber", "LINE-7")


def test_a_packed_item_is_listed_under_its_consolidation_order():
    refs = references.references_of({"consolidationOrderId": "01JNQ8V4T0C0NS011DAT10N0RD"})
    assert refs == {"consolidationOrder#01JNQ8V4T0C0NS011DAT10N0RD"}


@pytest.mark.parametrize("value", [70312, "70312", "070312"])
def test_a_return_request_id_is_one_reference_whether_a_number_or_a_string(value):
    assert references.references_of({"returnRequestId": value}) == {"returnRequestId#70312"}
    assert references.matches({"returnRequestId": 70312}, "returnRequestId", value)


@pytest.mark.parametrize("value", [None, "", True, 1.5, {"a": 1}, ["x"], "x" * 1025, "é" * 513, "R-\ud800"])
def test_a_value_no_row_can_hold_has_no_reference_and_matches_nothing(value):
    assert references.references_of({"rma": value}) == frozenset()
    assert not references.matches({"rma": value}, "rma", value)


def test_a_value_of_1024_bytes_still_has_its_row():
    assert references.references_of({"sku": "é" * 512}) == {"sku#" + "é" * 512}


def test_text_references_are_exact_not_normalised():
    assert references.references_of({"sku": " Sku-1"}) == {"sku# Sku-1"}
    assert not references.matches({"sku": "sku-1"}, "sku", "SKU-1")


def test_a_changed_value_deletes_the_old_row_and_every_current_row_is_written_again():
    old = {**ITEM, "rma": "OLD-RMA"}
    write, delete = references.row_changes(old, ITEM)
    assert delete == {"rma#OLD-RMA"}
    assert write == references.references_of(ITEM)  # unchanged rows too: a lost one comes back


def test_a_value_that_ends_deletes_its_row_and_a_new_item_writes_all_of_its_rows():
    assert references.row_changes(ITEM, {k: v for k, v in ITEM.items() if k != "sku"})[1] == {"sku#TEST-HOODIE-GRY-L"}
    assert references.row_changes(None, ITEM) == (references.references_of(ITEM), frozenset())
    assert references.row_changes(ITEM, None) == (frozenset(), references.references_of(ITEM))


values = st.one_of(st.none(), st.text(max_size=5), st.integers(min_value=0, max_value=10**6))
items = st.fixed_dictionaries({attribute: values for attribute in references.ATTRIBUTES.values()})


@given(st.lists(items, min_size=1, max_size=6))
def test_rows_written_record_by_record_end_as_the_last_items_rows(history):
    # GIVEN an item's successive states, each a stream record (old image, new image)
    rows: set[str] = set()
    previous = None
    for state in history:
        # WHEN each record's rows are written and deleted in turn, any record redelivered once more
        for _ in range(2):
            write, delete = references.row_changes(previous, state)
            assert not write & delete
            rows = (rows - delete) | write
        previous = state
    # THEN the rows are exactly those of the item's last state
    assert rows == references.references_of(history[-1])


def test_one_selector_is_taken_as_given():
    assert references.selector({"warehouseId": None, "rma": "R-1", "sku": None}) == ("rma", "R-1")
    assert references.selector({"warehouseId": 2, "rma": None}) == ("warehouseId", 2)


def test_two_selectors_are_refused_on_the_second_and_none_on_warehouse_id():
    with pytest.raises(references.SelectorError) as two:
        references.selector({"warehouseId": None, "rma": "R-1", "sku": "S-1"})
    assert two.value.field == "sku"
    with pytest.raises(references.SelectorError) as none:
        references.selector({"warehouseId": None, "rma": None})
    assert none.value.field == "warehouseId"


def test_eligible_filters_a_warehouse_listing_and_is_refused_with_a_look_up():
    assert references.selector({"warehouseId": 2, "sku": None}, eligible=True) == ("warehouseId", 2)
    with pytest.raises(references.SelectorError) as refused:
        references.selector({"warehouseId": None, "sku": "S-1"}, eligible=True)
    assert refused.value.field == "eligible"
