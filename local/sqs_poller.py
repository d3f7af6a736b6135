"""Local SQS event source mappings: one poller thread per enabled `SQS` event of template.yaml.

Like Lambda's mapping, each poller long-polls its queue (1 s waits, so the stack stops quickly)
with every attribute, gathers up to BatchSize messages within MaximumBatchingWindowInSeconds,
invokes the function with the event Lambda builds, and on success deletes the batch except, with
ReportBatchItemFailures, the messages the function listed; after a function error or timeout
nothing is deleted. Failed messages are left alone: SQS shows them again after the queue's
VisibilityTimeout and its RedrivePolicy moves one to the dead-letter queue after maxReceiveCount
receives (moto server implements that redrive, and DelaySeconds). One batch in flight per source:
within the template's ScalingConfig.MaximumConcurrency, and logs stay readable.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from local.aws_services import client
from local.background import BackgroundLoop, Invoke, outcome, reported_failures
from local.processes import log
from local.template import SqsEventSource

RECEIVE_WAIT_SECONDS = 1  # long-poll length; bounds how long stop() waits for a poller
MAX_RECEIVE = 10  # SQS's MaxNumberOfMessages cap


def lambda_message_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict]:
    """SQS API MessageAttributes (boto3 shape) in the shape Lambda puts in a record."""
    converted = {}
    for name, value in (attributes or {}).items():
        record: dict[str, Any] = {}
        if value.get("StringValue") is not None:
            record["stringValue"] = value["StringValue"]
        if value.get("BinaryValue") is not None:
            record["binaryValue"] = _base64(value["BinaryValue"])
        # SQS reserves the list types and never fills them; Lambda still sends them, empty.
        record.update(stringListValues=[], binaryListValues=[], dataType=value["DataType"])
        converted[name] = record
    return converted


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value.encode("utf-8") if isinstance(value, str) else value).decode("ascii")


def build_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from one ReceiveMessage message."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),  # every system attribute SQS returned
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes")),
        "md5OfBody": message.get("MD5OfBody"),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return {**record, "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


def build_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [build_record(message, queue_arn=queue_arn, region=region) for message in messages]}


def failed_message_ids(result: Any, message_ids: Sequence[str], function_response_types: Iterable[str]) -> set[str]:
    """The messages of a batch that stay in the queue after this invocation result."""
    failed = reported_failures(result, message_ids, function_response_types)
    return set(message_ids if failed is None else failed)


class SqsPoller(BackgroundLoop):
    """Lambda's event source mapping for one SQS event: receive, invoke, delete, in a daemon thread."""

    component = "sqs"

    def __init__(self, source: SqsEventSource, invoke: Invoke, *, aws_endpoint: str, region: str) -> None:
        super().__init__()
        self.source, self._invoke, self._region = source, invoke, region
        self._sqs = client("sqs", aws_endpoint, region)
        self._queue_arn: str | None = None
        self.label = f"{source.function_id}.{source.event_name}"

    def step(self) -> None:
        if self._queue_arn is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.source.queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = attributes["Attributes"]["QueueArn"]
        messages = self._gather()
        if messages and not self._stopping.is_set():
            self._process(messages)

    def _gather(self) -> list[dict]:
        """Up to BatchSize messages: the first receive that returns any, then short polls until the window closes.

        Stopping returns what was gathered: it becomes visible again after the visibility timeout."""
        batch_size, messages, window_ends = max(1, self.source.batch_size), [], None
        while not self._stopping.is_set() and len(messages) < batch_size:
            if window_ends is not None and time.monotonic() >= window_ends:
                break
            received = self._sqs.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, batch_size - len(messages)),
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS if window_ends is None else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if messages and window_ends is None:
                window_ends = time.monotonic() + max(0, self.source.maximum_batching_window_seconds)
            elif window_ends is not None and not received:
                self._stopping.wait(0.05)
        return messages

    def _process(self, messages: list[dict]) -> None:
        assert self._queue_arn is not None
        event = build_event(messages, queue_arn=self._queue_arn, region=self._region)
        result = self._invoke(self.source.function_id, event)
        ids = [message["MessageId"] for message in messages]
        failed = failed_message_ids(result, ids, self.source.function_response_types)
        to_delete = [message for message in messages if message["MessageId"] not in failed]
        not_deleted = self._delete(to_delete)
        log(
            "sqs",
            f"{self.label} <- {self.source.queue_id}: {len(messages)} message(s), {outcome(result)}, "
            f"{len(failed)} left for retry/redrive" + (f", {not_deleted} could not be deleted" if not_deleted else ""),
        )

    def _delete(self, messages: list[dict]) -> int:
        """DeleteMessageBatch in chunks of 10; returns how many SQS refused (e.g. an expired receipt handle)."""
        refused = 0
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = enumerate(messages[start : start + MAX_RECEIVE])
            entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in chunk]
            response = self._sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
            refused += len(response.get("Failed") or [])
        return refused
