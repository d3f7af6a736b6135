"""Events out as template.yaml declares them: an outbox on both tables' streams, a bus (own or
existing), PutEvents on that bus only, and a rule that tells an operator about resends that
need a person, delivered through the encrypted alarm topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from moto.events.models import EventPattern

from local.stream_poller import RecordFilter
from local.template import LocalTemplate
from rh_common.adapters.dynamodb import stream_records
from rh_common.domain import stock
from rh_common.services import aging
from tests.support.streams import stream_record

OUTBOX_TABLES = {"ResendRequestTable", "InventoryTable"}


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return LocalTemplate.load()


def test_both_tables_stream_old_and_new_images_to_the_publisher_which_never_blocks_a_shard(template):
    streams = {t.logical_id: t.create_kwargs.get("StreamSpecification") for t in template.tables()}
    for table in OUTBOX_TABLES:
        assert streams[table] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}, table
    sources = [s for s in template.dynamodb_event_sources() if s.function_id == "EventPublisherFunction"]
    assert {s.table_id for s in sources} == OUTBOX_TABLES
    for source in sources:
        assert source.starting_position == "TRIM_HORIZON"  # nothing written before the mapping is lost
        assert "ReportBatchItemFailures" in source.function_response_types
        assert source.bisect_batch_on_function_error
        assert 0 <= source.maximum_retry_attempts <= 10
        assert source.on_failure_queue_id == "EventPublisherFailureQueue"


def test_the_reconciler_hears_only_of_a_resend_record_getting_its_resend_id(template):
    [source] = [s for s in template.dynamodb_event_sources() if s.function_id == "ReconcilerFunction"]
    assert (source.event_name, source.table_id) == ("ResendIdRecorded", "ResendRequestTable")
    assert "ReportBatchItemFailures" in source.function_response_types
    assert 0 <= source.maximum_retry_attempts <= 10
    pending = {"resendRequestId": "r-1", "status": "PENDING", "attempts": 0}
    submitted = {**pending, "status": "SUBMITTED", "resendId": 5001, "attempts": 1}
    record_filter = RecordFilter(source.filter_patterns)
    assert record_filter.passes(stream_record(submitted, pending))  # the create answer recorded
    assert not record_filter.passes(stream_record(pending))  # reserved, no resend id yet
    assert not record_filter.passes(stream_record({**submitted, "status": "IN_PROGRESS"}, submitted))
    assert not record_filter.passes(stream_record(None, submitted))  # expired


def test_the_publisher_may_put_events_on_its_bus_and_nothing_else(template):
    function = template.document["Resources"]["EventPublisherFunction"]["Properties"]
    statements = [s for p in function["Policies"] if isinstance(p, dict) for s in p.get("Statement", [])]
    assert [s["Action"] for s in statements] == [["events:PutEvents"]]
    bus = statements[0]["Resource"]["Fn::If"]
    assert bus[0] == "CreateEventBus" and bus[1] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert bus[2]["Fn::Sub"].endswith(":event-bus/${ExistingEventBusName}")
    own = template.functions()["EventPublisherFunction"].environment
    assert own["EVENT_BUS_NAME"] == template.physical["EventBus"].ref == template.output("EventBusName")


def test_an_existing_bus_replaces_the_stack_s_own(template):
    existing = LocalTemplate.load(parameter_overrides={"ExistingEventBusName": "shop-events"})
    assert "EventBus" not in existing.resources("AWS::Events::EventBus")
    assert existing.functions()["EventPublisherFunction"].environment["EVENT_BUS_NAME"] == "shop-events"
    assert existing.output("EventBusName") == "shop-events"
    rule = existing.resolver.resolve(existing.document["Resources"]["ResendsNeedingAPersonRule"]["Properties"])
    assert rule["EventBusName"] == "shop-events"
    archive = existing.resolver.resolve(existing.document["Resources"]["EventArchive"]["Properties"])
    assert archive["SourceArn"].endswith(":event-bus/shop-events")


def _event(detail: dict, template: LocalTemplate) -> dict:
    return {
        "source": template.parameters["ServiceName"],
        "detail-type": "ResendStatusChanged",
        "detail": detail,
    }


def _resend_event(status: str, last_error: dict | None, previous: str | None = "PENDING") -> dict:
    old = {"resendRequestId": "r-1", "status": previous, "attempts": 1}
    new = {**old, "status": status, "lastError": last_error}
    record = stream_record(new, old) if previous else stream_record(new)
    return stream_records.from_stream_record(record, frozenset()).detail


TIMED_OUT = {"errorCode": None, "detail": "nobody approved or rejected it within 72 hours", "reason": "approvalTimeout"}


@pytest.mark.parametrize(
    ("status", "last_error", "alarms"),
    [
        ("DEAD", {"detail": "gave up after 8 attempts: HTTP 503"}, True),
        ("FAILED", {"detail": "Return Helper reported the resend failed", "error": "label"}, True),
        ("REJECTED", {"errorCode": "VALIDATION_FAILED", "error": {"x": "no"}, "detail": "soft error"}, True),
        ("REJECTED", {"errorCode": None, "error": "HTTP 401", "detail": "HTTP 401"}, True),
        # refused here, before anything went upstream: the caller's mistake, not an operator's
        ("REJECTED", {"message": "resend request is not valid", "errors": [{"field": "x", "message": "m"}]}, False),
        ("COMPLETED", None, False),
        ("SUBMITTED", None, False),
        # created waiting for a person's approval (section 12): a person is needed by definition
        ("AWAITING_APPROVAL", None, True),
    ],
)
def test_the_rule_alarms_on_resends_that_need_a_person(template, status, last_error, alarms):
    rule = template.resolver.resolve(template.document["Resources"]["ResendsNeedingAPersonRule"]["Properties"])
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    assert pattern.matches_event(_event(_resend_event(status, last_error), template)) is alarms


@pytest.mark.parametrize(
    ("status", "previous", "alarms"),
    [
        ("AWAITING_APPROVAL", None, True),
        ("PENDING", "AWAITING_APPROVAL", False),
        ("CANCELED", "AWAITING_APPROVAL", False),
    ],
)
def test_a_request_created_awaiting_approval_alarms_and_its_answer_does_not(template, status, previous, alarms):
    rule = template.resolver.resolve(template.document["Resources"]["ResendsNeedingAPersonRule"]["Properties"])
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    last_error = TIMED_OUT if status == "CANCELED" else None
    assert pattern.matches_event(_event(_resend_event(status, last_error, previous), template)) is alarms


def test_the_rule_reaches_the_encrypted_alarm_topic(template):
    resources = template.document["Resources"]
    rule = resources["ResendsNeedingAPersonRule"]["Properties"]
    assert rule["Targets"] == [{"Id": "AlarmTopic", "Arn": {"Ref": "AlarmTopic"}}]
    statements = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [statement] = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["ResendsNeedingAPersonRule", "Arn"]}
    # the topic is encrypted with the data key, so EventBridge must be allowed to use it
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    key_statements = resources["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    events = [s for s in key_statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events and set(events[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_the_bus_is_archived_for_replay_and_publish_failures_are_alarmed(template):
    resources = template.document["Resources"]
    archive = template.resolver.resolve(resources["EventArchive"]["Properties"])
    assert archive["SourceArn"] == template.physical["EventBus"].attributes["Arn"]
    assert archive["EventPattern"] == {"source": [template.parameters["ServiceName"]]}
    alarm = resources["EventsPublishFailedAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("EventsPublishFailed", 1)


# ------------------------------------------------------------------ the schema registry


def _schemas(template: LocalTemplate) -> dict[str, dict]:
    schemas = template.resources("AWS::EventSchemas::Schema").values()
    return {json.loads(s["Properties"]["Content"])["title"]: json.loads(s["Properties"]["Content"]) for s in schemas}


def _lifecycle_events(template: LocalTemplate) -> list[dict]:
    """Events the translation makes over a resend's lifecycle, its refusals, and its items' changes."""
    pending = {"resendRequestId": "r-1", "status": "PENDING", "returnInventoryIdList": [1, 2], "idempotencyKey": "k"}
    submitted = {**pending, "status": "SUBMITTED", "resendId": 3601, "resendNumber": "RS-1", "attempts": 1}
    in_progress = {**submitted, "status": "IN_PROGRESS", "resendStatusCode": 2}
    completed = {**in_progress, "status": "COMPLETED", "trackingNumber": "9400"}
    rejected = {**pending, "status": "REJECTED", "lastError": {"errorCode": None, "error": {"f": "m"}, "detail": "x"}}
    awaiting = {**pending, "status": "AWAITING_APPROVAL", "attempts": 0, "approval": "awaiting"}
    timed_out = {**awaiting, "status": "CANCELED", "approval": "timedOut", "lastError": TIMED_OUT}
    refused = {
        **pending,
        "status": "REJECTED",
        "lastError": {"message": "m", "errors": [{"field": "f", "message": "m"}]},
    }
    item = {
        "returnInventoryId": 1,
        "warehouseId": 2,
        "handlingCode": "ohd",
        "v_handlingCode": "v1",
        "lastVersion": "v1",
    }
    reserved = {**item, "activeResendRequestId": "r-1"}
    records = [
        stream_record(pending),
        stream_record(submitted, pending),
        stream_record(in_progress, submitted),
        stream_record(completed, in_progress),
        stream_record(rejected, pending),
        stream_record(refused),
        stream_record(awaiting),
        stream_record({**pending, "approval": "approved"}, awaiting),
        stream_record(timed_out, awaiting),
        stream_record(item, key="returnInventoryId"),
        stream_record(reserved, item, key="returnInventoryId"),
    ]
    source = template.parameters["ServiceName"]
    events = []
    for record in records:
        change = stream_records.from_stream_record(record, frozenset({"ohd"}))
        events.append({"detail-type": change.detail_type, "source": source, "detail": change.detail})
    return events


def _aging_events(template: LocalTemplate) -> list[dict]:
    """The reconciler's InventoryAging (services/aging.py), for items with and without a SKU."""
    now = datetime(2025, 4, 1, tzinfo=UTC)
    rows = [
        stock.AgingRow(1, 2, "K-1", "tbc", "2025-02-01T00:00:00Z"),
        stock.AgingRow(3, 5, None, "ohd", "2025-01-01 08:00:00"),
    ]
    source = template.parameters["ServiceName"]
    return [
        {"detail-type": aging.INVENTORY_AGING, "source": source, "detail": stock.aging_event(row, now)} for row in rows
    ]


def test_the_registry_s_schemas_describe_every_event_the_publisher_makes(template):
    schemas = _schemas(template)
    assert set(schemas) == {"ResendStatusChanged", "InventoryChanged", "InventoryAging"}
    events = _lifecycle_events(template) + _aging_events(template)
    assert {e["detail-type"] for e in events} == set(schemas)
    timed_out = [e["detail"] for e in events if e["detail"].get("previousStatus") == "AWAITING_APPROVAL"][-1]
    assert timed_out["lastError"] == {"errorCode": None, "reason": "approvalTimeout", "detail": TIMED_OUT["detail"]}
    for event in events:
        jsonschema.Draft4Validator(schemas[event["detail-type"]]).validate(event)
    # and they are strict: a field the contract does not list is refused
    leaky = {**events[0], "detail": {**events[0]["detail"], "shipmentName": "someone"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schemas["ResendStatusChanged"]).validate(leaky)
