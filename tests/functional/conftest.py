"""Functional fixtures: the handlers over moto's in-process AWS with the tables and secret built from template.yaml.

Handlers are imported with exactly the environment the template gives their
function, so tests cannot drift from the infrastructure.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from types import ModuleType

import boto3
import pytest
import requests
from moto import mock_aws

from local import settings as local_settings
from local.emulator import EmulatorServer
from rh_common import inventory
from rh_common.adapters import dynamo
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.events import InventoryFacts
from tests.support.resend import ON_HOLD, T

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
        dynamo.client.cache_clear()
        _clear_parameter_caches()
        yield
    dynamo.client.cache_clear()
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
        return 10_000


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


@pytest.fixture
def retry_queue(aws, template):
    sqs = boto3.client("sqs")
    [spec] = [q for q in template.queues() if q.logical_id == "ResendRetryQueue"]
    return sqs.create_queue(QueueName=spec.name)["QueueUrl"]


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
