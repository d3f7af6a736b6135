"""Caps and distinctness before any look-up (contract section 10, "Hostile input"): a request over
RESEND_MAX_ITEMS (POST /resends, quote) or BATCH_MAX_ITEMS (plan, batch), or with repeated ids, is
422 without a single DynamoDB or Return Helper call.
"""

import boto3
import pytest

from tests.support.resend import resend_body


def stored(tables, logical_id: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables[logical_id])["Items"]


def quote_body(ids):
    return {"returnInventoryIdList": ids, "shipmentCountryCode": "usa", "shipmentPostalCode": "10001"}


UNKNOWN = list(range(90_001, 90_201))  # ids nobody knows: each would be a GetReturnInventory look-up


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/resends", resend_body(UNKNOWN[:6]), {}),
        ("/resends", resend_body(UNKNOWN[:100]), {"Idempotency-Key": "hundred-and-a-key"}),
        ("/resends", resend_body([90_001, 90_002, 90_001]), {}),
        (
            "/resends/quote",
            {"returnInventoryIdList": UNKNOWN[:6], "shipmentCountryCode": "usa", "shipmentPostalCode": "1"},
            {},
        ),
        (
            "/resends/quote",
            {"returnInventoryIdList": [90_001, 90_001], "shipmentCountryCode": "usa", "shipmentPostalCode": "1"},
            {},
        ),
        ("/resends/plan", {"returnInventoryIdList": UNKNOWN[:51]}, {}),
        ("/resends/plan", {"returnInventoryIdList": [90_001, 90_002, 90_001]}, {}),
        ("/resends/batch", resend_body(UNKNOWN[:51]), {"Idempotency-Key": "batch-over-cap"}),
        ("/resends/batch", resend_body([90_001, 90_001]), {"Idempotency-Key": "batch-repeated"}),
    ],
    ids=[
        "resends-6-unknown",
        "resends-100-with-key",
        "resends-repeated",
        "quote-6-unknown",
        "quote-repeated",
        "plan-51",
        "plan-repeated",
        "batch-51",
        "batch-repeated",
    ],
)
def test_over_the_cap_or_repeated_ids_is_422_before_any_lookup(api, calls, tables, emulator, path, body, headers):
    calls.reset()
    status, answer = api("POST", path, body, headers=headers)
    assert status == 422, answer
    assert [error["field"] for error in answer["errors"]] == ["returnInventoryIdList"]
    assert calls.dynamodb == [], "a refused request reads nothing"
    assert calls.upstream == [], "a refused request asks Return Helper nothing"
    assert stored(tables, "ResendRequestTable") == []


def test_the_cap_message_names_the_setting(api, calls, tables):
    status, answer = api("POST", "/resends/plan", {"returnInventoryIdList": UNKNOWN[:51]})
    assert status == 422 and "at most 50" in answer["errors"][0]["message"]
