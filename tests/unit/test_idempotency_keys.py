"""Derived keys (rh_common.domain.idempotency_keys): their formats are stored data and keys already sent
to Return Helper, so they are pinned here; and each one travels as an Idempotency-Key, so each fits the
grammar."""

from __future__ import annotations

from rh_common.contract import item_caps
from rh_common.domain import idempotency_keys
from rh_common.domain.idempotency_keys import cancel_key, group_key, hold_key, request_id_for

REQUEST_ID_OF_K1 = "e8653ec4-f8ce-50ce-8bcb-05d0a5622190"  # what every deployed stack stored for key "k-1"


def test_a_key_always_names_the_same_request_and_no_key_a_new_one():
    assert request_id_for("k-1") == request_id_for("k-1") == REQUEST_ID_OF_K1
    assert request_id_for("k-2") != REQUEST_ID_OF_K1
    assert request_id_for(None) != request_id_for(None)


def test_the_upstream_keys_keep_their_formats():
    assert cancel_key(REQUEST_ID_OF_K1) == f"cancel-{REQUEST_ID_OF_K1}"
    assert group_key("order-7", 0) == "order-7#g0"
    assert hold_key(18148, "2024-05-02T02:59:27.8657445Z#abc") == "08bf52f5-56ef-50a6-9e8a-3675492dd238"
    assert hold_key(18148, "2024-05-02T02:59:27.8657445Z#abd") != hold_key(18148, "2024-05-02T02:59:27.8657445Z#abc")


def test_every_derived_key_is_a_valid_idempotency_key():
    # the longest batch key, with the last group the largest batch can have (one group per item at most)
    longest_group = group_key("k" * idempotency_keys.BATCH_MAX_LENGTH, item_caps.batch_max_items() - 1)
    for key in (longest_group, cancel_key(request_id_for("k" * 255)), hold_key(2**53, None)):
        assert idempotency_keys.is_valid(key), key
