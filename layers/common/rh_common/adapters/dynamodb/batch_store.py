"""Batch records (POST /resends/batch), keyed by the batch's Idempotency-Key.

One item per batch: the request's fingerprint, the plan once made, each group's
entry once every group has an answer, and `answerBefore` (until when a first call
still running blocks the key). Plan and entries are JSON strings: read whole, never queried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base
from rh_common.domain.errors import BatchExists

_JSON_FIELDS = ("plan", "entries")


class BatchStore(base.TableAdapter):
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table = table_name
        self._client = client

    def get(self, batch_key: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self._table, Key={"batchKey": {"S": batch_key}}, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return None
        record = base.from_item(item)
        for name in _JSON_FIELDS:
            if name in record:
                record[name] = json.loads(record[name])
        return record

    def create(self, record: Mapping[str, Any]) -> None:
        if not base.create(self.client, self._table, _encoded(record), "batchKey"):
            raise BatchExists(record["batchKey"])

    def claim(self, batch_key: str, seen_answer_before: int, answer_before: int) -> bool:
        """Take over a batch whose first call died (its answerBefore passed); False if another did."""
        try:
            self.client.update_item(
                TableName=self._table,
                Key={"batchKey": {"S": batch_key}},
                UpdateExpression="SET answerBefore = :new",
                ConditionExpression="answerBefore = :seen",
                ExpressionAttributeValues={":new": {"N": str(answer_before)}, ":seen": {"N": str(seen_answer_before)}},
            )
            return True
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise

    def update(self, batch_key: str, changes: Mapping[str, Any]) -> None:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes = base.assignments("c", _encoded(changes), names, values)
        self.client.update_item(
            TableName=self._table,
            Key={"batchKey": {"S": batch_key}},
            UpdateExpression=base.update_expression(sets, removes),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


def _encoded(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: json.dumps(value, separators=(",", ":")) if name in _JSON_FIELDS else value
        for name, value in record.items()
    }
