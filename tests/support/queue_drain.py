"""A function's SQS event source, by hand: the record Lambda builds from a received message, and a queue
drained through a handler one message per invocation (BatchSize 1)."""

from __future__ import annotations

from typing import Any

import boto3


def lambda_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + queue_url.rsplit("/", 1)[1],
        "awsRegion": "us-east-1",
    }


def receive(queue_url: str) -> list[dict[str, Any]]:
    return boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])


def drain(function: Any, queue_url: str, lambda_context: Any, rounds: int = 60) -> int:
    """Run `function`'s handler on the queue until it is empty (every record handled, then deleted):
    how many messages it handled."""
    sqs, handled = boto3.client("sqs"), 0
    for _ in range(rounds):
        messages = receive(queue_url)
        if not messages:
            return handled
        for message in messages:
            event = {"Records": [lambda_record(message, queue_url)]}
            assert function.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    raise AssertionError(f"{queue_url} never emptied")
