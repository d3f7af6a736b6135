"""The inventory sync queue: one message per page to read (a window's page, or ids to re-read)."""

from __future__ import annotations

import json
from typing import Any

from rh_common.adapters.aws_client import ServiceAdapter
from rh_common.domain.retry_policy import SQS_MAX_DELAY_SECONDS


class SyncQueue(ServiceAdapter):
    SERVICE = "sqs"

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, messages: list[dict[str, Any]], delay_seconds: int = 0) -> None:
        delay = max(0, min(SQS_MAX_DELAY_SECONDS, int(delay_seconds)))
        for start in range(0, len(messages), 10):  # SendMessageBatch's cap
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(message), "DelaySeconds": delay}
                for index, message in enumerate(messages[start : start + 10])
            ]
            response = self.client.send_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"sync queue refused {len(response['Failed'])} messages")
