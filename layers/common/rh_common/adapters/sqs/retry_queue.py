"""The resend retry queue: SQS carries the backoff (message delay), not a sleeping Lambda."""

from __future__ import annotations

import json
from typing import Any

from rh_common.adapters.aws_client import ServiceAdapter
from rh_common.domain.retry_policy import SQS_MAX_DELAY_SECONDS


class RetryQueue(ServiceAdapter):
    SERVICE = "sqs"

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def schedule(self, resend_request_id: str, delay_seconds: int) -> str:
        response = self.client.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"resendRequestId": resend_request_id}),
            DelaySeconds=max(0, min(SQS_MAX_DELAY_SECONDS, int(delay_seconds))),
        )
        return response["MessageId"]
