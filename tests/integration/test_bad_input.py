"""No input gets a 5xx: malformed bodies, numbers past int64, odd content types, every route.

Each answer also goes through the document check of ApiClient (openapi_conformance.py), so
the 400 / 413 / 415 / 422 bodies are the documented ones. Refused requests store nothing and
send nothing upstream, and the stack log says why.
"""

import json
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

NOT_UTF8 = b'{"returnInventoryIdList": [1], "x": "\xff\xfe"}'
HUGE_NUMBER = b'{"returnInventoryIdList": [' + b"9" * 5000 + b"]}"
PAST_INT64 = 2**64


def creations(stack) -> dict:
    return requests.get(f"{stack['emulator']}/_emulator/state", timeout=10).json()["createdPerIdempotencyKey"]


def operations(api) -> list[tuple[str, str, bool]]:
    """(method, path, signed) of every documented operation; signed: an operator (SigV4) route."""
    paths = api.conformance.document()["paths"]
    concrete = {"{returnInventoryId}": "1", "{resendRequestId}": "nope"}
    result = []
    for template, ops in paths.items():
        path = template
        for name, value in concrete.items():
            path = path.replace(name, value)
        result += [(method.upper(), path, op.get("security") == [{"SigV4": []}]) for method, op in ops.items()]
    return result


def assert_error_body(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["message"], str) and isinstance(body["errors"], list)


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (NOT_UTF8, "application/json", 400),
        (HUGE_NUMBER, "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 422),
        (b'"a string"', "application/json", 422),
        (b"12", "application/json", 422),
        (b"null", "application/json", 422),
        (b"a=1", "text/plain", 415),
        (b"x" * (65 * 1024), "application/json", 413),
    ],
    ids=["not-utf8", "5000-digit-number", "not-json", "array", "string", "number", "null", "text-plain", "too-large"],
)
def test_a_malformed_resend_body_is_a_4xx_with_the_error_body_and_nothing_is_kept(
    api, stack, raw, content_type, status
):
    key = f"bad-input-{time.time_ns()}"
    before = creations(stack)
    response = api.post("/resends", data=raw, headers={"Content-Type": content_type, "Idempotency-Key": key})
    assert_error_body(response, status)
    if status != 422:  # unreadable: nothing recorded under the key (a readable but invalid body is, as REJECTED)
        assert api.get("/resends", params={"idempotencyKey": key}).status_code == 404
    assert creations(stack) == before  # nothing sent upstream


def test_numbers_past_int64_are_422_wherever_an_id_goes(api):
    body = {"returnInventoryIdList": [PAST_INT64], "resendShipment": {"shipmentServiceType": "x"}}
    assert_error_body(api.post("/resends", json=body), 422)
    assert_error_body(api.get(f"/inventories/{PAST_INT64}"), 422)
    assert_error_body(api.get("/inventories", params={"warehouseId": PAST_INT64}), 422)
    assert_error_body(api.get("/service-types", params={"warehouseId": -PAST_INT64}), 422)
    assert_error_body(api.get("/inventories", params={"warehouseId": "1e400"}), 422)


def test_an_unknown_warehouse_for_service_types_is_422_not_503(api):
    response = api.get("/service-types", params={"warehouseId": 1})  # the emulator knows warehouses 2 and 3
    assert_error_body(response, 422)
    assert response.json()["errors"][0]["field"] == "warehouseId"


def test_every_route_and_method_answers_bytes_that_are_not_utf8_without_a_5xx(api):
    for method, path, signed in operations(api):
        response = api.request(method, path, signed=signed, data=NOT_UTF8, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (method, path, response.status_code, response.text)
        if method == "POST":
            assert_error_body(response, 400)


def test_big_headers_and_odd_query_strings_are_never_a_5xx(api):
    for method, path, signed in operations(api):
        for extra in ({"x-big": "a" * 8000}, {"Idempotency-Key": "k" * 300}, {"Content-Type": "multipart/form-data"}):
            query = "?warehouseId=%ff%fe&limit=0&eligible=maybe"
            response = api.request(method, path + query, signed=signed, headers=extra)
            assert response.status_code < 500, (method, path, extra, response.status_code, response.text)


def test_the_stack_log_says_why_a_body_was_refused(api, stack):
    api.post("/resends", data=NOT_UTF8, headers={"Content-Type": "application/json"})
    log = Path(stack["logFile"])
    deadline = time.monotonic() + 10
    while "request body not UTF-8" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the refusal's reason is not in the stack log"
        time.sleep(0.2)


def test_the_document_check_itself_refuses_a_body_that_does_not_match(api):
    health = f"{api.base_url}/health"
    assert api.conformance.problem("GET", health, 200, "application/json", b'{"status": "ok"}') is None
    assert "does not match" in api.conformance.problem("GET", health, 200, "application/json", b'{"status": 1}')
    assert "not documented" in api.conformance.problem("GET", health, 418, "application/json", b"{}")
    keyed = f"{api.base_url}/inventories/1"
    gateway_403 = json.dumps({"message": "Forbidden"}).encode()
    assert api.conformance.problem("GET", keyed, 403, "application/json", gateway_403) is None
    assert api.conformance.problem("GET", keyed, 404, "application/json", gateway_403) is not None  # no `errors`
