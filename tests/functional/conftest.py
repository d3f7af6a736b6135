"""Functional fixtures: the handlers over moto's in-process AWS with the tables and secret built from template.yaml.

Handlers are imported with exactly the environment the template gives their
function, so tests cannot drift from the infrastructure.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from types import ModuleType

import boto3
import pytest
import requests
from moto import mock_aws

from local import settings as local_settings
from local.emulator import EmulatorServer
from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.domain import inventory, signature, timestamps
from rh_common.domain.webhook_events import InventoryFacts
from tests.events.loader import load_event
from tests.support.call_counts import Calls
from tests.support.resend import ON_HOLD, WEBHOOK_URL, T, handler_caller

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    """moto's in-process AWS; fresh clients and caches for every test."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name, value in local_settings.DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with mock_aws():
        base.client.cache_clear()
        _clear_parameter_caches()
        yield
    base.client.cache_clear()
    _clear_parameter_caches()


def _clear_parameter_caches() -> None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    parameters.clear_caches()
    DEFAULT_PROVIDERS.clear()


@pytest.fixture
def tables(aws, template) -> dict[str, str]:
    """Every DynamoDB table of template.yaml, created in moto: {logical id: name}."""
    client = boto3.client("dynamodb")
    for spec in template.tables():
        client.create_table(**spec.create_kwargs)
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
    return {spec.logical_id: spec.name for spec in template.tables()}


@pytest.fixture
def signing_key() -> str:
    return local_settings.DEV_RH_SIGNING_KEY


@pytest.fixture
def secret(aws, template, signing_key) -> str:
    """The Return Helper secret, filled as an operator would: {"apiKey", "apiToken", "signingKeys"}."""
    spec = template.secrets()[0]
    value = {"apiKey": "k", "apiToken": "t", "signingKeys": [signing_key]}
    return boto3.client("secretsmanager").create_secret(Name=spec.name, SecretString=json.dumps(value))["ARN"]


@pytest.fixture
def store(tables):
    """The inventory table's store (tests/support/inventory_seed.seed writes items through it)."""
    return InventoryStore(tables["InventoryTable"])


@pytest.fixture
def load_function(monkeypatch, template, tables, secret):
    """Import a function's handler module with the environment template.yaml gives it."""

    def load(logical_id: str, **overrides: str) -> ModuleType:
        spec = template.functions()[logical_id]
        for name, value in {**spec.environment, "RH_SECRET_ID": secret, **overrides}.items():
            monkeypatch.setenv(name, value)
        module_name, _ = spec.handler.rsplit(".", 1)
        for sibling in spec.code_dir.glob("*.py"):  # imported afresh, so they read this test's environment
            sys.modules.pop(sibling.stem, None)
        path = spec.code_dir / f"{module_name}.py"
        monkeypatch.syspath_prepend(str(spec.code_dir))  # a handler's sibling modules, as in Lambda
        unique = f"fn_{logical_id}_{uuid.uuid4().hex}"
        module_spec = importlib.util.spec_from_file_location(unique, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[unique] = module
        module_spec.loader.exec_module(module)
        return module

    return load


class FakeLambdaContext:
    function_name = "test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000  # room for the reconciler's work (it starts none with less than an upstream timeout + 5 s)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


# ------------------------------------------------------------------ resends: emulator upstream, retry queue, items


@pytest.fixture
def emulator():
    # Credentials as the `secret` fixture holds them; webhooks are not needed here.
    server = EmulatorServer("127.0.0.1", 0, "http://127.0.0.1:9/unused", "ZGV2", "k", "t")
    server.start()
    yield server
    server.stop()


def _queue(template, logical_id: str) -> str:
    """A queue of template.yaml, created in moto: its URL."""
    [spec] = [q for q in template.queues() if q.logical_id == logical_id]
    return boto3.client("sqs").create_queue(QueueName=spec.name)["QueueUrl"]


@pytest.fixture
def retry_queue(aws, template):
    return _queue(template, "ResendRetryQueue")


@pytest.fixture
def sync_queue(aws, template):
    return _queue(template, "InventorySyncQueue")


@pytest.fixture
def replay_queue(aws, template):
    return _queue(template, "DeliveryReplayQueue")


@pytest.fixture
def items(tables, emulator):
    """Register on-hold items both upstream (emulator) and in our state, as webhooks would have."""
    store = InventoryStore(tables["InventoryTable"])

    def make(*ids, **values):
        for inventory_id in ids:
            facts = {**ON_HOLD, **values}
            store.apply(InventoryFacts(inventory_id, facts), inventory.event_version(T, "seed"), T)
            requests.post(
                f"{emulator.url}/_emulator/inventories",
                json={
                    "returnInventoryId": inventory_id,
                    "warehouseId": facts["warehouseId"],
                    "deliver": False,
                    "handlingCode": "ohd",
                },
                timeout=5,
            ).raise_for_status()
        return list(ids)

    make.store = store
    return make


@pytest.fixture
def automation_dlq(aws, template):
    """The resend request queue's DLQ, where the worker moves what is not an intake shape."""
    return _queue(template, "ResendRequestDLQ")


@pytest.fixture
def load_with_upstream(load_function, emulator, retry_queue, automation_dlq):
    """Load a resend function as `load_function` does, with the emulator upstream, the retry queue and the
    automation queue's DLQ."""

    def load(logical_id: str, **overrides: str) -> ModuleType:
        queues = {"RESEND_RETRY_QUEUE_URL": retry_queue, "RESEND_REQUEST_DLQ_URL": automation_dlq}
        return load_function(logical_id, RH_API_BASE_URL=emulator.api_base, **{**queues, **overrides})

    return load


@pytest.fixture
def worker(load_with_upstream):
    return load_with_upstream("ResendWorkerFunction")


@pytest.fixture
def api(load_with_upstream, lambda_context):
    """The merchant API's handler called with API Gateway REST events: call(method, path, ...) -> (status, body)."""
    return handler_caller(load_with_upstream("MerchantApiFunction", UPSTREAM_TIMEOUT_SECONDS="1"), lambda_context)


@pytest.fixture
def calls(api, emulator, monkeypatch):
    """The calls the merchant API makes from here on, to DynamoDB and to Return Helper, counted."""
    return Calls(monkeypatch, emulator.api_base)


# ------------------------------------------------------------------ webhooks: signed deliveries


@pytest.fixture
def webhook(load_function):
    return load_function("WebhookFunction", WEBHOOK_PUBLIC_URL=WEBHOOK_URL)


@pytest.fixture
def deliver(webhook, lambda_context, signing_key):
    """Send raw bytes as API Gateway would, signed unless told otherwise: (status, body)."""

    def send(
        raw: bytes,
        *,
        key=signing_key,
        url=WEBHOOK_URL,
        timestamp=None,
        base64_body=True,
        header_case=str.lower,
        event_overrides=None,
    ):
        event = copy.deepcopy(load_event("apigw_webhook_post"))
        headers = signature.signed_headers(key, url, raw, timestamp)
        event["headers"] = {header_case(k): v for k, v in headers.items()}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        event["isBase64Encoded"] = base64_body
        event["body"] = base64.b64encode(raw).decode() if base64_body else raw.decode()
        event.update(event_overrides or {})
        response = webhook.lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"])

    return send


@pytest.fixture
def report(deliver):
    """Deliver a signed resend/updateResendStatus webhook, `second`s after a start past the request's
    creation (our own "rsd" mark is dated then), as upstream's are; answers the webhook's body."""
    start = datetime.now(UTC) + timedelta(minutes=1)

    def send(resend_id, code, ids, second, tracking=None, error="", handling=(4, 0), shipment=None):
        code_, status_ = handling  # the rows' handling code and status (upstream numbers)
        payload = {
            "category": "resend",
            "action": "updateResendStatus",
            "eventTime": timestamps.upstream_iso(start + timedelta(seconds=second)),
            "resend": {"resendId": resend_id, "resendStatusCode": code},
            "resendShipmentList": [
                {**(shipment or {}), "resendId": resend_id, "trackingNumber": tracking, "error": error}
            ],
            "returnInventoryList": [
                {"returnInventoryId": i, "warehouseId": 2, "handlingCode": code_, "handlingStatusCode": status_}
                for i in ids
            ],
        }
        status, body = deliver(json.dumps(payload).encode())
        assert status == 200, body
        return body

    return send
