"""The delivery log: every verified webhook delivery, once, with a TTL.

One conditional put per delivery; a failed condition means we already have it.
A delivery whose apply failed is marked so that Return Helper's redelivery is
accepted and applied again instead of being dropped as a duplicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters import dynamo

APPLY_FAILED = "applyFailed"


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    raw_body: bytes
    status: str  # "accepted" (to apply), "ignored" (type not handled), "unprocessable"
    category: str | None = None
    action: str | None = None
    event_time: str | None = None
    reason: str | None = None


class DeliveryLog(dynamo.TableAdapter):
    def __init__(self, table_name: str, retention_days: int, client: Any = None) -> None:
        self._table = table_name
        self._retention_seconds = retention_days * 86400
        self._client = client

    def record(self, delivery: Delivery) -> bool:
        """Store the delivery; False when it is a duplicate of one already stored."""
        now = int(time.time())
        item: dict[str, Any] = {
            "deliveryId": delivery.delivery_id,
            "status": delivery.status,
            "receivedAt": now,
            "expiresAt": now + self._retention_seconds,
            "body": delivery.raw_body,
        }
        for name, value in (
            ("category", delivery.category),
            ("action", delivery.action),
            ("eventTime", delivery.event_time),
            ("reason", delivery.reason),
        ):
            if value:
                item[name] = value
        try:
            self.client.put_item(
                TableName=self._table,
                Item=dynamo.to_item(item),
                ConditionExpression="attribute_not_exists(deliveryId) OR #status = :applyFailed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":applyFailed": {"S": APPLY_FAILED}},
            )
            return True
        except ClientError as error:
            if dynamo.is_condition_failure(error):
                return False
            raise

    def mark_apply_failed(self, delivery_id: str, reason: str) -> None:
        self.client.update_item(
            TableName=self._table,
            Key={"deliveryId": {"S": delivery_id}},
            UpdateExpression="SET #status = :failed, reason = :reason",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":failed": {"S": APPLY_FAILED}, ":reason": {"S": reason[:500]}},
        )

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self._table, Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True
        ).get("Item")
        return dynamo.from_item(item) if item else None
