"""The reference table (template.yaml InventoryReferenceTable): `ref` = `<type>#<value>`, sort key the inventory id.

Rows are written by the inventory stream's consumer (functions/inventory_references) from each item's image
(domain/references.py); the webhook writes one row itself: a consolidation order's cancellation marker
(sort key 0), in the transaction that marks the delivery applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.adapters.dynamodb.inventory_store import record_from_item
from rh_common.domain import inventory, stock
from rh_common.domain.eligibility import RESERVATION_ATTRIBUTE
from rh_common.domain.errors import InvalidPageToken
from rh_common.domain.inventory import STATE_ATTRIBUTES
from rh_common.domain.references import (
    ATTRIBUTES,
    CANCELLATION_ROW,
    CONSOLIDATION_ORDER,
    ItemChanged,
    OrderCancelled,
    reference,
)

_INVENTORY_KEY = "returnInventoryId"
_BATCH_WRITE_ITEMS = 25  # BatchWriteItem's cap
_BATCH_GET_KEYS = 100  # BatchGetItem's cap
_TOKEN = {"h": str, "i": int}  # the look-up the token belongs to (a digest of its reference), the last id
# An aged listing's token: its warehouse's reference (a digest), and the last row's key in ByLoggedAt (its
# sortable loggedAt and id): a GSI page resumes from the index key and the table key.
_AGING_TOKEN = {"h": str, "l": str, "i": int}


def order_reference(order_id: str) -> str:
    ref = reference(CONSOLIDATION_ORDER, order_id)
    if ref is None:
        raise ValueError("a consolidation order id must be a non-empty string of at most 1024 bytes")
    return ref


def _digest(ref: str) -> str:
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()[:16]


class ReferenceStore(base.TableAdapter):
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table = table_name
        self._client = client

    def _key(self, ref: str, inventory_id: int) -> dict[str, Any]:
        return {"ref": base.to_attribute(ref), _INVENTORY_KEY: base.to_attribute(inventory_id)}

    # ------------------------------------------------------------------ the stream consumer's writes
    def replace(
        self,
        inventory_id: int,
        write: Iterable[str],
        delete: Iterable[str],
        row_values: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """One item's rows: `write` put (with `row_values[ref]` when given), `delete` deleted (disjoint), in
        BatchWriteItem requests of 25, unprocessed ones asked again."""
        values = row_values or {}
        requests = [
            {"PutRequest": {"Item": {**self._key(ref, inventory_id), **self._values(values.get(ref, {}))}}}
            for ref in sorted(write)
        ]
        requests += [{"DeleteRequest": {"Key": self._key(ref, inventory_id)}} for ref in sorted(delete)]
        for start in range(0, len(requests), _BATCH_WRITE_ITEMS):
            pending: dict[str, Any] = {self._table: requests[start : start + _BATCH_WRITE_ITEMS]}
            while pending:
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    @staticmethod
    def _values(row: Mapping[str, Any]) -> dict[str, Any]:
        return {name: base.to_attribute(value) for name, value in row.items() if value is not None}

    def add_aging_warehouse(self, warehouse_id: int) -> None:
        self.client.put_item(TableName=self._table, Item=self._key(stock.AGING_WAREHOUSES, warehouse_id))

    def members(self, order_id: str) -> list[int]:
        """The items packed into a consolidation order, as far as their rows say (strongly consistent)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#ref = :ref AND #id > :marker",
            "ExpressionAttributeNames": {"#ref": "ref", "#id": _INVENTORY_KEY},
            "ExpressionAttributeValues": {
                ":ref": base.to_attribute(order_reference(order_id)),
                ":marker": base.to_attribute(CANCELLATION_ROW),
            },
            "ConsistentRead": True,
        }
        found: list[int] = []
        while True:
            response = self.client.query(**query)
            found += [int(item[_INVENTORY_KEY]["N"]) for item in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def cancellation(self, order_id: str) -> tuple[str, str] | None:
        """(version, eventTime) of the order's cancellation, if one was delivered (strongly consistent)."""
        item = self.client.get_item(
            TableName=self._table, Key=self._key(order_reference(order_id), CANCELLATION_ROW), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        plain = base.from_item(item)
        return plain["cancelledVersion"], plain["cancelledAt"]

    # ------------------------------------------------------------------ the webhook's write
    def cancel_order(self, order_id: str, version: str, event_time: str, also: Mapping[str, Any]) -> None:
        """The order's cancellation marker and `also` (the delivery log's "applied" mark) in one
        TransactWriteItems. A redelivery writes the same marker again: no change, no stream record."""
        marker = {
            **self._key(order_reference(order_id), CANCELLATION_ROW),
            "cancelledVersion": base.to_attribute(version),
            "cancelledAt": base.to_attribute(event_time),
        }
        self.client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self._table, "Item": marker}}, {"Update": dict(also)}]
        )

    def stored_items(self, inventory_table: str, page_size: int = 500) -> Iterator[ItemChanged]:
        """One-off, for a stack upgraded to this table (ops/references.py; no function calls it): every stored
        item's reference attributes, from a Scan of the inventory table, as if it had just been written."""
        # The attributes every row is derived from: the look-ups', and the stock and aging rows' (the item's state).
        projected = (_INVENTORY_KEY, *ATTRIBUTES.values(), *STATE_ATTRIBUTES, RESERVATION_ATTRIBUTE)
        names = {f"#p{i}": name for i, name in enumerate(dict.fromkeys(projected))}
        scan: dict[str, Any] = {
            "TableName": inventory_table,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "Limit": page_size,
        }
        while True:
            response = self.client.scan(**scan)
            for item in response.get("Items", []):
                plain = base.from_item(item)
                yield ItemChanged(int(plain.pop(_INVENTORY_KEY)), None, {RESERVATION_ATTRIBUTE: None, **plain})
            if not response.get("LastEvaluatedKey"):
                return
            scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ look-ups
    def page(self, ref: str, limit: int, next_token: str | None = None) -> tuple[list[int], str | None]:
        """One Query: the ids of a page of the items with this reference, and the token of the next page.
        InvalidPageToken for a token that is not ours or belongs to another look-up."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#ref = :ref AND #id > :marker",
            "ExpressionAttributeNames": {"#ref": "ref", "#id": _INVENTORY_KEY},
            "ExpressionAttributeValues": {
                ":ref": base.to_attribute(ref),
                ":marker": base.to_attribute(CANCELLATION_ROW),
            },
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = self._start_key(ref, next_token)
        response = self.client.query(**query)
        ids = [int(item[_INVENTORY_KEY]["N"]) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        token = _page_token(ref, last) if last else None
        return ids, token

    def _start_key(self, ref: str, next_token: str) -> dict[str, Any]:
        """Where a page of this reference's rows resumes; InvalidPageToken for a token that is not ours or
        belongs to another look-up."""
        fields = page_tokens.decode(next_token, _TOKEN)
        if fields["h"] != _digest(ref):
            raise InvalidPageToken("nextToken belongs to another look-up")
        return self._key(ref, int(fields["i"]))

    def _query_all(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            response = self.client.query(**query)
            yield from (base.from_item(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def stock_rows(self, sku: str) -> list[stock.StockRow]:
        """Every `stock#<sku>` row: one Query, paged through (eventually consistent, as the index is)."""
        ref = stock.stock_reference(sku)
        if ref is None:  # a SKU no row can hold: no stock
            return []
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "#ref = :ref",
            "ExpressionAttributeNames": {"#ref": "ref"},
            "ExpressionAttributeValues": {":ref": base.to_attribute(ref)},
        }
        return [
            stock.StockRow(int(row[_INVENTORY_KEY]), int(row["warehouseId"]), row["handlingCode"], row.get("loggedAt"))
            for row in self._query_all(query)
        ]

    def aging_warehouses(self) -> list[int]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "#ref = :ref",
            "ExpressionAttributeNames": {"#ref": "ref"},
            "ExpressionAttributeValues": {":ref": base.to_attribute(stock.AGING_WAREHOUSES)},
        }
        return [int(row[_INVENTORY_KEY]) for row in self._query_all(query)]

    def aging_page(
        self, warehouse_id: int, logged_before: str, limit: int, next_token: str | None = None
    ) -> tuple[list[stock.AgingRow], str | None]:
        """One Query of ByLoggedAt: the warehouse's idle items logged before `logged_before`, oldest first, at
        most `limit` (eventually consistent, as a GSI is). Only those rows are read, never the younger ones.
        InvalidPageToken for a token that is not ours or belongs to another listing."""
        ref = stock.aging_reference(warehouse_id)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByLoggedAt",
            "KeyConditionExpression": "#ref = :ref AND #logged < :before",
            "ExpressionAttributeNames": {"#ref": "ref", "#logged": stock.LOGGED_AT_SORTABLE},
            "ExpressionAttributeValues": {
                ":ref": base.to_attribute(ref),
                ":before": base.to_attribute(logged_before),
            },
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = self._aging_start_key(ref, logged_before, next_token)
        response = self.client.query(**query)
        rows = [base.from_item(item) for item in response.get("Items", [])]
        found = [
            stock.AgingRow(
                int(row[_INVENTORY_KEY]), int(row["warehouseId"]), row.get("sku"), row["handlingCode"], row["loggedAt"]
            )
            for row in rows
        ]
        last = response.get("LastEvaluatedKey")
        token = None
        if last:
            fields = {"h": _digest(ref), "l": last[stock.LOGGED_AT_SORTABLE]["S"], "i": int(last[_INVENTORY_KEY]["N"])}
            token = page_tokens.encode(fields)
        return found, token

    def _aging_start_key(self, ref: str, logged_before: str, next_token: str) -> dict[str, Any]:
        fields = page_tokens.decode(next_token, _AGING_TOKEN)
        if fields["h"] != _digest(ref):
            raise InvalidPageToken("nextToken belongs to another listing")
        # Within the Query's range, or DynamoDB refuses the start key: a listing of fewer days' age stops at a
        # younger row than this one ever reaches (the cut-off only moves on with time).
        if not str(fields["l"]) < logged_before:
            raise InvalidPageToken("nextToken belongs to another listing")
        return {**self._key(ref, int(fields["i"])), stock.LOGGED_AT_SORTABLE: base.to_attribute(fields["l"])}

    # ------------------------------------------------------------------ the aging alerts' markers
    def published(self, inventory_ids: Iterable[int], stale_before: str) -> set[int]:
        """BatchGetItem of the markers, 100 keys a request, unprocessed keys asked again (strongly consistent:
        the last run's marks are seen): the published ones and the claims not older than `stale_before`."""
        keys = [self._key(stock.AGING_ALERTS, i) for i in dict.fromkeys(inventory_ids)]
        found: set[int] = set()
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                self._table: {"Keys": keys[start : start + _BATCH_GET_KEYS], "ConsistentRead": True}
            }
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                markers = map(base.from_item, response["Responses"].get(self._table, []))
                found |= {
                    int(marker[_INVENTORY_KEY])
                    for marker in markers
                    if marker.get("alertState") == "published" or str(marker.get("claimedAt")) >= stale_before
                }
                pending = response.get("UnprocessedKeys") or {}
        return found

    def claim(self, inventory_id: int, now: str, stale_before: str) -> bool:
        try:
            self.client.put_item(
                TableName=self._table,
                Item={
                    **self._key(stock.AGING_ALERTS, inventory_id),
                    "alertState": base.to_attribute("claimed"),
                    "claimedAt": base.to_attribute(now),
                },
                ConditionExpression="attribute_not_exists(#ref) OR (#state = :claimed AND #at < :stale)",
                ExpressionAttributeNames={"#ref": "ref", "#state": "alertState", "#at": "claimedAt"},
                ExpressionAttributeValues={
                    ":claimed": base.to_attribute("claimed"),
                    ":stale": base.to_attribute(stale_before),
                },
            )
        except ClientError as refused:
            if base.is_condition_failure(refused):  # published, or claimed by a run that is not stale
                return False
            raise
        return True

    def mark_published(self, inventory_id: int) -> None:
        self.client.update_item(
            TableName=self._table,
            Key=self._key(stock.AGING_ALERTS, inventory_id),
            UpdateExpression="SET #state = :published",
            ExpressionAttributeNames={"#state": "alertState"},
            ExpressionAttributeValues={":published": base.to_attribute("published")},
        )

    def release(self, inventory_id: int) -> None:
        self.client.delete_item(
            TableName=self._table,
            Key=self._key(stock.AGING_ALERTS, inventory_id),
            ConditionExpression="#state = :claimed",
            ExpressionAttributeNames={"#state": "alertState"},
            ExpressionAttributeValues={":claimed": base.to_attribute("claimed")},
        )


def stream_change(record: Mapping[str, Any]) -> ItemChanged | OrderCancelled | None:
    """What a stream record of the inventory or the reference table says (None: a reference row, which
    is nobody's business but a cancellation marker). KeyError, TypeError or ValueError for anything else."""
    change = record["dynamodb"]
    keys = base.from_item(change["Keys"])
    old, new = change.get("OldImage"), change.get("NewImage")
    if record["eventName"] == "REMOVE":
        new = None
    if "ref" not in keys:
        return ItemChanged(
            int(keys[_INVENTORY_KEY]),
            inventory.attributes(record_from_item(old)) if old else None,
            inventory.attributes(record_from_item(new)) if new else None,
        )
    ref_type, _, order_id = str(keys["ref"]).partition("#")
    if ref_type != CONSOLIDATION_ORDER or keys[_INVENTORY_KEY] != CANCELLATION_ROW or not new:
        return None
    marker = base.from_item(new)
    return OrderCancelled(order_id, str(marker["cancelledVersion"]), str(marker["cancelledAt"]))


def _page_token(ref: str, last_key: dict[str, Any]) -> str:
    return page_tokens.encode({"h": _digest(ref), "i": int(last_key[_INVENTORY_KEY]["N"])})
