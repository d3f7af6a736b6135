"""A queue's dead-letter queue, written by the worker itself: a message it will never act on is moved
there at once (sent, then deleted from its queue as handled), not after its receives run out."""

from __future__ import annotations

from typing import Any

from rh_common.adapters.aws_client import ServiceAdapter


class DeadLetterQueue(ServiceAdapter):
    SERVICE = "sqs"

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def move(self, body: str, reason: str) -> str:
        """The original body, unchanged, with why it was refused as a message attribute (no values)."""
        response = self.client.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={"refusedBecause": {"DataType": "String", "StringValue": reason}},
        )
        return response["MessageId"]
