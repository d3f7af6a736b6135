"""Resend request records, and the item reservations that make "never sent twice" hold.

Reserving is one DynamoDB transaction: create the request record and mark every
item as held by it, conditional on none being held. Concurrent requests for
overlapping items: exactly one transaction wins (DynamoDB serialises them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import inventory_keys, records_by_id
from rh_common.adapters.dynamodb.quote_cache import cache_key, entry_of
from rh_common.domain.errors import Conflict, RequestExists, ReservationConflict
from rh_common.domain.inventory import InventoryRecord

_POLL_STATE = ("resendRequestId", "updatedAt", "lastPolledAt", "pollBackoffSeconds")


class ResendStore(base.TableAdapter):
    def __init__(
        self, table_name: str, inventory_table_name: str, quote_table_name: str | None, client: Any = None
    ) -> None:
        self._table = table_name
        self._inventory_table = inventory_table_name
        self._quote_table = quote_table_name  # the cache table (CACHE_TABLE): only the create path reads it
        self._client = client

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self._table, Key={"resendRequestId": {"S": request_id}}, ConsistentRead=True
        ).get("Item")
        return base.from_item(item) if item else None

    def get_with_items(
        self, request_id: str | None, inventory_ids: Iterable[int], quote_key: str
    ) -> tuple[dict[str, Any] | None, dict[int, InventoryRecord], dict[str, Any] | None]:
        """The record (None if there is none, or no id is given), the items and the cached quote entry under
        `quote_key` (None if none is current), in one TransactGetItems over the three tables: a concurrent
        reservation is seen whole or not at all (base.transact_get), and the quote costs no round trip."""
        if self._quote_table is None:
            raise RuntimeError("ResendStore was built without the cache table (CACHE_TABLE): the create path needs it")
        keys = {self._inventory_table: inventory_keys(inventory_ids), self._quote_table: [cache_key(quote_key)]}
        if request_id is not None:
            keys[self._table] = [{"resendRequestId": {"S": request_id}}]
        items = base.transact_get(self.client, keys)
        records = items.get(self._table) or []
        quotes = items[self._quote_table]
        return (
            base.from_item(records[0]) if records else None,
            records_by_id(items[self._inventory_table]),
            entry_of(quotes[0], time.time()) if quotes else None,
        )

    def find_by_resend_id(self, resend_id: int) -> dict[str, Any] | None:
        """The request Return Helper knows as `resend_id` (index lookup, then a consistent read)."""
        response = self.client.query(
            TableName=self._table,
            IndexName="ByResendId",
            KeyConditionExpression="resendId = :id",
            ExpressionAttributeValues={":id": {"N": str(resend_id)}},
        )
        items = response.get("Items") or []
        return self.get(items[0]["resendRequestId"]["S"]) if items else None

    def ids_with_status(self, status: str, updated_before: str) -> list[str]:
        """Request ids in `status` not updated since `updated_before` (ISO), oldest first."""
        ids: list[str] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByStatus",
            "KeyConditionExpression": "#status = :status AND updatedAt < :before",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}, ":before": {"S": updated_before}},
        }
        while True:
            response = self.client.query(**query)
            ids += [item["resendRequestId"]["S"] for item in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                return ids
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def poll_states(self, status: str, updated_before: str) -> list[dict[str, Any]]:
        """The reconciler's view of the requests in `status` not updated since `updated_before`: each one's
        resendRequestId, updatedAt and what its polls left (lastPolledAt, pollBackoffSeconds), without the
        rest of the record (one index query, one BatchGetItem per 100)."""
        keys = [{"resendRequestId": {"S": i}} for i in self.ids_with_status(status, updated_before)]
        items = base.batch_get(self.client, {self._table: keys}, consistent=False, attributes=_POLL_STATE)
        return [base.from_item(item) for item in items[self._table]]

    def create(self, record: Mapping[str, Any]) -> None:
        """A record that reserves nothing (e.g. refused before reserving); RequestExists if taken."""
        if not base.create(self.client, self._table, record, "resendRequestId"):
            raise RequestExists(record["resendRequestId"])

    def reserve(self, record: Mapping[str, Any], inventory_ids: Iterable[int]) -> None:
        """Create the record and hold every item for it, all or nothing."""
        request_id = record["resendRequestId"]
        ids = list(inventory_ids)
        actions: list[dict[str, Any]] = [{"Put": base.put_new(self._table, record, "resendRequestId")}]
        actions += [
            {
                "Update": {
                    "TableName": self._inventory_table,
                    "Key": {"returnInventoryId": {"N": str(inventory_id)}},
                    "UpdateExpression": "SET activeResendRequestId = :request",
                    "ConditionExpression": (
                        "attribute_exists(returnInventoryId) AND attribute_not_exists(activeResendRequestId)"
                    ),
                    "ExpressionAttributeValues": {":request": {"S": request_id}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for inventory_id in ids
        ]
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            failed = base.failed_conditions(error)
            if failed is None:
                raise
            if 0 in failed:  # the record's Put
                raise RequestExists(request_id) from error
            conflicts = [  # action i > 0 holds ids[i - 1]
                Conflict(ids[index - 1], base.from_item(item).get("activeResendRequestId") if item else None)
                for index, item in failed.items()
                if index <= len(ids)
            ]
            if not conflicts:
                raise  # cancelled for another reason (throttling, conflict with a running transaction)
            raise ReservationConflict(conflicts) from error

    def transition(
        self,
        request_id: str,
        expected_statuses: Iterable[str],
        changes: Mapping[str, Any],
        release_items: Iterable[int] = (),
        unchanged: Mapping[str, Any] | None = None,
    ) -> bool:
        """Apply `changes` (a None value removes the attribute) if the status is one of `expected_statuses`
        and each attribute of `unchanged` still has the value seen (None: still absent); optionally release
        the items this request holds, in the same transaction. False when the record had moved on."""
        record_update = self._record_update(request_id, list(expected_statuses), changes, unchanged)
        releases = [{"Update": self._release(inventory_id, request_id)} for inventory_id in release_items]
        try:
            if releases:
                self.client.transact_write_items(TransactItems=[{"Update": record_update}, *releases])
            else:
                self.client.update_item(**record_update)
            return True
        except ClientError as error:
            failed = base.failed_conditions(error)
            if not failed:  # not a failed condition, or a cancellation for other reasons
                raise
            if 0 in failed:  # the record's own condition: it had moved on
                return False
            # An item is no longer held by this request: release the ones that are.
            return self._transition_then_release(record_update, request_id, release_items)

    def transition_with(
        self, request_id: str, expected_statuses: Iterable[str], changes: Mapping[str, Any], updates: list[dict]
    ) -> bool:
        """`transition` and other conditional updates (e.g. the items' facts) in one transaction.
        False when it was cancelled (the status had moved on, or an update's condition failed): nothing
        was written, and the caller falls back to writing them one by one."""
        record_update = self._record_update(request_id, list(expected_statuses), changes)
        try:
            self.client.transact_write_items(TransactItems=[{"Update": u} for u in (record_update, *updates)])
            return True
        except ClientError as error:
            if base.error_code(error) == "TransactionCanceledException":
                return False
            raise

    def _record_update(
        self,
        request_id: str,
        expected: list[str],
        changes: Mapping[str, Any],
        unchanged: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        names = {"#status": "status"}
        values: dict[str, Any] = {f":expected{i}": base.to_attribute(s) for i, s in enumerate(expected)}
        conditions = [f"#status IN ({', '.join(values)})"]
        sets, removes = base.assignments("c", changes, names, values)
        for name, value in base.placeholders("u", unchanged or {}, names, values):
            conditions.append(f"attribute_not_exists({name})" if value is None else f"{name} = {value}")
        return {
            "TableName": self._table,
            "Key": {"resendRequestId": {"S": request_id}},
            "UpdateExpression": base.update_expression(sets, removes),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _transition_then_release(self, record_update: dict, request_id: str, items: Iterable[int]) -> bool:
        try:
            self.client.update_item(**record_update)
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise
        for inventory_id in items:
            try:
                self.client.update_item(**self._release(inventory_id, request_id))
            except ClientError as error:
                if not base.is_condition_failure(error):
                    raise
        return True

    def _release(self, inventory_id: int, request_id: str) -> dict[str, Any]:
        """The update that frees one item, if `request_id` still holds it (one home for both release paths)."""
        return {
            "TableName": self._inventory_table,
            "Key": {"returnInventoryId": {"N": str(inventory_id)}},
            "UpdateExpression": "REMOVE activeResendRequestId",
            "ConditionExpression": "activeResendRequestId = :request",
            "ExpressionAttributeValues": {":request": {"S": request_id}},
        }
