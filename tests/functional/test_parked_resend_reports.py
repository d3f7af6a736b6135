"""A resend report that beats the create answer is parked, and applied once the resend id is recorded:
by the reconciler, from the resend table's stream (the records the template's filter lets through),
or by the webhook itself when the record appears while it parks."""

import boto3
import pytest

from local.stream_poller import RecordFilter
from rh_common.domain.results import Outcome
from tests.support.resend import resend_body
from tests.support.streams import StreamReader


@pytest.fixture
def reconciler(load_with_upstream):
    return load_with_upstream("ReconcilerFunction")


@pytest.fixture
def resend_id_recorded(template, tables):
    """The ResendIdRecorded mapping: the resend table's new stream records its filter lets through."""
    [source] = [s for s in template.dynamodb_event_sources() if s.event_name == "ResendIdRecorded"]
    reader, record_filter = StreamReader(tables["ResendRequestTable"]), RecordFilter(source.filter_patterns)

    def read() -> dict:
        return {"Records": [record for record in reader.read()["Records"] if record_filter.passes(record)]}

    return read


def delivery_statuses(tables):
    items = boto3.client("dynamodb").scan(TableName=tables["DeliveryTable"])["Items"]
    return sorted(item["status"]["S"] for item in items)


def test_status_reports_that_beat_the_create_answer_are_applied_in_event_order_from_the_stream(
    worker, reconciler, resend_id_recorded, items, report, tables, monkeypatch, lambda_context
):
    # GIVEN two status reports that arrive while the create answer is on its way
    ids = items(851)
    real_create = worker.service._upstream.create_resend
    answers = []

    def create_then_webhooks_overtake(body, key):
        outcome = real_create(body, key)
        resend_id = int(outcome.payload["resendId"])
        # Return Helper's webhooks arrive before this create answer is recorded, newest first
        answers.append(report(resend_id, 3, ids, 20, tracking="1Z-PARKED"))
        answers.append(report(resend_id, 2, ids, 10))
        return outcome

    monkeypatch.setattr(worker.service._upstream, "create_resend", create_then_webhooks_overtake)

    answer = worker.service.intake("parked-1", resend_body(ids))
    assert answer.outcome == Outcome.SUBMITTED
    assert [a["status"] for a in answers] == ["applied", "applied"]  # parked, answered 200 applied
    assert delivery_statuses(tables) == ["parked", "parked"]  # the create path did not wait for them
    # WHEN the stream delivers the record's first resend id (and nothing else of its history)
    event = resend_id_recorded()
    assert [r["dynamodb"]["NewImage"]["status"]["S"] for r in event["Records"]] == ["SUBMITTED"]
    assert reconciler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    # THEN both reports are applied, in event order
    view = worker.service.get(answer.body["resendRequestId"]).body
    assert (view["status"], view["trackingNumber"]) == ("COMPLETED", "1Z-PARKED")
    assert delivery_statuses(tables) == ["accepted", "accepted"]
    assert resend_id_recorded() == {"Records": []}  # its later changes do not pass the filter


def test_a_stream_record_whose_release_fails_is_retried_and_the_report_stays_parked_until_then(
    worker, reconciler, resend_id_recorded, items, report, tables, monkeypatch, lambda_context
):
    # GIVEN a report parked while the create answer was on its way, and a release that fails once
    ids = items(871)
    real_create = worker.service._upstream.create_resend

    def create_then_a_webhook_overtakes(body, key):
        outcome = real_create(body, key)
        report(int(outcome.payload["resendId"]), 2, ids, 10)
        return outcome

    monkeypatch.setattr(worker.service._upstream, "create_resend", create_then_a_webhook_overtakes)
    created = worker.service.intake("parked-3", resend_body(ids)).body
    event = resend_id_recorded()
    [record] = event["Records"]
    real_release = reconciler.release_parked
    monkeypatch.setattr(reconciler, "release_parked", lambda resend_id: 1 // 0)
    # WHEN the mapping delivers it, then (after the failure it was told of) again
    failed = reconciler.lambda_handler(event, lambda_context)
    still_parked = delivery_statuses(tables)
    monkeypatch.setattr(reconciler, "release_parked", real_release)
    retried = reconciler.lambda_handler(event, lambda_context)
    # THEN the first answer names the record, and the retry applies the report
    assert failed == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert still_parked == ["parked"]
    assert retried == {"batchItemFailures": []}
    assert worker.service.get(created["resendRequestId"]).body["status"] == "IN_PROGRESS"
    assert delivery_statuses(tables) == ["accepted"]


def test_a_report_for_a_resend_that_is_not_ours_stays_parked(report, tables):
    assert report(999_998, 3, [], 10)["status"] == "applied"
    assert delivery_statuses(tables) == ["parked"]


def test_a_report_parked_while_the_create_answer_is_being_recorded_is_applied_by_the_webhook(
    worker, items, report, webhook, tables, monkeypatch
):
    # GIVEN the stream's release ran before this report was parked
    ids = items(861)
    created = worker.service.intake("parked-2", resend_body(ids)).body
    tracker = webhook.ingestor._resends
    real_find, calls = tracker.find, []

    def find_misses_once(resend_id):  # the first look-up still misses the record
        calls.append(resend_id)
        return None if len(calls) == 1 else real_find(resend_id)

    monkeypatch.setattr(tracker, "find", find_misses_once)
    # WHEN the report arrives
    assert report(created["resendId"], 2, ids, 10)["status"] == "applied"
    # THEN the webhook's second look-up finds the record and applies it: nothing waits
    assert worker.service.get(created["resendRequestId"]).body["status"] == "IN_PROGRESS"
    assert delivery_statuses(tables) == ["accepted"]
