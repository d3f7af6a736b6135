"""Production rules template.yaml keeps: data retained, backed up and encrypted; queues drained to
alarmed DLQs; functions traced, versioned, logged with a retention, least privilege; the API
throttled; no secret in a parameter or an environment variable; every checkov skip explained.
(cfn-lint, sam validate --lint and checkov run in .ci/run; these are the rules they do not know.)"""

from __future__ import annotations

import re

import pytest

from local.template import LocalTemplate


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate.load()


def resources(template: LocalTemplate, kind: str) -> dict[str, dict]:
    return {logical_id: r for logical_id, r in template.document["Resources"].items() if r["Type"] == kind}


def data_key_arn() -> dict:
    return {"Fn::GetAtt": ["DataKey", "Arn"]}


def test_tables_are_retained_backed_up_and_encrypted_with_the_data_key(template):
    tables = resources(template, "AWS::DynamoDB::Table")
    assert tables
    for logical_id, table in tables.items():
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", logical_id
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical_id
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": data_key_arn()}
    # the key outlives the stack with the tables it can decrypt, and rotates
    key = template.document["Resources"]["DataKey"]
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True


def test_queues_are_encrypted_and_every_dead_letter_queue_is_alarmed(template):
    queues = resources(template, "AWS::SQS::Queue")
    dead_letter = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert dead_letter == {"ResendRequestDLQ", "ResendRetryDLQ", "InventorySyncDLQ", "DeliveryReplayDLQ"}
    # a stream mapping's on-failure destination is its dead-letter queue (the reconciler's has none:
    # what a given-up record leaves parked, the reconciler's schedule releases)
    streams = template.dynamodb_event_sources()
    assert [s.event_name for s in streams if s.on_failure_queue_id is None] == ["ResendIdRecorded"]
    dead_letter |= {source.on_failure_queue_id for source in streams if source.on_failure_queue_id is not None}
    assert dead_letter == {
        "ResendRequestDLQ",
        "ResendRetryDLQ",
        "InventorySyncDLQ",
        "DeliveryReplayDLQ",
        "EventPublisherFailureQueue",
        "InventoryReferenceFailureQueue",
    }
    for logical_id, queue in queues.items():
        assert queue["Properties"]["KmsMasterKeyId"] == data_key_arn(), logical_id
        assert logical_id in dead_letter or "RedrivePolicy" in queue["Properties"], logical_id
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched == dead_letter


def test_every_function_is_traced_versioned_and_logs_to_a_kept_encrypted_log_group(template):
    globals_ = template.document["Globals"]["Function"]
    assert globals_["Tracing"] == "Active" and globals_["AutoPublishAlias"] == "live"
    log_groups = resources(template, "AWS::Logs::LogGroup")
    for logical_id, function in resources(template, "AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        props = log_groups[group]["Properties"]
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id
        assert props["KmsKeyId"] == data_key_arn(), logical_id


def test_every_function_has_reserved_concurrency_or_says_why_not(template):
    for logical_id, function in resources(template, "AWS::Serverless::Function").items():
        if "ReservedConcurrentExecutions" in function["Properties"]:
            continue
        skips = {s["id"]: s["comment"] for s in function["Metadata"]["checkov"]["skip"]}
        assert "CKV_AWS_115" in skips and "throttl" in skips["CKV_AWS_115"], logical_id


def test_every_checkov_skip_gives_its_reason(template):
    skips = [
        (logical_id, skip)
        for logical_id, resource in template.document["Resources"].items()
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (logical_id, skip)
        assert len(skip.get("comment", "").split()) >= 12, (logical_id, skip["id"], "say why, in a sentence or two")


def test_function_policies_name_their_resources(template):
    for logical_id, function in resources(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"]["Policies"]:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in action for action in actions), (logical_id, statement)
                assert statement["Resource"] != "*", (logical_id, statement)


def test_no_secret_goes_through_a_parameter_or_an_environment_variable(template):
    secretish = re.compile(r"key|token|secret|password|credential", re.IGNORECASE)
    for name, parameter in template.document["Parameters"].items():
        assert not secretish.search(name), name
        assert "NoEcho" not in parameter, name
    for logical_id, function in template.functions().items():
        for name, value in function.environment.items():
            if secretish.search(name):
                # only the secret's ARN, which Powertools parameters reads (cached) at run time
                assert name == "RH_SECRET_ID" and value == template.physical["ReturnHelperSecret"].ref, (
                    logical_id,
                    name,
                )
    secret = template.document["Resources"]["ReturnHelperSecret"]["Properties"]
    assert secret["KmsKeyId"] == data_key_arn()


def test_the_api_is_throttled_per_key_per_route_and_on_the_webhook_and_logs_no_bodies(template):
    api = template.document["Resources"]["MerchantApi"]["Properties"]
    plan = api["Auth"]["UsagePlan"]
    assert plan["Throttle"] == {
        "BurstLimit": {"Ref": "MerchantApiBurstLimit"},
        "RateLimit": {"Ref": "MerchantApiRateLimit"},
    }
    assert plan["Quota"] == {"Limit": {"Ref": "MerchantApiQuotaPerDay"}, "Period": "DAY"}
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    webhook = settings[("/~1webhooks~1returnhelper", "POST")]
    assert webhook["ThrottlingRateLimit"] == {"Ref": "WebhookRateLimit"}
    assert webhook["ThrottlingBurstLimit"] == {"Ref": "WebhookBurstLimit"}
    assert ("/*", "*") in settings
    assert all(s["DataTraceEnabled"] is False for s in settings.values())
    fields = api["AccessLogSetting"]["Format"]
    assert "$context.requestId" in fields and "body" not in fields and "header" not in fields
    # the webhook route the throttling names is the one the function serves
    routes = {(r.method, r.path) for r in template.api_routes()}
    assert ("POST", "/webhooks/returnhelper") in routes


def test_the_architecture_is_one_parameter_for_the_functions_and_the_layer(template):
    document = template.document
    assert document["Parameters"]["Architecture"]["Default"] == "arm64"
    assert document["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    layer = document["Resources"]["CommonLayer"]
    assert layer["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
