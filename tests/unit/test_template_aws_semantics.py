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
    assert sources == 3
