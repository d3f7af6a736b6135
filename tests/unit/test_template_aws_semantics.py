"""What AWS itself needs from template.yaml for the stack to work in production (contract section 10).

Each test asserts a property AWS documents and no local run can show: a topic policy replaces
SNS's default one, SQS event sources poll with at least five concurrent batches unless capped,
an AWS_IAM route refuses the API key alone, WAF rules match by path and source address.
"""

from __future__ import annotations

import pytest

from local.template import LocalTemplate

ALARM_PRINCIPAL = "cloudwatch.amazonaws.com"
EVENTS_PRINCIPAL = "events.amazonaws.com"


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate.load()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, dict]:
    return template.document["Resources"]


def of_type(resources: dict[str, dict], kind: str) -> dict[str, dict]:
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == kind}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def service_principals(statement: dict) -> list[str]:
    return as_list((statement.get("Principal") or {}).get("Service", []))


# ------------------------------------------------------------------ alarms reach a person


def test_every_alarm_topic_admits_this_stacks_cloudwatch_alarms_and_eventbridge(resources):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    topics = {action["Ref"] for alarm in alarms.values() for action in alarm["Properties"]["AlarmActions"]}
    assert topics == {"AlarmTopic"}
    policies = of_type(resources, "AWS::SNS::TopicPolicy").values()
    for topic in topics:
        # GIVEN the policies on the topic (any policy replaces SNS's default one)
        statements = [
            statement
            for policy in policies
            if {"Ref": topic} in policy["Properties"]["Topics"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert statements, f"{topic} has no topic policy"
        publishers = {
            principal: statement
            for statement in statements
            if statement["Effect"] == "Allow" and "sns:Publish" in as_list(statement["Action"])
            for principal in service_principals(statement)
        }
        # THEN CloudWatch alarms may publish, scoped to this account's alarms of this stack
        alarm_statement = publishers.get(ALARM_PRINCIPAL)
        assert alarm_statement is not None, f"{topic}: CloudWatch alarms cannot publish"
        condition = alarm_statement["Condition"]
        assert condition["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        source_arn = condition["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
        assert source_arn.startswith("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:")
        # AND EventBridge's rule still may
        assert EVENTS_PRINCIPAL in publishers


def test_the_alarm_topics_key_lets_cloudwatch_and_eventbridge_publish_encrypted(resources):
    topic = resources["AlarmTopic"]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    for principal in (ALARM_PRINCIPAL, EVENTS_PRINCIPAL):
        actions = {
            action
            for statement in statements
            if statement["Effect"] == "Allow" and principal in service_principals(statement)
            for action in as_list(statement["Action"])
        }
        # SNS asks KMS for a data key and decrypts it on the publisher's behalf
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions, (principal, actions)


# ------------------------------------------------------------------ SQS scaling


def test_every_sqs_source_caps_its_concurrency_within_the_functions_reserved_concurrency(resources):
    functions = of_type(resources, "AWS::Serverless::Function")
    sources = 0
    for logical_id, function in functions.items():
        props = function["Properties"]
        maximums = [
            event["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
            for event in (props.get("Events") or {}).values()
            if event["Type"] == "SQS"
        ]
        sources += len(maximums)
        # Lambda's minimum is 2; without a maximum each mapping scales to 5+ concurrent batches
        assert all(isinstance(m, int) and m >= 2 for m in maximums), (logical_id, maximums)
        reserved = props.get("ReservedConcurrentExecutions")
        if maximums and reserved is not None:
            # a throttled batch comes back with its receive count raised: below the sum, messages
            # reach the DLQ untried
            assert reserved >= sum(maximums), (logical_id, reserved, maximums)
    assert sources == 4


# ------------------------------------------------------------------ WAF in front of the webhook

WEBHOOK_PATH = "/webhooks/returnhelper"
RANGES = "203.0.113.0/24,198.51.100.7/32"


def _waf(template: LocalTemplate) -> tuple[dict, dict]:
    """The resolved web ACL and its webhook rate rule."""
    [acl] = template.resources("AWS::WAFv2::WebACL").values()
    props = template.resolver.resolve(acl["Properties"])
    [rule] = [r for r in props["Rules"] if "RateBasedStatement" in r["Statement"]]
    return props, rule


def _matches_the_webhook_path(statement: dict) -> bool:
    match = statement.get("ByteMatchStatement") or {}
    return (
        match.get("FieldToMatch") == {"UriPath": {}}
        and match.get("SearchString") == WEBHOOK_PATH
        and match.get("PositionalConstraint") in ("CONTAINS", "ENDS_WITH")
    )


def test_waf_is_on_by_default_and_guards_the_api_stage(template, resources):
    parameter = template.document["Parameters"]["WebhookWaf"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("true", ["false", "true"])
    [acl_id] = template.resources("AWS::WAFv2::WebACL")
    assert template.document["Resources"][acl_id]["Properties"]["Scope"] == "REGIONAL"
    [association] = template.resources("AWS::WAFv2::WebACLAssociation").values()
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    # the stage SAM generates (MerchantApi.Stage), so the association is made after it exists
    assert arn.endswith("::/restapis/${MerchantApi}/stages/${MerchantApi.Stage}")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    off = LocalTemplate.load(parameter_overrides={"WebhookWaf": "false", "ReturnHelperSourceRanges": RANGES})
    assert not [kind for kind in ("WebACL", "WebACLAssociation", "IPSet") if off.resources(f"AWS::WAFv2::{kind}")]


def test_the_rate_rule_blocks_per_source_ip_on_the_webhook_path_only(template):
    acl, rule = _waf(template)
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    # without an allow-list: every source, webhook path only
    assert _matches_the_webhook_path(rate["ScopeDownStatement"])
    assert not template.resources("AWS::WAFv2::IPSet")
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] and rule["VisibilityConfig"]["CloudWatchMetricsEnabled"]


def test_return_helpers_source_ranges_are_exempt_from_the_rate_rule(template):
    allowed = LocalTemplate.load(parameter_overrides={"ReturnHelperSourceRanges": RANGES})
    [(ip_set_id, ip_set)] = allowed.resources("AWS::WAFv2::IPSet").items()
    # a comma-separated String parameter split into the set's addresses
    assert allowed.resolver.resolve(ip_set["Properties"]["Addresses"]) == RANGES.split(",")
    _, rule = _waf(allowed)
    statements = rule["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["AndStatement"]["Statements"]
    [path] = [s for s in statements if "ByteMatchStatement" in s]
    [exempt] = [s for s in statements if "NotStatement" in s]
    assert _matches_the_webhook_path(path)
    reference = exempt["NotStatement"]["Statement"]["IPSetReferenceStatement"]["Arn"]
    assert reference == allowed.resolver.get_att(ip_set_id, "Arn")
    with pytest.raises(ValueError, match="ReturnHelperSourceRanges"):  # CloudFormation refuses it too
        LocalTemplate.load(parameter_overrides={"ReturnHelperSourceRanges": "203.0.113.0/24, 10.0.0.0/8"})


def test_blocked_webhook_requests_raise_an_alarm(template):
    acl, rule = _waf(template)
    alarms = [
        template.resolver.resolve(alarm["Properties"])
        for alarm in template.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["Namespace"] == "AWS/WAFV2"
    ]
    [alarm] = alarms
    assert alarm["MetricName"] == "BlockedRequests" and alarm["AlarmActions"] == [template.resolver.ref("AlarmTopic")]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "WebACL": acl["VisibilityConfig"]["MetricName"],
        "Rule": rule["VisibilityConfig"]["MetricName"],
        "Region": template.region,
    }


# ------------------------------------------------------------------ credentials refused upstream


def test_return_helper_refusing_our_credentials_raises_an_alarm(template):
    """The functions that call Return Helper emit UpstreamCredentialsRefused (Powertools, Count) on a
    401/403; the alarm reads it as the other custom-metric alarms do: namespace, service dimension."""
    namespace = template.functions()["ResendWorkerFunction"].environment["POWERTOOLS_METRICS_NAMESPACE"]
    alarms = [
        template.resolver.resolve(alarm["Properties"])
        for alarm in template.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == "UpstreamCredentialsRefused"
    ]
    [alarm] = alarms
    assert alarm["Namespace"] == namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": template.parameters["ServiceName"]}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["AlarmActions"] == alarm["OKActions"] == [template.resolver.ref("AlarmTopic")]
