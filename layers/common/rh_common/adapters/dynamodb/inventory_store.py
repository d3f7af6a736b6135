"""Inventory state in DynamoDB, keyed by returnInventoryId.

Writes never read first: the fast path is one conditional update that holds when
the event is newer than everything the item has seen (in-order arrival). When it
is not, the failed condition hands back the stored item and the pure reducer
decides what the late event still wins; that write is conditional on the item's
revision so concurrent writers cannot lose each other's updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.domain import eligibility, inventory
from rh_common.domain.eligibility import Check, Condition
from rh_common.domain.errors import InvalidPageToken
from rh_common.domain.inventory import READ_DATED_ATTRIBUTES, STATE_ATTRIBUTES, FactWrite, InventoryRecord
from rh_common.domain.webhook_events import InventoryFacts

_MAX_MERGE_ATTEMPTS = 8
# The sparse InStock index (template.yaml): its key is on an item only while it is in stock, spread over a few
# shards (id modulo) so no one index partition takes every write, and so the re-read fans out a chain per shard.
IN_STOCK_KEY = "inStockShard"
IN_STOCK_SHARDS = 8
_MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems cap (one slot is kept for `also`)


class InventoryWriteConflict(base.WriteContention):
    """The item kept changing under us; the caller should let the delivery be retried."""


def _failed_conditions(error: ClientError) -> dict[int, Mapping[str, Any] | None]:
    """{action index: stored item} for the actions whose condition failed; re-raise anything else.

    A transaction cancelled only by a concurrent transaction (TransactionConflict) gives {}:
    the caller tries the same writes again."""
    failed = base.failed_conditions(error)
    if failed is None or (not failed and "TransactionConflict" not in base.cancellation_codes(error)):
        raise error
    return failed


def record_from_item(item: Mapping[str, Any]) -> InventoryRecord:
    plain = base.from_item(item)
    return InventoryRecord(
        inventory_id=int(plain["returnInventoryId"]),
        values={name: plain[name] for name in STATE_ATTRIBUTES if name in plain},
        versions={name: plain[f"v_{name}"] for name in STATE_ATTRIBUTES if f"v_{name}" in plain},
        last_version=plain.get("lastVersion"),
        last_event_time=plain.get("lastEventTime"),
        active_resend_request_id=plain.get("activeResendRequestId"),
    )


def inventory_keys(inventory_ids: Iterable[int]) -> list[dict[str, Any]]:
    return [{"returnInventoryId": base.to_attribute(i)} for i in dict.fromkeys(inventory_ids)]


def records_by_id(items: list[dict[str, Any]]) -> dict[int, InventoryRecord]:
    return {record.inventory_id: record for record in map(record_from_item, items)}


def in_stock_shard(inventory_id: int) -> int:
    return inventory_id % IN_STOCK_SHARDS


# (ExpressionAttributeNames, ExpressionAttributeValues, SET clauses, REMOVE names) of one item's update.
_Assignments = tuple[dict[str, str], dict[str, Any], list[str], list[str]]


def _update_expression(sets: list[str], removes: list[str]) -> str:
    return base.update_expression(sets, removes, adds=["revision :one"])


class InventoryStore(base.TableAdapter):
    in_stock_shards = IN_STOCK_SHARDS  # ports.InStockInventories: the re-read lists each shard

    def __init__(
        self,
        table_name: str,
        warehouse_index: str = "ByWarehouse",
        client: Any = None,
        in_stock_index: str = "InStock",
    ) -> None:
        self._table = table_name
        self._index = warehouse_index
        self._in_stock_index = in_stock_index
        self._client = client

    # ------------------------------------------------------------------ writes
    def apply(self, facts: InventoryFacts, version: str, event_time: str) -> FactWrite:
        """Merge one event's facts: APPLIED, MERGED or SUPERSEDED."""
        if not facts.values:
            return FactWrite.SUPERSEDED
        update = self._fast_update(facts, version, event_time)
        outcome = FactWrite.APPLIED
        for _ in range(_MAX_MERGE_ATTEMPTS):
            try:
                self.client.update_item(**update, ReturnValuesOnConditionCheckFailure="ALL_OLD")
                return outcome
            except ClientError as error:
                if not base.is_condition_failure(error):
                    raise
                stored = base.failed_condition_item(error)
            merge = self._next_update(facts, version, event_time, stored)
            if merge is None:
                return FactWrite.SUPERSEDED
            update = merge
            outcome = FactWrite.MERGED if stored is not None else FactWrite.APPLIED
        raise InventoryWriteConflict(f"inventory {facts.inventory_id} kept changing during merge")

    def apply_together(
        self, facts_list: Iterable[InventoryFacts], version: str, event_time: str, also: dict[str, Any] | None = None
    ) -> None:
        """Apply one event's facts to every inventory it names and `also` (another table's
        Update, e.g. the delivery log's "applied" mark) in one TransactWriteItems: in-order
        events cost one write request. An item whose condition fails hands back its stored
        state in the cancellation reasons; the reducer decides what the event still wins and
        the transaction is tried again with the merge writes (the same as `apply`, together)."""
        by_id: dict[int, InventoryFacts] = {}
        for facts in facts_list:
            if facts.values:
                earlier = by_id.get(facts.inventory_id)
                merged = {**earlier.values, **facts.values} if earlier else facts.values
                by_id[facts.inventory_id] = InventoryFacts(facts.inventory_id, merged)
        if len(by_id) >= _MAX_TRANSACTION_ITEMS:  # rare and large: one write each, then the mark
            for facts in by_id.values():
                self.apply(facts, version, event_time)
            if also is not None:
                self.client.update_item(**also)
            return
        updates: dict[int, dict[str, Any] | None] = {
            inventory_id: self._fast_update(f, version, event_time) for inventory_id, f in by_id.items()
        }
        for _ in range(_MAX_MERGE_ATTEMPTS):
            ids = [inventory_id for inventory_id, update in updates.items() if update is not None]
            actions = [
                {"Update": {**update, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
                for update in updates.values()
                if update is not None
            ]
            if also is not None:
                actions.append({"Update": also})
            if not actions:
                return
            try:
                if len(actions) == 1:
                    self.client.update_item(**actions[0]["Update"])
                else:
                    self.client.transact_write_items(TransactItems=actions)
                return
            except ClientError as error:
                reasons = _failed_conditions(error)
            for index, inventory_id in enumerate(ids):
                if index in reasons:
                    stored = reasons[index]
                    updates[inventory_id] = self._next_update(by_id[inventory_id], version, event_time, stored)
        raise InventoryWriteConflict("inventories kept changing during merge")

    def apply_read_dated(self, facts: InventoryFacts, version: str) -> FactWrite:
        """Facts a sync dates by its read (inventory.READ_DATED_ATTRIBUTES), each written if newer than its own
        version, without moving the item's lastVersion / lastEventTime (the read is not an event of the item).
        "applied" (a value changed), "unchanged" (only the versions moved: a later, older webhook loses to this
        read), or SUPERSEDED (a newer webhook set it, or the item is not known here)."""
        if not facts.values:
            return FactWrite.SUPERSEDED
        if set(facts.values) - set(READ_DATED_ATTRIBUTES):
            raise ValueError(f"not read-dated: {sorted(set(facts.values) - set(READ_DATED_ATTRIBUTES))}")
        names, values, sets, removes = self._assignments(facts.inventory_id, facts.values, version)
        newer = " AND ".join(f"(attribute_not_exists(#v{i}) OR #v{i} < :version)" for i in range(len(facts.values)))
        try:
            old = self.client.update_item(
                TableName=self._table,
                Key={"returnInventoryId": base.to_attribute(facts.inventory_id)},
                UpdateExpression=_update_expression(sets, removes),
                ConditionExpression=f"attribute_exists(returnInventoryId) AND {newer}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",  # not UPDATED_OLD: moto leaves out an attribute set to its own value
            ).get("Attributes", {})
        except ClientError as error:
            if not base.is_condition_failure(error):
                raise
            return FactWrite.SUPERSEDED
        before = base.from_item(old)
        changed = any(before.get(name) != value for name, value in facts.values.items())
        return FactWrite.APPLIED if changed else FactWrite.UNCHANGED

    def in_order_update(self, facts: InventoryFacts, version: str, event_time: str) -> dict[str, Any]:
        """`apply`'s first write as TransactWriteItems `Update` parameters, for a caller that writes it
        together with another table's update (and falls back to `apply` when the transaction is cancelled)."""
        return self._fast_update(facts, version, event_time)

    def _fast_update(self, facts: InventoryFacts, version: str, event_time: str) -> dict[str, Any]:
        """Holds when the event is newer than everything the item has seen (a read-dated attribute's own
        version included: it can be newer than lastVersion)."""
        names, values, sets, removes = self._assignments(facts.inventory_id, facts.values, version)
        sets += ["lastVersion = :version", "lastEventTime = :eventTime"]
        values[":eventTime"] = base.to_attribute(event_time)
        condition = "(attribute_not_exists(lastVersion) OR lastVersion < :version)"
        for index, name in enumerate(facts.values):
            if name in READ_DATED_ATTRIBUTES:
                condition += f" AND (attribute_not_exists(#v{index}) OR #v{index} < :version)"
        return self._update(facts.inventory_id, (names, values, sets, removes), condition)

    def _next_update(
        self, facts: InventoryFacts, version: str, event_time: str, stored: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """After a failed condition: the write of what a late event still wins over the stored
        item, conditional on its revision; None when it wins nothing."""
        if stored is None:  # deleted meanwhile: nothing can be newer than this event
            return self._fast_update(facts, version, event_time)
        before = record_from_item(stored)
        after = inventory.apply(before, facts.values, version, event_time)
        changed = inventory.changed_attributes(before, after)
        if not changed:
            return None
        names, values, sets, removes = self._assignments(
            facts.inventory_id, {n: after.values[n] for n in changed}, version
        )
        if after.last_version != before.last_version:
            sets += ["lastVersion = :version", "lastEventTime = :eventTime"]
            values[":eventTime"] = base.to_attribute(event_time)
        revision = base.from_item(stored).get("revision")
        condition = "attribute_not_exists(revision)" if revision is None else "revision = :revision"
        if revision is not None:
            values[":revision"] = base.to_attribute(revision)
        return self._update(facts.inventory_id, (names, values, sets, removes), condition)

    def _update(self, inventory_id: int, assignments: _Assignments, condition: str) -> dict[str, Any]:
        """UpdateItem parameters (also a TransactWriteItems `Update`) of `_assignments`' writes, under `condition`."""
        names, values, sets, removes = assignments
        return {
            "TableName": self._table,
            "Key": {"returnInventoryId": base.to_attribute(inventory_id)},
            "UpdateExpression": _update_expression(sets, removes),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    @staticmethod
    def _assignments(inventory_id: int, attributes: Mapping[str, Any], version: str) -> _Assignments:
        """(names, values, SET clauses, REMOVE clauses) writing `attributes` at `version` (None removes the value and
        keeps its version); the in-stock index's key follows inStock: set while it is true, removed when it is not."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":version": base.to_attribute(version), ":one": base.to_attribute(1)}
        sets: list[str] = []
        removes: list[str] = []
        for index, (name, value) in enumerate(attributes.items()):
            names[f"#a{index}"] = name
            names[f"#v{index}"] = f"v_{name}"
            sets.append(f"#v{index} = :version")
            if value is None:  # a fact that ended (a consolidation cancelled): absent, as the listing filter reads it
                removes.append(f"#a{index}")
            else:
                values[f":a{index}"] = base.to_attribute(value)
                sets.append(f"#a{index} = :a{index}")
        if "inStock" in attributes:
            if attributes["inStock"] is True:
                values[":shard"] = base.to_attribute(in_stock_shard(inventory_id))
                sets.append(f"{IN_STOCK_KEY} = :shard")
            else:
                removes.append(IN_STOCK_KEY)
        return names, values, sets, removes

    # ------------------------------------------------------------------ reads
    def get(self, inventory_id: int, consistent: bool = False) -> InventoryRecord | None:
        response = self.client.get_item(
            TableName=self._table,
            Key={"returnInventoryId": base.to_attribute(inventory_id)},
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return record_from_item(item) if item else None

    def get_many(self, inventory_ids: Iterable[int], consistent: bool = True) -> dict[int, InventoryRecord]:
        """One batch read (BatchGetItem, with its unprocessed keys re-asked)."""
        items = base.batch_get(self.client, {self._table: inventory_keys(inventory_ids)}, consistent)
        return records_by_id(items[self._table])

    def in_stock_page(self, shard: int, after: int | None, limit: int) -> tuple[list[int], int | None]:
        """One page of the items in stock in one shard of the sparse InStock index, by id: (ids, the id the next
        page starts after, or None on the last page). The scheduled sync's re-read list, a page at a time."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._in_stock_index,
            "KeyConditionExpression": f"{IN_STOCK_KEY} = :shard",
            "ExpressionAttributeValues": {":shard": base.to_attribute(shard)},
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                IN_STOCK_KEY: base.to_attribute(shard),
                "returnInventoryId": base.to_attribute(after),
            }
        response = self.client.query(**query)
        ids = [int(item["returnInventoryId"]["N"]) for item in response.get("Items", [])]
        more = response.get("LastEvaluatedKey")
        return ids, (int(more["returnInventoryId"]["N"]) if more else None)

    def index_items_in_stock(self, page_size: int = 500) -> int:
        """One-off, for a table written before the InStock index existed (ops/in_stock_index.py; no function calls
        it): every item in stock without the index's key gets it. A Scan; each key is set only if the item is
        still in stock and unkeyed, so a concurrent write of inStock wins. Returns how many were keyed."""
        scan: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": f"inStock = :true AND attribute_not_exists({IN_STOCK_KEY})",
            "ProjectionExpression": "returnInventoryId",
            "ExpressionAttributeValues": {":true": base.to_attribute(True)},
            "Limit": page_size,
        }
        keyed = 0
        while True:
            response = self.client.scan(**scan)
            for item in response.get("Items", []):
                inventory_id = int(item["returnInventoryId"]["N"])
                try:
                    self.client.update_item(
                        TableName=self._table,
                        Key={"returnInventoryId": base.to_attribute(inventory_id)},
                        UpdateExpression=f"SET {IN_STOCK_KEY} = :shard",
                        ConditionExpression=f"inStock = :true AND attribute_not_exists({IN_STOCK_KEY})",
                        ExpressionAttributeValues={
                            ":shard": base.to_attribute(in_stock_shard(inventory_id)),
                            ":true": base.to_attribute(True),
                        },
                    )
                    keyed += 1
                except ClientError as error:
                    if not base.is_condition_failure(error):
                        raise
            if not response.get("LastEvaluatedKey"):
                return keyed
            scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def list_by_warehouse(
        self,
        warehouse_id: int,
        limit: int,
        next_token: str | None = None,
        eligible_handling_codes: frozenset[str] | None = None,
    ) -> tuple[list[InventoryRecord], str | None]:
        """A page of a warehouse's items, optionally only the eligible ones.

        Eligibility is a filter (the eligible codes are a setting), so a page may
        need several queries; the token resumes after the last item returned.
        """
        start_key = decode_token(next_token, warehouse_id) if next_token else None
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "warehouseId = :warehouse",
            "ExpressionAttributeValues": {":warehouse": base.to_attribute(warehouse_id)},
        }
        if eligible_handling_codes is not None:
            conditions = (*eligibility.resend_conditions(eligible_handling_codes), eligibility.NOT_RESERVED)
            filtered = eligibility_filter(conditions, query_key="warehouseId")
            query["FilterExpression"], query["ExpressionAttributeNames"], values = filtered
            query["ExpressionAttributeValues"].update(values)
        records: list[InventoryRecord] = []
        while len(records) < limit:
            if start_key:
                query["ExclusiveStartKey"] = start_key
            query["Limit"] = limit - len(records)
            response = self.client.query(**query)
            records += [record_from_item(item) for item in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return records, None
        return records, encode_token(start_key) if start_key else None


def eligibility_filter(
    conditions: Sequence[Condition], query_key: str | None = None
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(FilterExpression, its names, its values) keeping exactly the items that meet every condition: derived
    from domain/eligibility's data, as the Python predicate is, so the two cannot drift. `query_key`: the
    attribute the query's key condition sets, which DynamoDB refuses in a filter; every item read has it, so
    a PRESENT check of it holds (any other check of it cannot be filtered)."""
    clauses: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if any(c.attribute == query_key and c.check is not Check.PRESENT for c in conditions):
        raise ValueError(f"{query_key} is the query's key: a filter cannot test it")
    conditions = [c for c in conditions if c.attribute != query_key]
    for index, condition in enumerate(conditions):
        steps = condition.attribute.split(".")
        path = ".".join(f"#e{index}_{depth}" for depth in range(len(steps)))
        names.update({f"#e{index}_{depth}": step for depth, step in enumerate(steps)})
        value = f":e{index}"
        if condition.check is Check.PRESENT:
            clauses.append(f"(attribute_exists({path}) AND NOT attribute_type({path}, :nullType))")
        elif condition.check is Check.ABSENT:
            clauses.append(f"(attribute_not_exists({path}) OR attribute_type({path}, :nullType))")
        elif condition.check is Check.EQUALS:
            clauses.append(f"{path} = {value}")
            values[value] = base.to_attribute(condition.operand)
        elif condition.check is Check.ONE_OF:
            members = [f"{value}_{n}" for n in range(len(condition.operand))]
            clauses.append(f"{path} IN ({', '.join(members)})")
            values.update({member: base.to_attribute(v) for member, v in zip(members, condition.operand, strict=True)})
        elif condition.check is Check.NOT_TRUE:
            clauses.append(f"(attribute_not_exists({path}) OR NOT {path} = :true)")
        else:  # a new kind of check must be given its expression here before the rule can use it
            raise ValueError(f"no DynamoDB expression for {condition.check}")
    if any(c.check in (Check.PRESENT, Check.ABSENT) for c in conditions):
        values[":nullType"] = base.to_attribute("NULL")
    if any(c.check is Check.NOT_TRUE for c in conditions):
        values[":true"] = base.to_attribute(True)
    return " AND ".join(clauses), names, values


_TOKEN = {"w": int, "i": int}  # the ByWarehouse index's key: warehouseId, returnInventoryId


def encode_token(key: dict[str, Any]) -> str:
    plain = base.from_item(key)
    return page_tokens.encode({"w": plain["warehouseId"], "i": plain["returnInventoryId"]})


def decode_token(token: str, warehouse_id: int) -> dict[str, Any]:
    """InvalidPageToken for a token that is not ours or belongs to another warehouse."""
    fields = page_tokens.decode(token, _TOKEN)
    if fields["w"] != warehouse_id:
        raise InvalidPageToken("nextToken belongs to another warehouseId")
    return {"warehouseId": base.to_attribute(fields["w"]), "returnInventoryId": base.to_attribute(fields["i"])}
