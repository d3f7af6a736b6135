"""The local DynamoDB stream event source mapping against a real moto server, with a stand-in runtime.

This tests the poller (event shape, filters, checkpoints at the first reported failure, retries,
skipping after them), not the publisher: the runtime's answers come from the test, in one case
from the publisher's own translation (an unreadable record).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from local.aws_services import client
from local.lambda_runtime import InvocationResult
from local.stream_poller import StreamPoller, first_failed_index
from local.template import DynamoDBEventSource
from rh_common.adapters.dynamodb import stream_records
from rh_common.domain import published_events

REGION = "us-east-1"


@pytest.fixture
def table(moto_endpoint):
    """A fresh table keyed like the resend table, with a NEW_AND_OLD_IMAGES stream: (name, stream arn)."""
    dynamodb = client("dynamodb", moto_endpoint, REGION)
    name = f"t-{uuid.uuid4().hex[:10]}"
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "resendRequestId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "resendRequestId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name, created["TableDescription"]["LatestStreamArn"]


class FakeRuntime:
    """`invoke(function_id, event)` like LambdaRuntime's; records every batch, answers with `respond`."""

    def __init__(self, respond: Callable[[dict, int], InvocationResult] | None = None) -> None:
        self.respond = respond or (lambda event, call: InvocationResult("ok", payload={"batchItemFailures": []}))
        self.batches: list[list[dict]] = []
        self._changed = threading.Condition()

    def invoke(self, function_id: str, event: dict) -> InvocationResult:
        with self._changed:
            self.batches.append(event["Records"])
            self._changed.notify_all()
            call = len(self.batches)
        return self.respond(event, call)

    def ids(self, call: int) -> list[str]:
        return [r["dynamodb"]["NewImage"]["resendRequestId"]["S"] for r in self.batches[call]]

    def wait_for(self, predicate: Callable[[FakeRuntime], bool], timeout: float = 15) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                pytest.fail(f"timed out; batches so far: {[len(batch) for batch in self.batches]}")


def source(stream_arn: str, **overrides) -> DynamoDBEventSource:
    values = {
        "function_id": "Publisher",
        "event_name": "Changes",
        "table_id": "Table",
        "stream_arn": stream_arn,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 10,
        "maximum_batching_window_seconds": 0,
        "maximum_retry_attempts": 2,
        "bisect_batch_on_function_error": False,
        "function_response_types": ("ReportBatchItemFailures",),
        "on_failure_queue_id": "OnFailure",
        "enabled": True,
    }
    return DynamoDBEventSource(**{**values, **overrides})


@pytest.fixture
def run(moto_endpoint):
    pollers = []

    def start(spec: DynamoDBEventSource, runtime: FakeRuntime, **kwargs) -> StreamPoller:
        poller = StreamPoller(
            spec,
            runtime.invoke,
            dynamodb_endpoint=moto_endpoint,
            region=REGION,
            idle_seconds=0.05,
            **kwargs,
        )
        poller.start()
        pollers.append(poller)
        return poller

    yield start
    for poller in pollers:
        poller.stop()


def put(moto_endpoint, table_name: str, *items: dict) -> None:
    dynamodb = client("dynamodb", moto_endpoint, REGION)
    for item in items:
        dynamodb.put_item(TableName=table_name, Item={k: {"S": v} for k, v in item.items()})


def requests(*names: str) -> list[dict]:
    return [{"resendRequestId": name, "status": "PENDING"} for name in names]


def test_records_arrive_as_lambda_s_dynamodb_event(moto_endpoint, table, run):
    name, stream_arn = table
    put(moto_endpoint, name, *requests("a", "b", "c"))
    runtime = FakeRuntime()
    run(source(stream_arn), runtime)
    runtime.wait_for(lambda r: len(r.batches) >= 1)
    [batch] = runtime.batches
    event = DynamoDBStreamEvent({"Records": batch})
    records = list(event.records)
    assert [r.dynamodb.new_image["resendRequestId"] for r in records] == ["a", "b", "c"]
    assert {r.event_name.name for r in records} == {"INSERT"}
    assert {r.event_source_arn for r in records} == {stream_arn}
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in batch)
    json.dumps(batch)  # what the worker protocol sends


def test_filter_criteria_deliver_only_the_matching_records_and_skip_a_batch_with_none(moto_endpoint, table, run):
    # GIVEN a source that only hears of SUBMITTED records, and a batch with none, then one with one
    name, stream_arn = table
    submitted = json.dumps({"dynamodb": {"NewImage": {"status": {"S": ["SUBMITTED"]}}}})
    runtime = FakeRuntime()
    run(source(stream_arn, filter_patterns=(submitted,)), runtime)
    put(moto_endpoint, name, *requests("a", "b"))
    time.sleep(0.5)  # polled and skipped
    put(moto_endpoint, name, {"resendRequestId": "c", "status": "SUBMITTED"}, *requests("d"))
    # WHEN the poller reaches them
    runtime.wait_for(lambda r: len(r.batches) >= 1)
    # THEN the function sees the matching record alone, once
    time.sleep(0.5)
    assert [runtime.ids(i) for i in range(len(runtime.batches))] == [["c"]]


def test_a_reported_failure_is_retried_from_its_sequence_number_and_the_records_before_it_are_done(
    moto_endpoint, table, run
):
    name, stream_arn = table
    put(moto_endpoint, name, *requests("a", "b", "c"))

    def respond(event, call):
        if call == 1:  # "b" failed
            return InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": _sequence(event, 1)}]})
        return InvocationResult("ok", payload={"batchItemFailures": []})

    runtime = FakeRuntime(respond)
    run(source(stream_arn), runtime)
    runtime.wait_for(lambda r: len(r.batches) >= 2)
    put(moto_endpoint, name, *requests("d"))
    runtime.wait_for(lambda r: len(r.batches) >= 3)
    assert [runtime.ids(i) for i in range(3)] == [["a", "b", "c"], ["b", "c"], ["d"]]


def test_an_unreadable_record_is_skipped_after_the_retries_and_never_blocks_the_shard(moto_endpoint, table, run):
    name, stream_arn = table
    # the middle one is a resend image without a status: the publisher's translation cannot read it
    put(moto_endpoint, name, *requests("a"), {"resendRequestId": "unreadable"}, *requests("c"))

    def publisher(event, call):
        failures = []
        for record in event["Records"]:
            try:
                stream_records.from_stream_record(record, frozenset({"ohd"}))
            except published_events.UnreadableRecord:
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        return InvocationResult("ok", payload={"batchItemFailures": failures})

    runtime = FakeRuntime(publisher)
    run(source(stream_arn, maximum_retry_attempts=2), runtime)
    runtime.wait_for(lambda r: len(r.batches) >= 3)
    # the first delivery, then MaximumRetryAttempts (2) retries from the unreadable record, then skipped
    assert [runtime.ids(i) for i in range(3)] == [["a", "unreadable", "c"], ["unreadable", "c"], ["unreadable", "c"]]
    # the shard goes on: a later change is delivered, the unreadable record never again
    put(moto_endpoint, name, *requests("e"))
    runtime.wait_for(lambda r: any(r.ids(i) == ["e"] for i in range(len(r.batches))))
    delivered = [rid for i in range(len(runtime.batches)) for rid in runtime.ids(i)]
    assert delivered.count("unreadable") == 3


def test_a_function_error_retries_the_whole_batch(moto_endpoint, table, run):
    name, stream_arn = table
    put(moto_endpoint, name, *requests("a", "b", "c"))

    def respond(event, call):
        if call == 1:
            return InvocationResult("error", error_type="Runtime.ExitError", error_message="boom")
        return InvocationResult("ok", payload=None)

    runtime = FakeRuntime(respond)
    run(source(stream_arn), runtime)
    runtime.wait_for(lambda r: len(r.batches) >= 2)
    time.sleep(0.3)  # nothing more comes
    assert [runtime.ids(i) for i in range(len(runtime.batches))] == [["a", "b", "c"], ["a", "b", "c"]]


def test_a_failed_transaction_on_the_table_does_not_stall_its_shard(moto_endpoint, table, run):
    # GIVEN a poller that has delivered the table's first change
    name, stream_arn = table
    runtime = FakeRuntime()
    run(source(stream_arn), runtime, shard_refresh_seconds=0.5)  # the new stream is read from the next refresh on
    put(moto_endpoint, name, *requests("a"))
    runtime.wait_for(lambda r: len(r.batches) >= 1)
    # WHEN a transaction on the table fails (moto then swaps the table for a deep copy taken before it,
    # stream included: the API fuzzing's 409s did this) and the table changes again
    dynamodb = client("dynamodb", moto_endpoint, REGION)
    key = {"resendRequestId": {"S": "a"}}
    check = {"TableName": name, "Key": key, "ConditionExpression": "attribute_not_exists(resendRequestId)"}
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[{"ConditionCheck": check}])
    put(moto_endpoint, name, *requests("b"))
    # THEN that change is delivered
    runtime.wait_for(lambda r: len(r.batches) >= 2)
    assert runtime.ids(1) == ["b"]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (InvocationResult("ok", payload=None), None),
        (InvocationResult("ok", payload={"batchItemFailures": []}), None),
        (InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}), 1),
        (InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": "9"}]}), 0),  # not in the batch
        (InvocationResult("ok", payload={"batchItemFailures": "2"}), 0),
        (InvocationResult("ok", payload=["2"]), 0),
        (InvocationResult("timeout", error_type="Sandbox.Timedout"), 0),
    ],
)
def test_where_a_batch_is_retried_from(result, expected):
    assert first_failed_index(result, ["1", "2", "3"], ("ReportBatchItemFailures",)) == expected


def test_without_report_batch_item_failures_an_answer_is_success():
    result = InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": "2"}]})
    assert first_failed_index(result, ["1", "2"], ()) is None


def _sequence(event: dict, index: int) -> str:
    return event["Records"][index]["dynamodb"]["SequenceNumber"]
