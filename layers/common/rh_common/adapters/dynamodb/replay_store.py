"""Delivery replay records: the search, a cursor, and progress counters; each page counted once.

A page's counters, the cursor after it and `pagesDone` go into one UpdateItem conditioned on `pagesDone`
being that page's number, so a page message SQS delivers twice is replayed twice (harmless: state is
versioned by event) but counted once. `pagesSent` records that the next page's message was queued.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base
from rh_common.domain.delivery_search import DONE, RUNNING


class ReplayStore(base.TableAdapter):
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table = table_name
        self._client = client

    def create(self, record: dict[str, Any]) -> None:
        # A new replay's id is fresh: a taken one is a bug, left to fail loudly (a ClientError), not an answer.
        self.client.put_item(**base.put_new(self._table, record, "replayId"))

    def get(self, replay_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self._table, Key={"replayId": {"S": replay_id}}, ConsistentRead=True).get(
            "Item"
        )
        return base.from_item(item) if item else None

    def count_page(
        self,
        replay_id: str,
        page: int,
        counters: dict[str, int],
        outcomes: dict[str, int],
        cursor: str | None,
        now: str,
    ) -> bool:
        """Count page `page` (ADD `counters`, each outcome into `outcomes`), move the cursor on (None: the last
        page, the replay is DONE); False when that page was counted before (nothing written)."""
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {
            ":page": base.to_attribute(page),
            ":next": base.to_attribute(page + 1),
            ":running": {"S": RUNNING},
            ":now": {"S": now},
        }
        sets = ["pagesDone = :next", "updatedAt = :now"]
        removes = []
        if cursor is None:
            sets.append("#status = :done")
            values[":done"] = {"S": DONE}
            removes.append("#cursor")
        else:
            sets.append("#cursor = :cursor")
            values[":cursor"] = {"S": cursor}
        names["#cursor"] = "cursor"
        if outcomes:
            values[":zero"] = {"N": "0"}
        for placeholder, value in base.placeholders("o", outcomes, names, values):
            sets.append(f"outcomes.{placeholder} = if_not_exists(outcomes.{placeholder}, :zero) + {value}")
        adds = [f"{name} {value}" for name, value in base.placeholders("c", counters, names, values)]
        try:
            self.client.update_item(
                TableName=self._table,
                Key={"replayId": {"S": replay_id}},
                UpdateExpression=base.update_expression(sets, removes, adds),
                ConditionExpression="#status = :running AND pagesDone = :page",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise
        return True

    def mark_sent(self, replay_id: str, page: int) -> None:
        """The message of page `page` is queued (only forward)."""
        try:
            self.client.update_item(
                TableName=self._table,
                Key={"replayId": {"S": replay_id}},
                UpdateExpression="SET pagesSent = :page",
                ConditionExpression="pagesSent < :page",
                ExpressionAttributeValues={":page": base.to_attribute(page)},
            )
        except ClientError as error:
            if not base.is_condition_failure(error):
                raise
