"""Inventory sync records: progress counters updated atomically, each page counted once.

A page's counters (or a window's total) and its key go into one conditional UpdateItem (`NOT contains(donePages,
:page)`), so a page message SQS delivers twice is applied twice (harmless: versioned facts)
but counted once.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base
from rh_common.domain.sync_windows import DONE, FAILED, RUNNING


class SyncStore(base.TableAdapter):
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table = table_name
        self._client = client

    def create(self, record: dict[str, Any]) -> None:
        # A new sync's id is fresh: a taken one is a bug, left to fail loudly (a ClientError), not an answer.
        self.client.put_item(**base.put_new(self._table, record, "syncId"))

    def get(self, sync_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self._table, Key={"syncId": {"S": sync_id}}, ConsistentRead=True).get(
            "Item"
        )
        return base.from_item(item) if item else None

    def count(self, sync_id: str, key: str, counters: dict[str, int], now: str) -> dict[str, Any] | None:
        """ADD `counters` once per `key` (a page, or a window's total); the record after, or None
        when that key was counted before."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":keys": {"SS": [key]}, ":key": {"S": key}, ":now": {"S": now}}
        adds = [f"{name} {value}" for name, value in base.placeholders("c", counters, names, values)]
        adds.append("donePages :keys")
        try:
            response = self.client.update_item(
                TableName=self._table,
                Key={"syncId": {"S": sync_id}},
                UpdateExpression=base.update_expression(["updatedAt = :now"], adds=adds),
                ConditionExpression="attribute_exists(syncId) AND NOT contains(donePages, :key)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if base.is_condition_failure(error):
                return None
            raise
        return base.from_item(response["Attributes"])

    def finish(self, sync_id: str, now: str) -> bool:
        """RUNNING -> DONE once every window's total is known and every page is counted."""
        return self._set_status(
            sync_id,
            DONE,
            "#status = :running AND windowsPending = :zero AND pagesDone = pagesTotal",
            {":zero": {"N": "0"}},
            now,
        )

    def fail(self, sync_id: str, message: str, now: str) -> bool:
        """RUNNING -> FAILED with the upstream error in errors (the pages done stay applied)."""
        return self._set_status(
            sync_id,
            FAILED,
            "#status = :running",
            {":error": {"L": [{"M": {"message": {"S": message[:500]}}}]}, ":empty": {"L": []}},
            now,
            extra="errors = list_append(if_not_exists(errors, :empty), :error)",
        )

    def _set_status(
        self, sync_id: str, status: str, condition: str, values: dict, now: str, extra: str | None = None
    ) -> bool:
        sets = ["#status = :new", "updatedAt = :now", *([extra] if extra else [])]
        try:
            self.client.update_item(
                TableName=self._table,
                Key={"syncId": {"S": sync_id}},
                UpdateExpression=base.update_expression(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":new": {"S": status},
                    ":running": {"S": RUNNING},
                    ":now": {"S": now},
                    **values,
                },
            )
            return True
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise
