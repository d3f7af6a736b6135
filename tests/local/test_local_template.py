"""The local stack's view of template.yaml: what it creates and runs is what the template says."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from local.settings import PROJECT_ROOT, LocalSettings
from local.template import LocalTemplate, Physical, TemplateError, load_document, parse_yaml


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate.load()


@pytest.fixture(scope="module")
def declared() -> dict:
    """template.yaml's Resources as written (long-form intrinsics)."""
    return load_document(PROJECT_ROOT / "template.yaml")["Resources"]


# ------------------------------------------------------------------ short-form tags


def test_short_form_tags_load_as_long_form():
    document = parse_yaml(
        textwrap.dedent("""
        a: !Ref Thing
        b: !GetAtt Queue.Arn
        c: !Sub "${AWS::Region}-x"
        d: !If [Cond, !Ref A, !Ref B]
        e: !Not [!Equals [!Ref P, ""]]
    """)
    )
    assert document["a"] == {"Ref": "Thing"}
    assert document["b"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert document["c"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert document["d"] == {"Fn::If": ["Cond", {"Ref": "A"}, {"Ref": "B"}]}
    assert document["e"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]}


def test_what_template_yaml_does_not_use_fails_loudly():
    with pytest.raises(yaml.constructor.ConstructorError):
        parse_yaml("a: !Join [',', [x, y]]")
    synthetic = {"Resources": {}, "Outputs": {"X": {"Value": {"Fn::Join": [",", ["x"]]}}}}
    with pytest.raises(TemplateError):
        LocalTemplate(synthetic, Path("/tmp/project")).output("X")


# ------------------------------------------------------------------ resources


def test_tables_are_created_as_declared(template, declared):
    tables = {table.logical_id: table for table in template.tables()}
    expected = {logical_id for logical_id, r in declared.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == expected
    for logical_id, table in tables.items():
        props = declared[logical_id]["Properties"]
        kwargs = table.create_kwargs
        assert table.name == kwargs["TableName"] == f"rh-local-{logical_id}"
        assert kwargs["KeySchema"] == props["KeySchema"]
        assert kwargs["AttributeDefinitions"] == props["AttributeDefinitions"]
        assert kwargs["BillingMode"] == props["BillingMode"]
        assert kwargs.get("GlobalSecondaryIndexes", []) == [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in props.get("GlobalSecondaryIndexes", [])
        ]
    assert tables["InventoryTable"].create_kwargs["GlobalSecondaryIndexes"][0]["IndexName"] == "ByWarehouse"
    assert tables["DeliveryTable"].ttl_attribute == "expiresAt"
    assert tables["InventoryTable"].ttl_attribute is None


def test_queues_come_dead_letter_queue_first_with_redrive_to_its_arn(template, declared):
    queues = {queue.logical_id: queue for queue in template.queues()}
    order = list(queues)
    assert set(queues) == {logical_id for logical_id, r in declared.items() if r["Type"] == "AWS::SQS::Queue"}
    redriven = {
        logical_id: r["Properties"]["RedrivePolicy"]
        for logical_id, r in declared.items()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    assert "ResendRequestQueue" in redriven  # the contract's automation queue ends poison messages in a DLQ
    for logical_id, policy in redriven.items():
        dlq = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert order.index(dlq) < order.index(logical_id)
        assert json.loads(queues[logical_id].attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:123456789012:rh-local-{dlq}",
            "maxReceiveCount": policy["maxReceiveCount"],
        }
        assert queues[logical_id].depends_on == (dlq,)
    main, props = queues["ResendRequestQueue"], declared["ResendRequestQueue"]["Properties"]
    assert main.attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
    assert main.attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])


def test_secret(template):
    [secret] = template.secrets()
    assert (secret.logical_id, secret.name) == ("ReturnHelperSecret", "rh-local-ReturnHelperSecret")


PUBLIC_PATHS = {"/health", "/webhooks/returnhelper", "/openapi.json", "/docs"}  # the contract's keyless routes


def test_api_routes_and_their_api_key_flags(template, declared):
    routes = {(route.method, route.path): route for route in template.api_routes()}
    assert set(routes) == {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for resource in declared.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    }
    assert {
        ("GET", "/health"),
        ("POST", "/webhooks/returnhelper"),
        ("GET", "/inventories"),
        ("GET", "/inventories/{returnInventoryId}"),
    } <= set(routes)
    assert not routes["GET", "/health"].api_key_required
    assert not routes["POST", "/webhooks/returnhelper"].api_key_required
    assert routes["GET", "/inventories"].api_key_required
    assert routes["GET", "/inventories/{returnInventoryId}"].api_key_required
    for (_, path), route in routes.items():
        # the operator routes are AWS_IAM instead (tests/local/test_local_sigv4.py)
        assert route.api_key_required == (path not in PUBLIC_PATHS and route.authorizer is None), path
    assert routes["POST", "/webhooks/returnhelper"].function_id == "WebhookFunction"
    assert {route.stage for route in routes.values()} == {"v1"}


# ------------------------------------------------------------------ functions


def test_functions_merge_globals(template, declared):
    functions = template.functions()
    assert set(functions) == {
        logical_id for logical_id, r in declared.items() if r["Type"] == "AWS::Serverless::Function"
    }
    webhook = functions["WebhookFunction"]
    assert webhook.code_dir == PROJECT_ROOT / "functions" / "webhook"
    assert webhook.handler == "app.lambda_handler"
    assert webhook.runtime == "python3.13"
    assert webhook.timeout == declared["WebhookFunction"]["Properties"].get("Timeout", 10)  # Globals: 10
    assert webhook.memory_size == declared["WebhookFunction"]["Properties"].get("MemorySize", 512)
    assert webhook.layer_dirs == (PROJECT_ROOT / "layers" / "common",)
    assert webhook.environment["POWERTOOLS_SERVICE_NAME"] == "returnhelper-resends"  # from Globals


def test_each_function_gets_only_its_own_environment(template):
    functions = template.functions()
    webhook, merchant = functions["WebhookFunction"].environment, functions["MerchantApiFunction"].environment
    assert webhook["DELIVERY_TABLE"] == "rh-local-DeliveryTable"
    assert webhook["INVENTORY_TABLE"] == merchant["INVENTORY_TABLE"] == "rh-local-InventoryTable"
    assert "WEBHOOK_MAX_SKEW_SECONDS" not in merchant
    assert webhook["WEBHOOK_MAX_SKEW_SECONDS"] == "900"  # numbers become strings, as in Lambda
    assert all(isinstance(value, str) for value in {**webhook, **merchant}.values())


def test_parameter_overrides_reach_the_environment():
    template = LocalTemplate.load(
        parameter_overrides={
            "WebhookMaxSkewSeconds": "120",
            "ResendMaxItems": "7",
            "WebhookPublicUrl": "http://127.0.0.1:3000/webhooks/x",
        }
    )
    functions = template.functions()
    assert functions["WebhookFunction"].environment["WEBHOOK_MAX_SKEW_SECONDS"] == "120"
    assert functions["WebhookFunction"].environment["WEBHOOK_PUBLIC_URL"] == "http://127.0.0.1:3000/webhooks/x"
    assert functions["MerchantApiFunction"].environment["RESEND_MAX_ITEMS"] == "7"


@pytest.mark.parametrize(
    "overrides",
    [
        {"RetryBaseDelaySeconds": "0"},
        {"RetryBaseDelaySeconds": "soon"},
        {"LogLevel": "LOUD"},
        {"ReturnHelperApiBaseUrl": "ftp://x/"},
        {"NotAParameter": "1"},
    ],
)
def test_parameter_values_the_template_refuses_fail_at_load(overrides):
    with pytest.raises(TemplateError, match=next(iter(overrides))):
        LocalTemplate.load(parameter_overrides=overrides)


def test_real_physical_ids_replace_the_predicted_ones(template):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rh-local-ReturnHelperSecret-AbCdEf"
    updated = template.with_physical({"ReturnHelperSecret": Physical(arn, {"Id": arn})})
    assert updated.functions()["WebhookFunction"].environment["RH_SECRET_ID"] == arn


def test_outputs_resolve_with_conditions_and_placeholders(template):
    outputs = template.resolver.resolve(template.document["Outputs"])
    assert outputs["WebhookUrl"]["Value"].endswith(".execute-api.us-east-1.amazonaws.com/v1/webhooks/returnhelper")
    assert outputs["ApiKeyId"]["Value"] == "local-unresolved:MerchantApiApiKey"
    custom = LocalTemplate.load(parameter_overrides={"WebhookPublicUrl": "https://hooks.example/rh"})
    assert custom.resolver.resolve(custom.document["Outputs"]["WebhookUrl"]["Value"]) == "https://hooks.example/rh"


# ------------------------------------------------------------------ intrinsics and event sources


SYNTHETIC = """
Parameters:
  Env: {Type: String, Default: dev}
  Memory: {Type: Number, Default: 256, MinValue: 128}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  IsProd: !Not [!Equals [!Ref Env, dev]]
Globals:
  Function: {Timeout: 5, Environment: {Variables: {SHARED: one, OVERRIDDEN: global}}}
Resources:
  Jobs: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeout: 60}}
  OnlyInProd: {Type: AWS::SQS::Queue, Condition: IsProd}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: pkg.app.handler
      MemorySize: !Ref Memory
      Environment:
        Variables:
          OVERRIDDEN: mine
          QUEUE: !Ref Jobs
          ARN: !Sub "${Jobs.Arn}|${AWS::Region}|${Name}"
          STAGE: !If [IsDev, d, p]
      Events:
        FromJobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures]}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day), State: DISABLED}
"""


@pytest.fixture
def synthetic() -> LocalTemplate:
    document = parse_yaml(SYNTHETIC.replace("${Name}", "${Env}"))
    return LocalTemplate(document, Path("/tmp/project"), region="eu-west-1")


def test_intrinsics_resolve_against_parameters_conditions_and_pseudo_parameters(synthetic):
    worker = synthetic.functions()["Worker"]
    env = worker.environment
    assert env["OVERRIDDEN"] == "mine" and env["SHARED"] == "one"
    assert env["QUEUE"] == "http://127.0.0.1:5000/123456789012/rh-local-Jobs"
    assert env["ARN"] == "arn:aws:sqs:eu-west-1:123456789012:rh-local-Jobs|eu-west-1|dev"
    assert env["STAGE"] == "d"
    assert (worker.memory_size, worker.timeout) == (256, 5)
    assert worker.code_dir == Path("/tmp/project/fn")


def test_conditional_resources_are_skipped(synthetic):
    assert [queue.logical_id for queue in synthetic.queues()] == ["Jobs"]
    assert synthetic.queues()[0].attributes == {"VisibilityTimeout": "60"}


def test_sqs_and_schedule_events_are_parsed(synthetic):
    [source] = synthetic.sqs_event_sources()
    assert (source.function_id, source.queue_id, source.batch_size) == ("Worker", "Jobs", 5)
    assert source.function_response_types == ("ReportBatchItemFailures",)
    assert source.maximum_batching_window_seconds == 0 and source.enabled
    assert source.queue_url.endswith("/rh-local-Jobs")
    [schedule] = synthetic.schedules()
    assert (schedule.expression, schedule.enabled) == ("rate(1 day)", False)


# ------------------------------------------------------------------ environment -> parameters


def test_contract_variables_map_to_the_parameters_they_override(template):
    settings = LocalSettings.from_env(
        {"API_PORT": "3100", "RH_EMULATOR_PORT": "4111", "RESEND_MAX_ITEMS": "9", "UPSTREAM_TIMEOUT_SECONDS": "4"}
    )
    overrides = settings.parameter_overrides(template.parameters.keys())
    assert overrides == {
        "RetryBaseDelaySeconds": "1",
        "ReconcilePendingAfterSeconds": "10",  # contract section 2: local default 10
        "ReturnHelperApiBaseUrl": "http://127.0.0.1:4111/uat/user/api",
        "WebhookPublicUrl": "http://127.0.0.1:3100/webhooks/returnhelper",
        "ResendMaxItems": "9",
        "UpstreamTimeoutSeconds": "4",
        "InventorySyncScheduleState": "DISABLED",  # the local scheduler would run it every 30 s
    }
    LocalTemplate.load(parameter_overrides=overrides)  # every value is one the template accepts


def test_behind_a_tunnel_deliveries_are_received_locally_and_signed_for_the_public_url(template):
    settings = LocalSettings.from_env(
        {"API_PORT": "3100", "WEBHOOK_PUBLIC_URL": "https://hooks.example.test/rh/notify"}
    )
    assert settings.webhook_url == "http://127.0.0.1:3100/webhooks/returnhelper"  # where the gateway receives them
    assert settings.webhook_signed_url == "https://hooks.example.test/rh/notify"
    overrides = settings.parameter_overrides(template.parameters.keys())
    assert overrides["WebhookPublicUrl"] == "https://hooks.example.test/rh/notify"  # what the function verifies
    assert LocalSettings.from_env({"API_PORT": "3100"}).webhook_signed_url == settings.webhook_url


def test_reconcile_pending_after_seconds_is_a_contract_variable(template):
    overrides = LocalSettings.from_env({"RECONCILE_PENDING_AFTER_SECONDS": "45"}).parameter_overrides(
        template.parameters.keys()
    )
    assert overrides["ReconcilePendingAfterSeconds"] == "45"


def test_only_declared_parameters_are_passed():
    settings = LocalSettings.from_env({"RETRY_MAX_ATTEMPTS": "3", "RH_API_BASE_URL": "https://rh.example/user/api"})
    overrides = settings.parameter_overrides(frozenset({"RetryMaxAttempts"}))
    assert overrides == {"RetryMaxAttempts": "3"}
    assert settings.rh_api_base_url == "https://rh.example/user/api"
