"""The local API Gateway: REST (v1) proxy events API Gateway would send, and its own answers."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from datetime import UTC, datetime

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from local.gateway import (
    HttpRequest,
    LocalApiGateway,
    MalformedProxyResponse,
    RouteTable,
    build_proxy_event,
    translate_proxy_result,
)
from local.lambda_runtime import InvocationResult
from local.template import ApiRoute

GET_ITEM = ApiRoute(
    "GET", "/inventories/{returnInventoryId}", "MerchantApiFunction", "GetInventory", "MerchantApi", "v1", True
)
LIST = ApiRoute("GET", "/inventories", "MerchantApiFunction", "ListInventories", "MerchantApi", "v1", True)
WEBHOOK = ApiRoute("POST", "/webhooks/returnhelper", "WebhookFunction", "Webhook", "MerchantApi", "v1", False)
NOW = datetime(2025, 3, 3, 8, 15, 30, tzinfo=UTC)


def event_for(route: ApiRoute, request: HttpRequest, path_parameters: dict, api_key: str | None = None) -> dict:
    return build_proxy_event(
        route,
        request,
        path_parameters,
        domain_name="127.0.0.1:3000",
        request_id=str(uuid.uuid4()),
        request_time=NOW,
        api_key=api_key,
    )


def test_get_with_query_string_and_path_parameters_is_a_valid_proxy_event():
    request = HttpRequest(
        "GET",
        "/inventories/42",
        "eligible=true&tag=a&tag=b",
        [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest"), ("x-api-key", "k"), ("Accept", "a"), ("Accept", "b")],
        b"",
        "127.0.0.1",
    )
    event = event_for(GET_ITEM, request, {"returnInventoryId": "42"}, api_key="k")

    model = APIGatewayProxyEventModel.model_validate(event)

    assert model.resource == "/inventories/{returnInventoryId}"
    assert model.path == "/inventories/42"
    assert model.pathParameters == {"returnInventoryId": "42"}
    assert model.queryStringParameters == {"eligible": "true", "tag": "b"}
    assert model.multiValueQueryStringParameters == {"eligible": ["true"], "tag": ["a", "b"]}
    assert model.headers["Accept"] == "b" and model.multiValueHeaders["Accept"] == ["a", "b"]
    assert model.body is None and model.isBase64Encoded is False
    context = event["requestContext"]
    assert context["path"] == "/v1/inventories/42"
    assert context["stage"] == "v1"
    assert context["resourcePath"] == "/inventories/{returnInventoryId}"
    assert context["identity"]["apiKey"] == "k"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["requestTimeEpoch"] == int(NOW.timestamp() * 1000)
    assert context["requestTime"] == "03/Mar/2025:08:15:30 +0000"
    assert event["stageVariables"] is None


def test_absent_query_string_and_path_parameters_are_null():
    event = event_for(LIST, HttpRequest("GET", "/inventories", "", [("Host", "h")], b"", "127.0.0.1"), {})
    APIGatewayProxyEventModel.model_validate(event)
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


def test_binary_body_is_base64_and_decodes_to_the_exact_bytes():
    raw = bytes(range(256)) + b"\xff\xfe"
    request = HttpRequest(
        "POST", "/webhooks/returnhelper", "", [("Content-Type", "application/octet-stream")], raw, "127.0.0.1"
    )
    event = event_for(WEBHOOK, request, {})

    model = APIGatewayProxyEventModel.model_validate(event)

    assert model.isBase64Encoded is True
    assert base64.b64decode(model.body) == raw


def test_utf8_body_is_passed_as_is():
    text = '{"eventTime": "2025-03-03T08:15:30.1234567Z",  "note": "Grüße \\u00e9 ✓"}\n'
    request = HttpRequest(
        "POST", "/webhooks/returnhelper", "", [("Content-Type", "application/json")], text.encode("utf-8"), "127.0.0.1"
    )
    event = event_for(WEBHOOK, request, {})

    model = APIGatewayProxyEventModel.model_validate(event)

    assert model.isBase64Encoded is False
    assert model.body == text
    assert event["body"].encode("utf-8") == text.encode("utf-8")


# ------------------------------------------------------------------ routing


def test_the_most_specific_resource_wins_and_decides_the_method():
    search = ApiRoute("POST", "/inventories/search", "F", "Search", "Api", "v1", False)
    table = RouteTable([GET_ITEM, LIST, search])
    assert table.match("GET", "/inventories/7") == (GET_ITEM, {"returnInventoryId": "7"})
    assert table.match("GET", "/inventories") == (LIST, {})
    assert table.match("POST", "/inventories/search") == (search, {})
    assert table.match("GET", "/inventories/search") is None  # the literal resource has no GET
    assert table.match("GET", "/inventories/7/extra") is None
    assert table.match("GET", "/inventories/a%20b") == (GET_ITEM, {"returnInventoryId": "a b"})


def test_greedy_proxy_path_and_any_method():
    proxy = ApiRoute("ANY", "/files/{proxy+}", "F", "Files", "Api", "v1", False)
    assert RouteTable([proxy]).match("DELETE", "/files/a/b/c") == (proxy, {"proxy": "a/b/c"})


# ------------------------------------------------------------------ proxy results


def test_proxy_result_headers_merge_and_json_is_the_default_content_type():
    status, headers, body = translate_proxy_result(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
        }
    )
    assert status == 201 and body == b'{"ok": true}'
    assert sorted(headers) == sorted(
        [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1"), ("Content-Type", "application/json")]
    )


def test_base64_proxy_result_is_sent_as_bytes():
    raw = b"\x00\x01\xff"
    status, _, body = translate_proxy_result(
        {
            "statusCode": 200,
            "body": base64.b64encode(raw).decode(),
            "isBase64Encoded": True,
            "headers": {"Content-Type": "image/png"},
        }
    )
    assert (status, body) == (200, raw)


@pytest.mark.parametrize("payload", [None, "text", {"body": "x"}, {"statusCode": 200, "body": {"a": 1}}])
def test_malformed_proxy_results_are_refused(payload):
    with pytest.raises(MalformedProxyResponse):
        translate_proxy_result(payload)


# ------------------------------------------------------------------ over HTTP, with a fake function


@pytest.fixture
def gateway():
    """A gateway on a free port whose function answers from `answers[path]` and records events."""
    seen: list[dict] = []
    answers: dict[str, InvocationResult] = {}

    def invoke(function_id: str, event: dict) -> InvocationResult:
        seen.append(event)
        default = InvocationResult("ok", {"statusCode": 200, "body": json.dumps({"fn": function_id})})
        return answers.get(event["path"], default)

    routes = [GET_ITEM, WEBHOOK, ApiRoute("GET", "/health", "F", "Health", "MerchantApi", "v1", False)]
    server = LocalApiGateway(routes, invoke, port=0, api_key="the-key")
    server.start()
    server.seen, server.answers = seen, answers
    yield server
    server.stop()


def test_raw_bytes_reach_the_function_unchanged_over_http(gateway):
    raw = b'{"a": 1}\xff\x00'
    response = requests.post(gateway.url + "/webhooks/returnhelper", data=raw, timeout=10)
    assert response.status_code == 200
    event = gateway.seen[-1]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == raw
    assert event["headers"]["X-Forwarded-Proto"] == "http"


def test_api_key_is_checked_before_the_function_runs(gateway):
    assert requests.get(gateway.url + "/inventories/1", timeout=10).status_code == 403
    assert requests.get(gateway.url + "/inventories/1", headers={"x-api-key": "nope"}, timeout=10).status_code == 403
    assert gateway.seen == []
    ok = requests.get(gateway.url + "/inventories/1", headers={"X-Api-Key": "the-key"}, timeout=10)
    assert ok.status_code == 200
    assert gateway.seen[-1]["requestContext"]["identity"]["apiKey"] == "the-key"


def test_function_error_is_502_and_timeout_is_504(gateway):
    gateway.answers["/health"] = InvocationResult("error", error_type="ValueError", error_message="boom")
    failed = requests.get(gateway.url + "/health", timeout=10)
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})
    gateway.answers["/health"] = InvocationResult("timeout")
    timed_out = requests.get(gateway.url + "/health", timeout=10)
    assert (timed_out.status_code, timed_out.json()) == (504, {"message": "Endpoint request timed out"})
    gateway.answers["/health"] = InvocationResult("ok", payload=None)
    assert requests.get(gateway.url + "/health", timeout=10).status_code == 502


def test_bodies_over_10_mb_are_413(gateway):
    response = requests.post(gateway.url + "/webhooks/returnhelper", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert response.status_code == 413
    assert gateway.seen == []


def test_a_chunked_body_reaches_the_function_whole(gateway):
    # GIVEN a body sent with Transfer-Encoding: chunked (a generator body makes requests chunk it)
    raw = b'{"a": 1}' * 5000 + b"\xff"
    # WHEN it is posted
    response = requests.post(
        gateway.url + "/webhooks/returnhelper", data=(raw[i : i + 999] for i in range(0, len(raw), 999)), timeout=10
    )
    # THEN the function gets the exact bytes
    assert response.status_code == 200
    assert base64.b64decode(gateway.seen[-1]["body"]) == raw


def test_header_names_repeats_and_underscores_reach_the_function_as_sent(gateway):
    # GIVEN / WHEN headers with a repeat, odd casing and an underscore in the name
    headers = [("x-Odd-CASE", "1"), ("Accept", "a"), ("Accept", "b"), ("x_under", "u")]
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: h\r\n{lines}\r\n".encode())
        answer = sock.recv(65536)
    # THEN the event carries them as API Gateway would
    assert answer.startswith(b"HTTP/1.1 200")
    event = gateway.seen[-1]
    assert event["headers"]["x-Odd-CASE"] == "1" and event["headers"]["x_under"] == "u"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]


@pytest.mark.parametrize("method", ["HEAD", "PROPFIND", "DELETE"])
def test_an_unrouted_method_is_403_missing_authentication_token(gateway, method):
    # GIVEN / WHEN a method the template does not route
    response = requests.request(method, gateway.url + "/health", timeout=10)
    # THEN API Gateway's answer, without a body for HEAD, and no function ran
    assert response.status_code == 403 and response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.content == (b"" if method == "HEAD" else b'{"message": "Missing Authentication Token"}')
    assert gateway.seen == []


def test_a_header_line_too_long_is_answered_with_json(gateway):
    # GIVEN / WHEN a header line longer than http.server reads
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nx-long: " + b"a" * 70000 + b"\r\n\r\n")
        answer = sock.makefile("rb").read()
    # THEN a 431 with a JSON body, not an HTML page, and no function ran
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"Content-Type: application/json" in head
    assert json.loads(body) == {"message": "Line too long"}
    assert gateway.seen == []
