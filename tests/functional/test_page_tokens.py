"""Page tokens (contract section 10, "Hostile input"): a nextToken that does not decode to what the
listing issued (wrong key names or types, a number DynamoDB cannot hold, garbage) is 422 on
`nextToken`, never a 500.
"""

import base64
import json

import pytest


def token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


FORTY_ONE_DIGITS = 10**40


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/inventories", {"warehouseId": "2", "nextToken": token({"w": 2, "i": FORTY_ONE_DIGITS})}),
        ("/inventories", {"warehouseId": "2", "nextToken": token({"w": 2, "i": -1})}),
        ("/inventories", {"warehouseId": "2", "nextToken": token({"w": 2, "i": "7"})}),
        ("/inventories", {"warehouseId": "2", "nextToken": token({"w": 2, "i": 7, "x": 1})}),
        ("/inventories", {"warehouseId": "2", "nextToken": token([2, 7])}),
        ("/inventories", {"warehouseId": "2", "nextToken": "!!!not base64"}),
        ("/resends", {"status": "PENDING", "nextToken": token(["PENDING", 5, 6])}),
        ("/resends", {"status": "PENDING", "nextToken": token(["PENDING", "2025-01-01T00:00:00Z", {"S": "x"}])}),
        ("/resends", {"status": "PENDING", "nextToken": token("PENDING")}),
        ("/deliveries", {"status": "ignored", "nextToken": token({"s": "ignored", "r": FORTY_ONE_DIGITS, "d": "x"})}),
        ("/deliveries", {"status": "ignored", "nextToken": token({"s": "ignored", "r": 1.5, "d": "x"})}),
        ("/deliveries", {"status": "ignored", "nextToken": token({"s": "ignored", "r": 1, "d": ""})}),
    ],
    ids=[
        "inventories-41-digits",
        "inventories-negative",
        "inventories-string-id",
        "inventories-extra-key",
        "inventories-list",
        "inventories-garbage",
        "resends-numbers",
        "resends-object",
        "resends-string",
        "deliveries-41-digits",
        "deliveries-float",
        "deliveries-empty-id",
    ],
)
def test_a_page_token_this_api_did_not_issue_is_422_on_next_token(api, tables, path, query):
    status, body = api("GET", path, query=query)
    assert status == 422, body
    assert [error["field"] for error in body["errors"]] == ["nextToken"]
