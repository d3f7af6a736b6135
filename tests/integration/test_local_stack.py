"""The local stack runs what template.yaml declares, and its gateway behaves like API Gateway.

Gateway behaviour is asserted through status codes the gateway itself produces, so
these tests hold whatever the handlers do (except /health, which is {"status": "ok"}).
The last part drives the Lambda worker pool directly with small throw-away handlers.
"""

from __future__ import annotations

import json
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local import settings as local_settings
from local.lambda_runtime import FunctionPool, _Spawner, worker_environment
from local.template import FunctionSpec, LocalTemplate

pytestmark = pytest.mark.integration

CONTRACT_KEYS = {
    "api",
    "apiKey",
    "webhookUrl",
    "webhookSignedUrl",
    "awsEndpoint",
    "dynamodbEndpoint",
    "region",
    "queues",
    "tables",
    "emulator",
    "eventBus",
    "operator",
}


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate.load()


# ------------------------------------------------------------------ resources from template.yaml


def test_stack_json_has_every_contract_key(stack, template):
    assert not CONTRACT_KEYS - set(stack), "stack.json lacks contract keys"
    assert stack["apiKey"] == local_settings.DEV_LOCAL_API_KEY
    assert stack["webhookUrl"] == stack["api"] + "/webhooks/returnhelper"
    assert stack["webhookSignedUrl"] == stack["webhookUrl"]  # no WEBHOOK_PUBLIC_URL: signed for where it arrives
    assert set(stack["tables"]) == {table.logical_id for table in template.tables()}
    assert set(stack["queues"]) == {queue.logical_id for queue in template.queues()}
    assert stack["dynamodbBackend"] in ("dynamodb-local", "moto")
    assert stack["eventBus"] == template.output("EventBusName")
    assert stack["operator"] == {
        "accessKeyId": local_settings.DEV_OPERATOR_ACCESS_KEY_ID,
        "secretAccessKey": local_settings.DEV_OPERATOR_SECRET_ACCESS_KEY,
        "region": stack["region"],
    }


def test_tables_match_the_template(stack, aws_client, template):
    dynamodb = aws_client("dynamodb")
    for logical_id, resource in template.resources("AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        table = dynamodb.describe_table(TableName=stack["tables"][logical_id])["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(props["AttributeDefinitions"], key=str)
        indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])}
        for declared in props.get("GlobalSecondaryIndexes", []):
            created = indexes[declared["IndexName"]]
            assert created["KeySchema"] == declared["KeySchema"]
            assert created["Projection"]["ProjectionType"] == declared["Projection"]["ProjectionType"]
        declared_stream = props.get("StreamSpecification")
        if declared_stream:
            assert table["StreamSpecification"] == {
                "StreamEnabled": True,
                "StreamViewType": declared_stream["StreamViewType"],
            }
        else:
            assert not table.get("StreamSpecification", {}).get("StreamEnabled")
        ttl = dynamodb.describe_time_to_live(TableName=stack["tables"][logical_id])["TimeToLiveDescription"]
        declared_ttl = props.get("TimeToLiveSpecification")
        if declared_ttl:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == declared_ttl["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_queue_redrive_policies_point_at_their_dlq(stack, aws_client, template):
    sqs = aws_client("sqs")
    redriven = {
        logical_id: r["Properties"]["RedrivePolicy"]
        for logical_id, r in template.resources("AWS::SQS::Queue").items()
        if "RedrivePolicy" in r.get("Properties", {})
    }
    assert "ResendRequestQueue" in redriven
    for logical_id, declared in redriven.items():
        attributes = sqs.get_queue_attributes(QueueUrl=stack["queues"][logical_id], AttributeNames=["All"])[
            "Attributes"
        ]
        dlq = declared["deadLetterTargetArn"]["Fn::GetAtt"][0]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=stack["queues"][dlq], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == declared["maxReceiveCount"]


def test_secret_holds_the_configured_credentials(aws_client, template):
    secrets = aws_client("secretsmanager")
    [secret] = template.secrets()
    value = json.loads(secrets.get_secret_value(SecretId=secret.name)["SecretString"])
    assert value == {
        "apiKey": local_settings.DEV_RH_API_KEY,
        "apiToken": local_settings.DEV_RH_API_TOKEN,
        "signingKeys": [local_settings.DEV_RH_SIGNING_KEY],
    }


# ------------------------------------------------------------------ gateway


def test_health_is_public_and_ok(api):
    response = api.get("/health", key=False)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("key", [False, "not-the-key"], ids=["no key", "wrong key"])
def test_keyed_route_is_forbidden_without_the_right_key(api, key):
    response = api.get("/inventories/1", key=key)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_keyed_route_with_the_key_reaches_the_function(api):
    assert api.get("/inventories/1").status_code != 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("DELETE", "/health"),
        ("GET", "/"),
        ("TRACE", "/health"),
        ("TRACE", "/resends"),
        ("PROPFIND", "/inventories/1"),
        ("CONNECT", "/nope"),
        ("PATCH", "/resends/x/cancel"),
    ],
)
def test_unknown_route_or_method_is_missing_authentication_token(api, method, path):
    response = api.request(method, path)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "Missing Authentication Token"}


def test_headers_too_large_for_the_gateway_are_a_json_4xx(stack):
    # The gateway's own refusal (no function runs), so not one of the document's answers: plain requests.
    response = requests.get(f"{stack['api']}/health", headers={"x-huge": "a" * 70_000}, timeout=10)
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"message"}


def test_concurrent_requests_are_all_served(api):
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: api.get("/health", key=False), range(20)))
    assert [response.status_code for response in responses] == [200] * 20


# ------------------------------------------------------------------ the worker pool, with throw-away handlers


def _function(tmp_path, source: str, *, timeout: int = 3, env: dict | None = None) -> tuple[FunctionSpec, dict]:
    code_dir = tmp_path / "fn"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(source))
    spec = FunctionSpec(
        logical_id="ProbeFunction",
        function_name="rh-local-ProbeFunction",
        code_dir=code_dir,
        handler="app.lambda_handler",
        runtime="python3.13",
        timeout=timeout,
        memory_size=256,
        environment=env or {},
        layer_dirs=(),
    )
    environment = worker_environment(
        spec,
        region="us-east-1",
        aws_endpoint="http://127.0.0.1:1",
        dynamodb_endpoint="http://127.0.0.1:2",
        parent_environ={"PATH": "/usr/bin:/bin", "SECRET_OF_THE_PARENT": "x"},
    )
    return spec, environment


@pytest.fixture
def spawner():
    spawner = _Spawner()
    yield spawner
    spawner.shutdown()


def test_worker_sees_only_its_function_environment_and_stdout_does_not_break_the_protocol(tmp_path, spawner):
    spec, env = _function(
        tmp_path,
        """
        import os, sys
        print('{"not": "a protocol message"}')  # what Powertools Metrics does with EMF
        def lambda_handler(event, context):
            print("more stdout")
            return {"env": dict(os.environ), "event": event, "remaining": context.get_remaining_time_in_millis(),
                    "name": context.function_name, "memory": context.memory_limit_in_mb}
    """,
        env={"TABLE": "rh-local-T"},
    )
    pool = FunctionPool(spec, env, spawner, "us-east-1")
    try:
        result = pool.invoke({"hello": "world"})
    finally:
        pool.stop()
    assert result.ok, result
    seen = result.payload["env"]
    assert seen["TABLE"] == "rh-local-T"
    assert seen["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert seen["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:2"
    assert seen["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    assert "SECRET_OF_THE_PARENT" not in seen
    assert seen["PYTHONPATH"] == str(spec.code_dir)
    assert result.payload["event"] == {"hello": "world"}
    assert 0 < result.payload["remaining"] <= 3000
    assert result.payload["name"] == "rh-local-ProbeFunction"


def test_handler_exception_is_an_error_and_the_worker_stays_warm(tmp_path, spawner):
    spec, env = _function(
        tmp_path,
        """
        import os
        def lambda_handler(event, context):
            if event.get("fail"):
                raise ValueError("boom")
            return os.getpid()
    """,
    )
    pool = FunctionPool(spec, env, spawner, "us-east-1")
    try:
        first = pool.invoke({})
        failed = pool.invoke({"fail": True})
        after = pool.invoke({})
    finally:
        pool.stop()
    assert failed.status == "error"
    assert (failed.error_type, failed.error_message) == ("ValueError", "boom")
    assert first.payload == after.payload  # same process: no new cold start


def test_a_handler_past_its_timeout_is_killed_and_reported(tmp_path, spawner):
    spec, env = _function(
        tmp_path,
        """
        import os, time
        def lambda_handler(event, context):
            if event.get("sleep"):
                time.sleep(30)
            return os.getpid()
    """,
        timeout=1,
    )
    pool = FunctionPool(spec, env, spawner, "us-east-1")
    try:
        before = pool.invoke({})
        timed_out = pool.invoke({"sleep": True})
        after = pool.invoke({})
    finally:
        pool.stop()
    assert timed_out.status == "timeout"
    assert after.ok and after.payload != before.payload  # the hung environment was replaced


def test_import_error_is_reported_as_init_error(tmp_path, spawner):
    spec, env = _function(tmp_path, "import not_a_module_anywhere\n")
    pool = FunctionPool(spec, env, spawner, "us-east-1")
    try:
        result = pool.invoke({})
    finally:
        pool.stop()
    assert result.status == "error"
    assert result.error_type == "Runtime.ImportModuleError"


def test_concurrent_invocations_grow_the_pool_up_to_its_limit(tmp_path, spawner):
    spec, env = _function(
        tmp_path,
        """
        import os, time
        def lambda_handler(event, context):
            time.sleep(0.3)
            return os.getpid()
    """,
    )
    pool = FunctionPool(spec, env, spawner, "us-east-1", max_workers=2)
    try:
        with ThreadPoolExecutor(max_workers=5) as threads:
            results = list(threads.map(lambda _: pool.invoke({}), range(5)))
    finally:
        pool.stop()
    assert all(result.ok for result in results)
    assert len({result.payload for result in results}) == 2
