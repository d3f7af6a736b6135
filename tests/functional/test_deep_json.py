"""A merchant-API body nested deeper than 64 levels is 400 (contract section 10): checked without
recursion before anything parses it (json.loads of 50,000 levels raises RecursionError).
"""

import base64

import pytest

from tests.events.loader import load_event


def nested(depth: int) -> str:
    return '{"returnInventoryIdList": ' + "[" * depth + "1" + "]" * depth + "}"


@pytest.mark.parametrize(
    "raw",
    ["[" * 50_000, '{"a":' * 12_000, nested(64), '{"x": ' + nested(63) + "}"],
    ids=["50000-deep-array", "12000-deep-object", "65-deep", "65-deep-inside-an-object"],
)
def test_json_nested_deeper_than_64_levels_is_400(api, tables, calls, raw):
    calls.reset()
    status, body = api("POST", "/resends", raw=raw)
    assert status == 400, body
    assert body["errors"] == [] and "64" in body["message"]
    assert calls.dynamodb == [] and calls.upstream == []


@pytest.mark.parametrize(
    "raw",
    [nested(63), nested(63)[:-1] + ', "s": "' + '[{\\"' * 100 + '"}'],
    ids=["64-deep", "brackets-and-escaped-quotes-in-a-string-do-not-count"],
)
def test_json_nested_64_levels_is_read(api, tables, raw):
    status, body = api("POST", "/resends", raw=raw)  # the body object and 63 lists: 64 levels
    assert status == 422, body
    assert body["errors"][0]["field"].startswith("returnInventoryIdList")


def test_a_deep_body_base64_encoded_is_400_too(load_with_upstream, lambda_context, tables):

    module = load_with_upstream("MerchantApiFunction")
    event = load_event("apigw_get_inventory")
    raw = ("[" * 40_000).encode()  # base64 of it stays under the 64 KB body limit
    event.update(
        httpMethod="POST",
        path="/resends",
        resource="/resends",
        pathParameters=None,
        headers={"x-api-key": "key", "Content-Type": "application/json"},
        multiValueHeaders={"x-api-key": ["key"], "Content-Type": ["application/json"]},
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        body=base64.b64encode(raw).decode(),
        isBase64Encoded=True,
    )
    response = module.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
