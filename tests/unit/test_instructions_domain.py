"""domain.instructions: what an item matches, which references an item's change looks up, and when a waiting
instruction reads EXPIRED."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rh_common.domain import instructions
from rh_common.domain.idempotency_keys import request_id_for

RECORD = {
    "instructionId": "i-1",
    "match": {"returnRequestId": "070312"},
    "status": "WAITING",
    "expiresAt": "2025-03-10T00:00:00.000000Z",
}
READY = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}


def test_a_return_request_id_matches_as_a_number_or_a_string_and_a_sku_must_agree():
    assert instructions.item_matches(RECORD, {**READY, "returnRequestId": 70312})
    assert instructions.item_matches(RECORD, {**READY, "returnRequestId": "70312", "sku": "ANY"})
    assert not instructions.item_matches(RECORD, {**READY, "returnRequestId": "70313"})
    with_sku = {**RECORD, "sku": "SKU-1"}
    assert instructions.item_matches(with_sku, {**READY, "returnRequestId": 70312, "sku": "SKU-1"})
    assert not instructions.item_matches(with_sku, {**READY, "returnRequestId": 70312, "sku": "SKU-2"})
    assert not instructions.item_matches(with_sku, {**READY, "returnRequestId": 70312})


@pytest.mark.parametrize(
    "unready",
    [
        {"inStock": False},
        {"handlingStatusCode": "processing"},
        {"warehouseId": None},
        {"pendingVas": True},
        {"otherWorkflow": "recall"},
        {"activeResendRequestId": "another-request"},
    ],
)
def test_an_item_not_ready_to_be_resent_does_not_match_yet(unready):
    assert not instructions.item_matches(RECORD, {**READY, "returnRequestId": 70312, **unready})


def test_an_item_reserved_by_the_instruction_s_own_resend_still_matches_and_flags_and_codes_do_not_matter():
    own = request_id_for(instructions.resend_key("i-1"))
    assert instructions.item_matches(RECORD, {**READY, "returnRequestId": 70312, "activeResendRequestId": own})
    flagged = {**READY, "returnRequestId": 70312, "handlingCode": "tbc", "fraudFlag": {"isFraudulent": True}}
    assert instructions.item_matches(RECORD, flagged)


def test_an_item_s_change_looks_up_what_it_gained_or_everything_once_it_became_ready_or_changed_sku():
    item = {**READY, "rma": "R-1", "sku": "SKU-1", "returnRequestId": 70312}
    everything = frozenset({"rma#R-1", "returnRequestId#70312"})  # not sku#...: no instruction matches on it
    assert instructions.references_to_look_up(None, item) == everything
    assert instructions.references_to_look_up(item, item) == frozenset()  # seen before: nothing to look up
    assert instructions.references_to_look_up({**item, "rma": None}, item) == {"rma#R-1"}
    assert instructions.references_to_look_up({**item, "inStock": False}, item) == everything
    assert instructions.references_to_look_up({**item, "sku": "SKU-0"}, item) == everything
    assert instructions.references_to_look_up(item, {**item, "inStock": False}) == frozenset()  # not ready


def test_a_waiting_instruction_reads_expired_from_its_expiry_on_and_only_while_waiting():
    before = datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC)
    at = datetime(2025, 3, 10, tzinfo=UTC)
    assert instructions.current(RECORD, before) is instructions.Status.WAITING
    assert instructions.current(RECORD, at) is instructions.Status.EXPIRED
    assert instructions.current({**RECORD, "status": "MATCHED"}, at) is instructions.Status.MATCHED


def test_the_match_row_and_the_resend_key():
    assert instructions.match_reference("returnRequestId", "070312") == "instruction#returnRequestId#70312"
    assert instructions.match_reference("rma", "") is None
    assert instructions.resend_key("abc") == "instruction:abc"
