"""The local SQS event source mapping against a real moto server, with a fake Lambda runtime.

This tests the poller (batching, deletes, batchItemFailures, redrive, delays, event shape),
not a function: the runtime is a stand-in whose answers each test controls.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from local.aws_services import client
from local.lambda_runtime import InvocationResult
from local.sqs_poller import SqsPoller, build_event, failed_message_ids
from local.template import SqsEventSource

REGION = "us-east-1"
REPORT = ("ReportBatchItemFailures",)


@pytest.fixture
def sqs(moto_endpoint):
    return client("sqs", moto_endpoint, REGION)


class FakeRuntime:
    """`invoke(function_id, event)` like LambdaRuntime's; records every call, answers with `respond(event)`."""

    def __init__(self, respond: Callable[[dict], InvocationResult] | None = None) -> None:
        self.respond = respond or (lambda event: InvocationResult("ok", payload=None))
        self.calls: list[tuple[float, str, dict]] = []
        self._changed = threading.Condition()

    def invoke(self, function_id: str, event: dict) -> InvocationResult:
        with self._changed:
            self.calls.append((time.monotonic(), function_id, event))
            self._changed.notify_all()
        return self.respond(event)

    @property
    def records(self) -> list[dict]:
        return [record for _, _, event in self.calls for record in event["Records"]]

    def wait_for(self, predicate: Callable[[FakeRuntime], bool], timeout: float = 10) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                pytest.fail(f"timed out; calls so far: {[len(event['Records']) for _, _, event in self.calls]}")


def make_queue(sqs, *, visibility: int = 30, dlq_max_receive: int | None = None) -> tuple[str, str | None]:
    """A fresh queue (and its DLQ when dlq_max_receive is given): (queue url, dlq url)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    attributes = {"VisibilityTimeout": str(visibility)}
    dlq_url = None
    if dlq_max_receive is not None:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq_max_receive})
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"], dlq_url


def source_for(url: str, *, batch_size: int = 10, window: int = 0, response_types=REPORT) -> SqsEventSource:
    return SqsEventSource("ConsumerFunction", "Queue", "TestQueue", url, batch_size, window, response_types, True)


@pytest.fixture
def run_poller(moto_endpoint):
    started: list[SqsPoller] = []

    def run(source: SqsEventSource, runtime: FakeRuntime) -> SqsPoller:
        poller = SqsPoller(source, runtime.invoke, aws_endpoint=moto_endpoint, region=REGION)
        poller.start()
        started.append(poller)
        return poller

    yield run
    for poller in started:
        poller.stop()


def send(sqs, url: str, *bodies: str, **kwargs) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, **kwargs)


def counts(sqs, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def fail_bodies(*bodies: str) -> Callable[[dict], InvocationResult]:
    """A function that reports the records with these bodies in batchItemFailures."""

    def respond(event: dict) -> InvocationResult:
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in bodies]
        return InvocationResult("ok", payload={"batchItemFailures": failures})

    return respond


# ------------------------------------------------------------------ batching


def test_batches_respect_the_batch_size_and_every_message_is_delivered_and_deleted(sqs, run_poller):
    url, _ = make_queue(sqs)
    send(sqs, url, *(f"m{i}" for i in range(7)))
    runtime = FakeRuntime()

    poller = run_poller(source_for(url, batch_size=3), runtime)
    runtime.wait_for(lambda rt: len(rt.records) >= 7)
    poller.stop()

    assert all(len(event["Records"]) <= 3 for _, _, event in runtime.calls)
    assert sorted(record["body"] for record in runtime.records) == [f"m{i}" for i in range(7)]
    assert {function_id for _, function_id, _ in runtime.calls} == {"ConsumerFunction"}
    assert counts(sqs, url) == (0, 0)


def test_a_batching_window_gathers_more_than_one_receive(sqs, run_poller):
    url, _ = make_queue(sqs)
    for start in (0, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, min(start + 10, 15))],
        )
    runtime = FakeRuntime()

    run_poller(source_for(url, batch_size=15, window=2), runtime)
    runtime.wait_for(lambda rt: len(rt.records) >= 15)

    assert [len(event["Records"]) for _, _, event in runtime.calls] == [15]  # SQS gives at most 10 per receive


# ------------------------------------------------------------------ failures, retries, redrive


def test_a_reported_failure_is_retried_after_the_visibility_timeout_then_redriven_to_the_dlq(sqs, run_poller):
    url, dlq_url = make_queue(sqs, visibility=1, dlq_max_receive=2)
    send(sqs, url, "good-1", "poison", "good-2")
    runtime = FakeRuntime(fail_bodies("poison"))

    poller = run_poller(source_for(url), runtime)
    runtime.wait_for(lambda rt: sum(r["body"] == "poison" for r in rt.records) >= 2)
    deadline = time.monotonic() + 8  # the next receive after the second visibility timeout moves it
    while counts(sqs, dlq_url)[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    poller.stop()

    bodies = [record["body"] for record in runtime.records]
    assert bodies.count("poison") == 2  # maxReceiveCount receives, then the DLQ
    assert bodies.count("good-1") == bodies.count("good-2") == 1  # deleted after the first batch
    poison_counts = [r["attributes"]["ApproximateReceiveCount"] for r in runtime.records if r["body"] == "poison"]
    assert poison_counts == ["1", "2"]
    assert counts(sqs, url) == (0, 0)
    in_dlq = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    assert [message["Body"] for message in in_dlq] == ["poison"]


@pytest.mark.parametrize(
    "result",
    [
        InvocationResult("error", error_type="RuntimeError", error_message="boom"),
        InvocationResult("timeout", error_type="Sandbox.Timedout", error_message="Task timed out"),
        InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}),
        InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": ""}]}),
        InvocationResult("ok", payload="not an object"),
    ],
    ids=["error", "timeout", "unknown-identifier", "empty-identifier", "not-an-object"],
)
def test_a_function_error_or_malformed_response_deletes_nothing(sqs, run_poller, result):
    url, _ = make_queue(sqs, visibility=30)
    send(sqs, url, "a", "b", "c")
    runtime = FakeRuntime(lambda event: result)

    poller = run_poller(source_for(url), runtime)
    runtime.wait_for(lambda rt: len(rt.records) >= 3)
    poller.stop()

    assert counts(sqs, url) == (0, 3)  # all still there, invisible until the queue's own timeout


def test_without_report_batch_item_failures_a_success_deletes_the_whole_batch(sqs, run_poller):
    url, _ = make_queue(sqs, visibility=30)
    send(sqs, url, "a", "b")
    runtime = FakeRuntime(fail_bodies("a"))  # ignored: the mapping does not report item failures

    poller = run_poller(source_for(url, response_types=()), runtime)
    runtime.wait_for(lambda rt: len(rt.records) >= 2)
    poller.stop()

    assert counts(sqs, url) == (0, 0)


# ------------------------------------------------------------------ delays


def test_a_delayed_message_is_not_delivered_before_its_delay(sqs, run_poller):
    url, _ = make_queue(sqs)
    runtime = FakeRuntime()
    poller = run_poller(source_for(url), runtime)
    sent = time.monotonic()
    send(sqs, url, "delayed", DelaySeconds=2)
    send(sqs, url, "now")

    runtime.wait_for(lambda rt: {r["body"] for r in rt.records} >= {"now", "delayed"})
    poller.stop()

    delivered = {
        record["body"]: at - sent for at, _, event in runtime.calls for record in event["Records"]
    }  # seconds after sending
    assert delivered["now"] < 1.9
    assert delivered["delayed"] >= 1.9  # moto keeps whole-second, millisecond-resolution delays


# ------------------------------------------------------------------ the event


def test_the_event_is_what_lambda_sends_and_validates_with_powertools(sqs, run_poller):
    url, _ = make_queue(sqs)
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"returnInventoryId": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "resend"},
            "attempt": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    runtime = FakeRuntime()

    run_poller(source_for(url), runtime)
    runtime.wait_for(lambda rt: len(rt.records) >= 1)
    [(_, _, event)] = runtime.calls

    model = SqsModel.model_validate(event)
    [record] = model.Records
    assert record.body == '{"returnInventoryId": 1}'
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == queue_arn
    assert record.awsRegion == REGION
    assert record.attributes.ApproximateReceiveCount == "1"
    raw = event["Records"][0]
    assert set(raw) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        raw["attributes"]
    )
    assert raw["messageAttributes"] == {
        "kind": {"stringValue": "resend", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "attempt": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    json.dumps(event)  # what the worker protocol sends


def test_an_event_without_message_attributes_validates_too():
    message = {
        "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "ReceiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "Body": "test",
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
    }
    event = build_event([message], queue_arn="arn:aws:sqs:us-east-1:123456789012:q", region=REGION)
    SqsModel.model_validate(event)
    assert event["Records"][0]["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in event["Records"][0]


# ------------------------------------------------------------------ what counts as failed


IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"statusCode": 200}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m1"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, set(IDS)),
        ({"batchItemFailures": "m1"}, set(IDS)),
        ([{"itemIdentifier": "m1"}], set(IDS)),
    ],
)
def test_batch_item_failures_are_read_the_way_lambda_reads_them(payload, failed):
    assert failed_message_ids(InvocationResult("ok", payload=payload), IDS, REPORT) == failed


def test_an_error_fails_everything_and_without_reporting_a_success_fails_nothing():
    assert failed_message_ids(InvocationResult("error", error_type="X"), IDS, REPORT) == set(IDS)
    assert failed_message_ids(InvocationResult("error", error_type="X"), IDS, ()) == set(IDS)
    partial = InvocationResult("ok", payload={"batchItemFailures": [{"itemIdentifier": "m1"}]})
    assert failed_message_ids(partial, IDS, ()) == set()
