"""POST/GET /resends, cancel and /service-types through the real handler: moto for AWS and the
Return Helper sandbox emulator (a real HTTP server) upstream."""

import json

import boto3
import pytest
import requests

from tests.support.resend import fault, resend_body, upstream_state


def test_a_valid_resend_is_reserved_submitted_and_readable(api, items, emulator):
    ids = items(501, 502)
    status, body = api("POST", "/resends", resend_body(ids))
    assert status == 201, body
    assert body["status"] == "SUBMITTED" and isinstance(body["resendId"], int) and body["attempts"] == 1
    assert "resendShipment" not in body and "Test Recipient" not in json.dumps(body)
    # the upstream call carried the request id as the idempotency key, exactly once
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {body["resendRequestId"]: 1}
    status, read = api("GET", f"/resends/{body['resendRequestId']}")
    assert status == 200 and read["status"] == "SUBMITTED" and read["resendId"] == body["resendId"]
    for inventory_id in ids:
        record = items.store.get(inventory_id, consistent=True)
        assert record.active_resend_request_id == body["resendRequestId"]
        assert record.values["handlingCode"] == "rsd"


def test_the_same_key_and_body_replays_the_answer_without_calling_upstream_again(api, items, emulator):
    ids = items(511)
    first = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "order-1001"})
    again = api("POST", "/resends", resend_body(ids), headers={"idempotency-key": "order-1001"})
    assert first[0] == 201 and again == first
    assert upstream_state(emulator)["createdPerIdempotencyKey"] == {"order-1001": 1}
    status, by_key = api("GET", "/resends", query={"idempotencyKey": "order-1001"})
    assert status == 200 and by_key["resendRequestId"] == first[1]["resendRequestId"]
    assert by_key["idempotencyKey"] == "order-1001"


@pytest.mark.parametrize(
    ("fault_spec", "outcome", "status_code"),
    [
        (None, "submitted", 201),
        ({"kind": "softError", "errorCode": "VALIDATION_FAILED", "error": {"x": "refused"}}, "rejected", 422),
    ],
    ids=["submitted", "rejected"],
)
def test_an_answer_stored_as_its_status_code_by_a_deployed_stack_replays_the_same(
    api, items, emulator, tables, fault_spec, outcome, status_code
):
    # GIVEN a keyed request answered, its answer stored as an outcome and a body
    ids = items(521)
    if fault_spec:
        fault(emulator, "createResend", **fault_spec)
    first = api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "order-old"})
    assert first[0] == status_code
    dynamo = boto3.client("dynamodb")
    key = {"resendRequestId": {"S": first[1]["resendRequestId"]}}
    answer = dynamo.get_item(TableName=tables["ResendRequestTable"], Key=key)["Item"]["answer"]["M"]
    assert answer["outcome"] == {"S": outcome}
    # WHEN it is rewritten as a stack deployed before stored it: the HTTP status code and the body
    old = {"M": {"statusCode": {"N": str(status_code)}, "body": answer["body"]}}
    dynamo.update_item(
        TableName=tables["ResendRequestTable"],
        Key=key,
        UpdateExpression="SET answer = :old",
        ExpressionAttributeValues={":old": old},
    )
    # THEN the same key and body replay the first answer: the same status code, the same body
    assert api("POST", "/resends", resend_body(ids), headers={"Idempotency-Key": "order-old"}) == first
    assert upstream_state(emulator)["createResendCalls"] == {"order-old": 1}


def test_the_same_key_with_another_body_is_422(api, items):
    ids = items(521, 522)
    assert api("POST", "/resends", resend_body(ids[:1]), headers={"Idempotency-Key": "k-1"})[0] == 201
    status, body = api("POST", "/resends", resend_body(ids[1:]), headers={"Idempotency-Key": "k-1"})
    assert status == 422 and body["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (resend_body([]), ["returnInventoryIdList"]),
        (resend_body([1, 1]), ["returnInventoryIdList"]),
        (resend_body([-4]), ["returnInventoryIdList.0"]),
        (resend_body(["7"]), ["returnInventoryIdList.0"]),
        (resend_body([1], shipmentCountryCode="xyz"), ["resendShipment.shipmentCountryCode"]),
        (resend_body([1], shipmentCity="c" * 51), ["resendShipment.shipmentCity"]),
        (resend_body([1], shipmentName=""), ["resendShipment.shipmentName"]),
        ({"returnInventoryIdList": [1]}, ["resendShipment"]),
        ({**resend_body([1]), "surprise": 1}, ["surprise"]),
    ],
    ids=[
        "empty",
        "duplicate",
        "negative",
        "string-id",
        "country",
        "city-length",
        "blank-name",
        "no-shipment",
        "unknown-field",
    ],
)
def test_invalid_requests_are_422_with_field_paths_and_nothing_goes_upstream(api, emulator, tables, body, fields):
    status, answer = api("POST", "/resends", body)
    assert status == 422
    assert [e["field"] for e in answer["errors"]] == fields
    assert upstream_state(emulator)["createResendCalls"] == {}


def test_unparseable_json_is_400(api, tables):
    status, body = api("POST", "/resends", raw="{nope")
    assert status == 400 and body["errors"] == []


def test_more_items_than_the_cap_is_422(api, items):
    ids = items(531, 532, 533, 534, 535, 536)
    status, body = api("POST", "/resends", resend_body(ids))
    assert status == 422 and body["errors"][0]["field"] == "returnInventoryIdList"
    assert "at most 5" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"handlingCode": "rtn"}, "handling"),
        ({"handlingStatusCode": "inProgress"}, "handling"),
        ({"inStock": False}, "not in stock"),
        ({"pendingVas": True}, "VAS"),
        ({"otherWorkflow": "recall"}, "recall"),
        ({"otherWorkflow": "consolidation"}, "consolidation"),
        ({"fraudFlag": {"isFraudulent": True, "reasonCode": "serialMismatch"}}, "fraudFlag"),
    ],
)
def test_an_ineligible_item_is_422_naming_it(api, items, emulator, values, reason):
    good, bad = items(541), items(542, **values)
    status, body = api("POST", "/resends", resend_body(good + bad))
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["returnInventoryIdList.1"]
    assert reason in body["errors"][0]["message"]
    assert upstream_state(emulator)["createResendCalls"] == {}


def test_unknown_items_and_mixed_warehouses_are_422(api, items):
    known = items(551) + items(552, warehouseId=5)
    status, body = api("POST", "/resends", resend_body([*known, 559]))
    assert status == 422
    fields = [e["field"] for e in body["errors"]]
    assert "returnInventoryIdList.2" in fields and "returnInventoryIdList" in fields


def test_a_return_service_type_is_refused_and_says_so(api, items):
    ids = items(561)
    status, body = api("POST", "/resends", resend_body(ids, shipmentServiceType="RETURN_USPS_GA_NJ"))
    assert status == 422
    assert body["errors"][0]["field"] == "resendShipment.shipmentServiceType"
    assert "return service types" in body["errors"][0]["message"]


def test_a_service_type_that_does_not_ship_to_the_country_is_refused(api, items):
    ids = items(562)
    status, body = api("POST", "/resends", resend_body(ids, shipmentCountryCode="deu"))
    assert status == 422 and "does not ship to deu" in body["errors"][0]["message"]


def test_an_item_held_by_another_request_is_409_naming_the_holder(api, items, emulator):
    ids = items(571, 572)
    _, first = api("POST", "/resends", resend_body(ids[:1]))
    status, body = api("POST", "/resends", resend_body(ids))
    assert status == 409
    assert body["conflicts"] == [{"returnInventoryId": 571, "resendRequestId": first["resendRequestId"]}]
    assert sum(upstream_state(emulator)["createResendCalls"].values()) == 1


def test_an_upstream_refusal_is_rejected_and_releases_the_items(api, items, emulator):
    ids = items(581)
    fault(
        emulator,
        "createResend",
        kind="softError",
        errorCode="VALIDATION_FAILED",
        error={"resendShipment.shipmentCity": "City is not served"},
    )
    status, body = api("POST", "/resends", resend_body(ids))
    assert status == 422 and body["status"] == "REJECTED"
    assert body["upstream"]["errorCode"] == "VALIDATION_FAILED"
    assert body["errors"] == [{"field": "resendShipment.shipmentCity", "message": "City is not served"}]
    assert items.store.get(581, consistent=True).active_resend_request_id is None
    _, read = api("GET", f"/resends/{body['resendRequestId']}")
    assert read["status"] == "REJECTED" and read["lastError"]["errorCode"] == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "http5xx", "status": 503},
        {"kind": "http429", "retryAfter": 2},
        {"kind": "reset"},
        {"kind": "timeoutAfterCommit", "seconds": 2},
    ],
    ids=["5xx", "429", "reset", "timeout-after-commit"],
)
def test_a_transient_failure_is_202_pending_and_queued_for_retry(api, items, emulator, retry_queue, spec):
    ids = items(591)
    fault(emulator, "createResend", **spec)
    status, body = api("POST", "/resends", resend_body(ids))
    assert (status, body["status"]) == (202, "PENDING")
    _, read = api("GET", f"/resends/{body['resendRequestId']}")
    assert read["attempts"] == 1 and read["lastError"]["detail"]
    assert items.store.get(591, consistent=True).active_resend_request_id == body["resendRequestId"]
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=retry_queue, AttributeNames=["All"])["Attributes"]
    queued = int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesDelayed"])
    assert queued == 1


def test_cancel_a_submitted_resend_releases_the_items_and_only_once(api, items, emulator):
    ids = items(601)
    _, created = api("POST", "/resends", resend_body(ids))
    request_id = created["resendRequestId"]
    status, body = api("POST", f"/resends/{request_id}/cancel")
    assert (status, body["status"]) == (200, "CANCELED")
    assert items.store.get(601, consistent=True).active_resend_request_id is None
    assert api("POST", f"/resends/{request_id}/cancel")[0] == 409
    assert api("POST", "/resends/nope/cancel")[0] == 404


def test_a_canceled_resends_items_are_eligible_again_at_once_and_can_be_resent(api, items, emulator):
    ids = items(603, 604, handlingCode="tbc")
    _, created = api("POST", "/resends", resend_body(ids))
    assert created["status"] == "SUBMITTED"
    assert api("GET", "/inventories/603")[1]["handlingCode"] == "rsd"
    status, _ = api("POST", f"/resends/{created['resendRequestId']}/cancel")
    assert status == 200
    for inventory_id in ids:
        _, view = api("GET", f"/inventories/{inventory_id}")
        assert (view["handlingCode"], view["handlingStatusCode"]) == ("tbc", "pending")  # as when it was reserved
        assert view["activeResendRequestId"] is None and view["eligibleForResend"] is True
    status, again = api("POST", "/resends", resend_body(ids))
    assert (status, again["status"]) == (201, "SUBMITTED"), again
    assert again["resendRequestId"] != created["resendRequestId"]


def test_cancel_refused_upstream_after_dispatch_is_409(api, items, emulator):
    ids = items(602)
    _, created = api("POST", "/resends", resend_body(ids))
    requests.post(
        f"{emulator.url}/_emulator/resends/{created['resendId']}/advance", json={"to": "inProgress"}, timeout=5
    )
    status, body = api("POST", f"/resends/{created['resendRequestId']}/cancel")
    assert status == 409 and "refused" in body["message"]
    assert items.store.get(602, consistent=True).active_resend_request_id == created["resendRequestId"]


def test_unknown_resends_are_404(api, tables):
    assert api("GET", "/resends/nope")[0] == 404
    assert api("GET", "/resends", query={"idempotencyKey": "never-used"})[0] == 404


def test_service_types_are_cached_so_upstream_is_not_asked_again(api, tables, emulator):
    status, body = api("GET", "/service-types", query={"warehouseId": "2"})
    assert status == 200
    codes = {item["serviceTypeCode"] for item in body["items"]}
    assert "SHIPMENT_USPS_GA_SIG_NJ" in codes and not any(code.startswith("RETURN_") for code in codes)
    fault(emulator, "getAvailableShipmentServiceType", kind="http5xx", status=500)
    assert api("GET", "/service-types", query={"warehouseId": "2"}) == (200, body)


def test_service_types_unavailable_and_uncached_is_503(api, tables, emulator):
    fault(emulator, "getAvailableShipmentServiceType", kind="http5xx", status=500)
    status, body = api("GET", "/service-types", query={"warehouseId": "5"})
    assert status == 503 and body["message"]


def _refs(response: dict) -> set[str]:
    schema = response["content"]["application/json"]["schema"]
    return {entry["$ref"].rsplit("/", 1)[1] for entry in schema.get("anyOf", [schema])}


def test_the_openapi_document_is_generated_from_the_code(api, tables):
    status, document = api("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    assert {"/resends", "/resends/{resendRequestId}", "/inventories", "/service-types"} <= set(document["paths"])
    create = document["paths"]["/resends"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("CreateResendRequest")
    assert _refs(create["responses"]["422"]) == {"ErrorBody", "RejectedBody"}  # a field-error body or REJECTED
    assert _refs(create["responses"]["409"]) == {"ReservationConflictBody", "ErrorBody"}
    assert set(create["responses"]["201"]["links"]) == {"GetResend", "CancelResend"}
    assert _refs(document["paths"]["/inventories"]["get"]["responses"]["422"]) == {"ErrorBody"}
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {"type": "apiKey", "name": "x-api-key", "in": "header"}


def test_every_post_documents_the_refusals_of_an_unreadable_body(api, tables):
    # GIVEN the document / THEN every POST, keyed or operator, documents what refuse_unreadable_body answers
    # before any route runs (keyed_route / operator_route with takes_body)
    _, document = api("GET", "/openapi.json")
    posts = {path: operations["post"] for path, operations in document["paths"].items() if "post" in operations}
    assert {"/resends", "/sync/inventories", "/deliveries/{deliveryId}/replay"} <= set(posts)
    for path, operation in posts.items():
        assert {"400", "413", "415"} <= set(operation["responses"]), path


def test_every_keyed_operation_declares_the_key_and_api_gateways_403(api, tables, template):
    _, document = api("GET", "/openapi.json")
    # the operator routes are AWS_IAM in template.yaml: SigV4, not the key
    iam = {(r.method.lower(), r.path) for r in template.api_routes() if r.authorizer == "AWS_IAM"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            assert "ErrorBody" in _refs(responses["422"]), (method, path)
            if path == "/health":  # public, as in template.yaml
                assert "security" not in operation and "403" not in responses
                continue
            scheme = "SigV4" if (method, path) in iam else "ApiKey"
            assert operation["security"] == [{scheme: []}], (method, path)
            assert _refs(responses["403"]) == {"GatewayErrorBody"}, (method, path)
    gateway_body = document["components"]["schemas"]["GatewayErrorBody"]
    assert gateway_body["required"] == ["message"] and set(gateway_body["properties"]) == {"message"}


def test_the_docs_page_is_powertools_swagger_ui_with_its_assets_inlined(api, tables):
    status, page = api("GET", "/docs")
    assert status == 200 and "SwaggerUIBundle" in page
    assert "cdn." not in page and "<script src=" not in page and 'rel="stylesheet" href=' not in page
    assert '"/resends/{resendRequestId}/cancel"' in page  # the document is embedded
