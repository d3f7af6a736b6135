"""Page tokens (rh_common.adapters.dynamodb.page_tokens): what a listing issues decodes back; nothing else does."""

import base64
import json

import pytest

from rh_common.adapters.dynamodb import delivery_log, inventory_store, page_tokens, resend_listing
from rh_common.domain.errors import InvalidPageToken

SHAPE = {"w": int, "i": int}


def raw_token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_each_listing_s_token_decodes_to_the_start_key_it_was_made_from():
    inventory_key = {"warehouseId": {"N": "2"}, "returnInventoryId": {"N": "7001"}}
    assert inventory_store.decode_token(inventory_store.encode_token(inventory_key), 2) == inventory_key
    delivery_key = {"status": {"S": "ignored"}, "receivedAt": {"N": "1764000000123"}, "deliveryId": {"S": "sha256:a"}}
    assert delivery_log.decode_token(delivery_log.encode_token(delivery_key), "ignored") == delivery_key
    resend_key = {"status": {"S": "PENDING"}, "updatedAt": {"S": "2026-12-07T09:00:00Z"}, "resendRequestId": {"S": "r"}}
    assert resend_listing.decode_token(resend_listing.encode_token(resend_key), "PENDING") == resend_key


@pytest.mark.parametrize(
    "token",
    [
        raw_token({"w": 2, "i": 10**40}),
        raw_token({"w": 2, "i": 2**63}),
        raw_token({"w": 2, "i": -1}),
        raw_token({"w": 2, "i": True}),
        raw_token({"w": 2, "i": 7.0}),
        raw_token({"w": 2, "i": "7"}),
        raw_token({"w": 2}),
        raw_token({"w": 2, "i": 7, "x": 0}),
        raw_token([2, 7]),
        raw_token("x"),
        raw_token(None),
        base64.urlsafe_b64encode(b"[" * 600).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "!!!",
        "e30",  # {} without padding
        "",
        "e30é",  # a query string carries any character: base64 takes ASCII only (ValueError, not binascii.Error)
    ],
    ids=[
        "41-digits",
        "past-int64",
        "negative",
        "bool",
        "float",
        "string-id",
        "missing-key",
        "extra-key",
        "list",
        "string",
        "null",
        "deep",
        "not-utf8",
        "not-base64",
        "empty-object",
        "empty",
        "not-ascii",
    ],
)
def test_a_token_the_listing_did_not_issue_is_invalid(token):
    with pytest.raises(InvalidPageToken, match="not a token from this listing"):
        page_tokens.decode(token, SHAPE)


def test_a_string_field_must_be_a_non_empty_key_string():
    shape = {"s": str}
    assert page_tokens.decode(raw_token({"s": "a"}), shape) == {"s": "a"}
    for value in ("", "x" * 1025, 1, None, ["a"]):
        with pytest.raises(InvalidPageToken):
            page_tokens.decode(raw_token({"s": value}), shape)


def test_another_listing_s_token_is_refused_by_name():
    token = inventory_store.encode_token({"warehouseId": {"N": "2"}, "returnInventoryId": {"N": "1"}})
    with pytest.raises(InvalidPageToken, match="another warehouseId"):
        inventory_store.decode_token(token, 3)
