"""Unit fixtures: moto's in-process AWS with the tables and secret built from template.yaml.

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
from moto import mock_aws

from local import settings as local_settings
from local.template import LocalTemplate
from rh_common.adapters import dynamo

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
def template() -> LocalTemplate:
    return LocalTemplate.load()


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
        path = spec.code_dir / f"{module_name}.py"
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
