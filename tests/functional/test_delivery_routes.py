"""GET /deliveries?status= and POST /deliveries/{id}/replay through the real merchant API handler."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from local.gateway import LocalApiGateway
from local.lambda_runtime import InvocationResult
from local.settings import LocalSettings
from rh_common.domain import timestamps
from rh_common.domain.deliveries import DeliveryOutcome
from tests.events.loader import load_event_bytes
from tests.support.queue_drain import drain
from tests.support.resend import resend_body


def test_a_non_json_delivery_is_listed_without_its_body_and_can_be_replayed(deliver, api):
    delivery_id = deliver(b"this is not JSON, phone +1 555 0100")[1]["deliveryId"]
    status, page = api("GET", "/deliveries", query={"status": "unprocessable"})
    assert status == 200 and page["nextToken"] is None
    [listed] = page["items"]
    assert set(listed) == {"deliveryId", "status", "category", "action", "eventTime", "receivedAt", "reason"}
    assert (listed["deliveryId"], listed["status"], listed["category"]) == (delivery_id, "unprocessable", None)
    assert "555" not in json.dumps(page)
    assert api("POST", f"/deliveries/{delivery_id}/replay") == (
        200,
        {"deliveryId": delivery_id, "outcome": "unprocessable"},
    )


def test_an_apply_failed_delivery_replayed_becomes_accepted(deliver, api, webhook, tables, monkeypatch):
    raw = load_event_bytes("newInventoryCreated")
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", _boom)
        delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        deliver(raw)
    status, page = api("GET", "/deliveries", query={"status": "applyFailed"})
    assert [(i["deliveryId"], i["category"], i["reason"]) for i in page["items"]] == [
        (delivery_id, "newInventoryCreated", "EndpointConnectionError")
    ]
    assert api("POST", f"/deliveries/{delivery_id}/replay") == (200, {"deliveryId": delivery_id, "outcome": "applied"})
    assert api("GET", "/deliveries", query={"status": "applyFailed"})[1]["items"] == []
    stored = boto3.client("dynamodb").get_item(
        TableName=tables["InventoryTable"], Key={"returnInventoryId": {"N": "20251"}}
    )["Item"]
    assert stored["inStock"] == {"BOOL": True}
    accepted = api("GET", "/deliveries", query={"status": "accepted"})[1]["items"]
    assert [i["deliveryId"] for i in accepted] == [delivery_id]


def test_listing_pages_newest_first_and_refuses_bad_input(deliver, api):
    other = {"category": "lr", "action": "labelCreated", "eventTime": "2025-03-03T08:15:42Z"}
    ids = [deliver(raw)[1]["deliveryId"] for raw in (load_event_bytes("labelGenerated"), json.dumps(other).encode())]
    status, first = api("GET", "/deliveries", query={"status": "ignored", "limit": "1"})
    assert status == 200 and len(first["items"]) == 1 and first["nextToken"]
    assert first["items"][0]["deliveryId"] in ids
    assert api("GET", "/deliveries", query={"status": "nope"})[0] == 422
    status, body = api("GET", "/deliveries", query={"status": "ignored", "nextToken": "garbage"})
    assert status == 422 and body["errors"][0]["field"] == "nextToken"
    status, body = api("GET", "/deliveries", query={"status": "accepted", "nextToken": first["nextToken"]})
    assert status == 422


def test_replaying_an_unknown_delivery_is_404(api):
    status, body = api("POST", "/deliveries/sha256:nope/replay")
    assert status == 404 and body["errors"] == []


def _boom(*args, **kwargs):
    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")  # unavailable


@pytest.fixture
def operator_stack(load_with_upstream, lambda_context, template, sync_queue, replay_queue, tmp_path):
    """The merchant API function behind the local gateway (its AWS_IAM routes check SigV4), in-process,
    and a stack.json naming it and the operator: what `--stack` gives the ops CLIs."""
    merchant_api = load_with_upstream(
        "MerchantApiFunction",
        UPSTREAM_TIMEOUT_SECONDS="1",
        SYNC_QUEUE_URL=sync_queue,
        DELIVERY_REPLAY_QUEUE_URL=replay_queue,
    )
    routes = [route for route in template.api_routes() if route.function_id == "MerchantApiFunction"]
    operator = LocalSettings.from_env({}).operator

    def invoke(function_id: str, event: dict) -> InvocationResult:
        return InvocationResult("ok", merchant_api.lambda_handler(event, lambda_context))

    gateway = LocalApiGateway(routes, invoke, port=0, api_key="key", operator=operator)
    gateway.start()
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({"api": gateway.url, "apiKey": "key", "operator": operator.as_json()}))
    yield str(stack_file)
    gateway.stop()


def test_the_operator_command_lists_and_replays_over_the_signed_routes(deliver, webhook, operator_stack, monkeypatch):
    from ops import deliveries as tool

    raw = load_event_bytes("rinv_completeInventoryHandling")
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", _boom)
        deliver(raw)
    stack = ["--stack", operator_stack]
    lines: list[str] = []
    assert tool.main([*stack, "list", "--status", "applyFailed", "--json"], out=lines.append) == 0
    [listed] = json.loads(lines[0])["items"]
    assert "body" not in listed and listed["category"] == "rinv"
    lines.clear()
    assert tool.main([*stack, "replay", listed["deliveryId"]], out=lines.append) == 0
    assert json.loads(lines[0]) == {"deliveryId": listed["deliveryId"], "outcome": "applied"}
    assert tool.main([*stack, "replay", "sha256:unknown"], out=lines.append) == 2  # 404
    assert tool.main(["--api-url", "http://127.0.0.1:9", "list", "--status", "accepted"], out=lines.append) == 2


def test_replaying_a_failed_report_through_the_operator_command_gives_the_items_their_handling_back(
    worker, items, deliver, webhook, operator_stack, monkeypatch
):
    from ops import deliveries as tool

    # GIVEN a submitted resend of an item that was tbc (now rsd: reserved by it)
    items(871, handlingCode="tbc")
    submitted = worker.service.intake("cli-871", resend_body([871])).body
    assert items.store.get(871, consistent=True).values["handlingCode"] == "rsd"
    # AND Return Helper's FAILED report for it, stored but not applied (the inventory table failed)
    failed = {
        "category": "resend",
        "action": "updateResendStatus",
        "eventTime": timestamps.upstream_iso(datetime.now(UTC) + timedelta(minutes=1)),
        "resend": {"resendId": submitted["resendId"], "resendStatusCode": 4},
        "resendShipmentList": [{"resendId": submitted["resendId"], "trackingNumber": None, "error": "bad address"}],
        "returnInventoryList": [
            {"returnInventoryId": 871, "warehouseId": 2, "handlingCode": 3, "handlingStatusCode": 1}
        ],
    }
    raw = json.dumps(failed).encode()
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", _boom)
        assert deliver(raw)[0] == 500
    # WHEN the operator replays it with the CLI
    lines: list[str] = []
    delivery_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert tool.main(["--stack", operator_stack, "replay", delivery_id], out=lines.append) == 0
    assert json.loads(lines[0])["outcome"] == "applied"
    # THEN the resend is FAILED and the item is free with the handling it had before the resend
    assert worker.service.get(submitted["resendRequestId"]).body["status"] == "FAILED"
    record = items.store.get(871, consistent=True)
    assert (record.values["handlingCode"], record.values["handlingStatusCode"]) == ("tbc", "pending")
    assert record.active_resend_request_id is None


def test_the_operator_command_replays_in_bulk_and_follows_the_replay(
    deliver, webhook, operator_stack, replay_queue, load_with_upstream, lambda_context, monkeypatch
):
    from ops import deliveries as tool

    raw = load_event_bytes("newInventoryCreated")
    with monkeypatch.context() as patch:
        patch.setattr(webhook.ingestor._inventories, "apply_together", _boom)
        assert deliver(raw)[0] == 500
    stack, lines = ["--stack", operator_stack], []
    today = datetime.now(UTC).date().isoformat()
    found = ["list", "--inventory-id", "20251", "--since", today, "--json"]
    assert tool.main([*stack, *found], out=lines.append) == 0
    assert [i["status"] for i in json.loads(lines.pop())["items"]] == ["applyFailed"]
    bulk = ["replay", "--status", "applyFailed", "--since", today, "--no-wait"]
    assert tool.main([*stack, *bulk], out=lines.append) == 0
    started = json.loads(lines.pop())
    assert started["status"] == "RUNNING"
    worker = load_with_upstream("ResendWorkerFunction", DELIVERY_REPLAY_QUEUE_URL=replay_queue)
    assert drain(worker, replay_queue, lambda_context) == 1
    assert tool.main([*stack, "replay-status", started["replayId"]], out=lines.append) == 0
    assert json.loads(lines.pop()) == {
        **started,
        "status": "DONE",
        "matched": 1,
        "replayed": 1,
        "outcomes": {"applied": 1},
    }
    # Waiting (the default) follows the replay to DONE: a second one finds nothing left to apply.
    assert (
        tool.main([*stack, *bulk[:-1]], out=lines.append, sleep=lambda _: drain(worker, replay_queue, lambda_context))
        == 0
    )
    assert json.loads(lines.pop())["status"] == "DONE"
    assert tool.main([*stack, "replay", "--status", "applyFailed"], out=lines.append) == 2  # no --since
    assert tool.main([*stack, "replay", "x", "--status", "applyFailed", "--since", today], out=lines.append) == 2
    assert tool.main([*stack, "replay-status", "no-such-replay"], out=lines.append) == 2  # 404


def test_the_sync_command_starts_and_follows_a_sync(operator_stack):
    from ops import sync as tool

    lines: list[str] = []
    assert tool.main(["--stack", operator_stack, "start", "--since", "2025-01-01"], out=lines.append) == 0
    started = json.loads(lines[0])
    assert started["status"] == "RUNNING"
    lines.clear()
    assert tool.main(["--stack", operator_stack, "status", started["syncId"]], out=lines.append) == 0
    assert json.loads(lines[0])["syncId"] == started["syncId"]
    assert tool.main(["--stack", operator_stack, "status", "no-such-sync"], out=lines.append) == 2  # 404
    assert tool.main(["--stack", operator_stack, "start", "--since", "yesterday-ish"], out=lines.append) == 2  # 422


def test_the_openapi_document_declares_the_new_routes_and_their_answers(api):
    status, document = api("GET", "/openapi.json")
    assert status == 200
    paths = document["paths"]
    assert set(paths["/deliveries"]["get"]["responses"]) >= {"200", "422"}
    assert set(paths["/deliveries/{deliveryId}/replay"]["post"]["responses"]) >= {"200", "404", "503"}
    assert set(paths["/deliveries/replay"]["post"]["responses"]) >= {"202", "422"}
    assert set(paths["/deliveries/replay/{replayId}"]["get"]["responses"]) >= {"200", "404"}
    searched_by = {parameter["name"] for parameter in paths["/deliveries"]["get"]["parameters"]}
    assert searched_by >= {"status", "category", "since", "until", "inventoryId", "resendId", "nextToken"}
    assert set(paths["/sync/inventories"]["post"]["responses"]) >= {"202", "422"}
    assert set(paths["/sync/inventories/{syncId}"]["get"]["responses"]) >= {"200", "404"}


OPERATOR_OPERATIONS = [
    ("/deliveries", "get"),
    ("/deliveries/{deliveryId}/replay", "post"),
    ("/deliveries/replay", "post"),
    ("/deliveries/replay/{replayId}", "get"),
    ("/sync/inventories", "post"),
    ("/sync/inventories/{syncId}", "get"),
]


def test_the_operator_routes_are_documented_as_sigv4_not_the_api_key(api):
    status, document = api("GET", "/openapi.json")
    assert status == 200
    schemes = document["components"]["securitySchemes"]
    assert schemes["SigV4"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "awsSigv4",
        "description": schemes["SigV4"]["description"],
    }
    for path, method in OPERATOR_OPERATIONS:
        operation = document["paths"][path][method]
        assert operation["security"] == [{"SigV4": []}], (path, method)
        forbidden = operation["responses"]["403"]
        assert "SigV4" in forbidden["description"], (path, method)
    # every other keyed operation still declares the key
    keyed = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"ApiKey": []}]
    ]
    assert ("/resends", "post") in keyed and not set(keyed) & set(OPERATOR_OPERATIONS)


def test_a_replay_is_documented_as_answering_what_the_webhook_answers(api):
    # the route's model spells the webhook's answers again (a route file of its own): the document shows both agree
    _, document = api("GET", "/openapi.json")
    outcome = document["components"]["schemas"]["ReplayOutcome"]["properties"]["outcome"]
    assert set(outcome["enum"]) == {answer.value for answer in DeliveryOutcome}
