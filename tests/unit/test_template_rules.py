"""Rules template.yaml must keep, checked on the template itself (the one source of truth)."""

import json

from local.template import LocalTemplate


def test_every_sqs_consumer_reports_partial_failures_and_its_queue_outlives_six_timeouts():
    template = LocalTemplate.load()
    functions = template.functions()
    queues = {queue.logical_id: queue for queue in template.queues()}
    sources = template.sqs_event_sources()
    assert sources, "the resend worker consumes SQS"
    for source in sources:
        assert "ReportBatchItemFailures" in source.function_response_types, source.event_name
        queue = queues[source.queue_id]
        timeout = functions[source.function_id].timeout
        assert int(queue.attributes["VisibilityTimeout"]) >= 6 * timeout, source.queue_id
        redrive = json.loads(queue.attributes["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) <= 10, "poison messages must reach the DLQ, not loop"


def test_the_automation_and_retry_queues_both_feed_the_worker():
    consumed = {(s.function_id, s.queue_id) for s in LocalTemplate.load().sqs_event_sources()}
    assert consumed == {
        ("ResendWorkerFunction", "ResendRequestQueue"),
        ("ResendWorkerFunction", "ResendRetryQueue"),
        ("ResendWorkerFunction", "InventorySyncQueue"),
        ("ResendWorkerFunction", "DeliveryReplayQueue"),
    }


def test_a_delivery_replay_never_feeds_the_apply_path_faster_than_the_webhook_route_admits():
    """Contract section 11: each replay page is paced at DELIVERY_REPLAY_RATE_LIMIT / DELIVERY_REPLAY_WORKERS
    a second (rh_common.services.delivery_replay), and at most MaximumConcurrency pages run at once."""
    template = LocalTemplate.load()
    worker = template.document["Resources"]["ResendWorkerFunction"]["Properties"]
    environment = worker["Environment"]["Variables"]
    assert environment["DELIVERY_REPLAY_RATE_LIMIT"] == {"Ref": "WebhookRateLimit"}
    source = worker["Events"]["DeliveryReplayPages"]["Properties"]
    assert int(environment["DELIVERY_REPLAY_WORKERS"]) == source["ScalingConfig"]["MaximumConcurrency"]
    assert source["BatchSize"] == 1
    webhook_route = [
        setting
        for setting in template.document["Resources"]["MerchantApi"]["Properties"]["MethodSettings"]
        if setting["ResourcePath"] == "/~1webhooks~1returnhelper"
    ]
    assert [setting["ThrottlingRateLimit"] for setting in webhook_route] == [{"Ref": "WebhookRateLimit"}]


def test_the_reconciler_runs_on_a_schedule():
    schedules = LocalTemplate.load().schedules()
    assert [(s.function_id, s.event_name) for s in schedules] == [
        ("ReconcilerFunction", "Every5Minutes"),
        ("ReconcilerFunction", "ScheduledInventorySync"),
    ]
    sync = LocalTemplate.load(parameter_overrides={"InventorySyncScheduleState": "ENABLED"}).schedules()[1]
    assert (sync.expression, sync.enabled) == ("rate(1 day)", True)  # deployed: daily, on
    assert json.loads(sync.input) == {"inventorySync": "scheduled"}


def test_every_index_an_adapter_queries_is_declared_on_a_table_of_the_template():
    # The index names live in the adapters (no setting repeats them); a renamed or dropped index must fail here,
    # not as a ValidationException on the first query in production.
    import re
    from pathlib import Path

    import rh_common.adapters.dynamodb as adapters

    named = set()
    for source in Path(adapters.__path__[0]).glob("*.py"):
        text = source.read_text()
        named |= set(re.findall(r'IndexName"?[=:] ?"(\w+)"', text))
        named |= set(re.findall(r'_index: str = "(\w+)"', text))
    declared = {
        index["IndexName"]
        for resource in LocalTemplate.load().resources("AWS::DynamoDB::Table").values()
        for index in resource["Properties"].get("GlobalSecondaryIndexes", [])
    }
    assert {"ByWarehouse", "InStock", "ByStatus", "ByResendId", "ParkedByResendId", "BySubject"} <= named
    assert named <= declared, named - declared
