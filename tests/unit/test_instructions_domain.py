"""domain.instructions: what an item matches, and when a waiting instruction reads EXPIRED."""

from __future__ import annotations

from datetime import UTC, datetime

from rh_common.domain import instructions

RECORD = {"match": {"returnRequestId": "070312"}, "status": "WAITING", "expiresAt": "2025-03-10T00:00:00.000000Z"}


def test_a_return_request_id_matches_as_a_number_or_a_string_and_a_sku_must_agree():
    assert instructions.item_matches(RECORD, {"returnRequestId": 70312})
    assert instructions.item_matches(RECORD, {"returnRequestId": "70312", "sku": "ANY"})
    assert not instructions.item_matches(RECORD, {"returnRequestId": "70313"})
    with_sku = {**RECORD, "sku": "SKU-1"}
    assert instructions.item_matches(with_sku, {"returnRequestId": 70312, "sku": "SKU-1"})
    assert not instructions.item_matches(with_sku, {"returnRequestId": 70312, "sku": "SKU-2"})
    assert not instructions.item_matches(with_sku, {"returnRequestId": 70312})


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
