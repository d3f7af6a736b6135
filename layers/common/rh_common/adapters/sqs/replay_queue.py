"""The delivery replay queue: one message per page of a replay (rh_common.services.delivery_replay)."""

from __future__ import annotations

import json
from typing import Any

from rh_common.adapters.aws_client import ServiceAdapter


class ReplayQueue(ServiceAdapter):
    SERVICE = "sqs"

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def send(self, message: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=self._url, MessageBody=json.dumps(message))
