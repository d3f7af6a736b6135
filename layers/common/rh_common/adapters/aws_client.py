"""The SQS and EventBridge adapters' base: one boto3 client per service and process, made on first use.

Like `dynamodb.base.TableAdapter` (DynamoDB keeps its own: its tests reset that client between moto runs):
the cold start pays for a client once, and an invocation that never calls the service never does.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal

import boto3
from botocore.config import Config

Service = Literal["sqs", "events"]  # the services of these adapters (DynamoDB's client is dynamo.client)


@cache
def client(service: Service, max_attempts: int | None = None) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}) if max_attempts else None
    return boto3.client(service, config=config)


class ServiceAdapter:
    """`client`: the one passed to the adapter (tests), else the process's client for `SERVICE`."""

    SERVICE: ClassVar[Service]
    MAX_ATTEMPTS: ClassVar[int | None] = None  # None: boto3's default retries
    _client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client(self.SERVICE, self.MAX_ATTEMPTS)
        return self._client
