"""The delivery log: every verified webhook delivery, once, with a TTL.

States (contract section 8): `received` (stored, apply not finished), `accepted`
(applied), `ignored`, `unprocessable`, `applyFailed`, `parked` (a resend report
waiting for its resend id). Only a final state makes a redelivery a duplicate;
the store never reads before it writes: `record`'s condition admits a new or an
unfinished delivery and fails on a finished one, and the "applied" mark rides in the
apply's own write.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.domain.deliveries import APPLY_FAILED, Delivery, DeliveryStatus
from rh_common.domain.errors import InvalidPageToken

if TYPE_CHECKING:  # not on the webhook's cold path: only the operator routes and the replay worker search
    from rh_common.domain.delivery_search import DeliverySearch

# The condition values of an unfinished state (`#status IN (:received, :failed)`).
_UNFINISHED_VALUES = {":received": {"S": DeliveryStatus.RECEIVED.value}, ":failed": {"S": APPLY_FAILED}}


class DeliveryLog(base.TableAdapter):
    def __init__(
        self,
        table_name: str,
        retention_days: int,  # DELIVERY_RETENTION_DAYS: its one default is template.yaml's
        client: Any = None,
        status_index: str = "ByStatus",
        parked_index: str = "ParkedByResendId",
        subject_index: str = "BySubject",
    ) -> None:
        self._table = table_name
        self._retention_seconds = retention_days * 86400
        self._client = client
        self._status_index = status_index
        self._parked_index = parked_index
        self._subject_index = subject_index

    # ------------------------------------------------------------------ writes
    def record(self, delivery: Delivery) -> bool:
        """Store a delivery `received` (or final at once: `ignored`, `unprocessable`) unless a finished
        attempt of it is stored: True when this attempt goes on (new, or an earlier attempt did not finish,
        whose record it replaces), False for a duplicate of a finished one (`accepted`, `ignored`,
        `unprocessable`, `parked`: the failed condition; nothing else is written)."""
        now = int(time.time())
        item: dict[str, Any] = {
            "deliveryId": delivery.delivery_id,
            "status": delivery.status.value,
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
        # What it is about, in the same write (GET /deliveries?inventoryId=|resendId=: the BySubject index).
        if delivery.subject is not None:
            item["subject"] = delivery.subject
        if delivery.inventory_ids:
            item["inventoryIds"] = list(delivery.inventory_ids)
        if delivery.resend_id is not None:
            item["resendId"] = delivery.resend_id
        try:
            # The condition decides new/unfinished against finished by itself, so the failed one needs
            # no stored item back (no ReturnValuesOnConditionCheckFailure): a duplicate's answer is a
            # short error instead of the whole stored delivery, parsed twice by botocore.
            self.client.put_item(
                TableName=self._table,
                Item=base.to_item(item),
                ConditionExpression="attribute_not_exists(deliveryId) OR #status IN (:received, :failed)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_UNFINISHED_VALUES,
            )
            return True
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise

    def applied_update(self, delivery_id: str) -> dict[str, Any]:
        """The Update that marks a delivery applied; it goes in the same transaction as the apply."""
        return {
            "TableName": self._table,
            "Key": {"deliveryId": {"S": delivery_id}},
            "UpdateExpression": "SET #status = :accepted REMOVE reason, parkedResendId",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":accepted": {"S": DeliveryStatus.ACCEPTED.value}},
        }

    def mark_applied(self, delivery_id: str) -> None:
        self.client.update_item(**self.applied_update(delivery_id))

    def mark_apply_failed(self, delivery_id: str, reason: str) -> None:
        # Only from an unfinished state: a concurrent redelivery that applied it wins.
        self._mark_unfinished(delivery_id, "SET #status = :new, reason = :reason", APPLY_FAILED, reason=reason[:500])

    def mark_unprocessable(self, delivery_id: str, reason: str) -> None:
        """Final: its apply fails the same way on every attempt (only from an unfinished state)."""
        self._mark_unfinished(
            delivery_id, "SET #status = :new, reason = :reason", DeliveryStatus.UNPROCESSABLE.value, reason=reason[:500]
        )

    def mark_parked(self, delivery_id: str, resend_id: int) -> None:
        self._mark_unfinished(
            delivery_id,
            "SET #status = :new, parkedResendId = :resend",
            DeliveryStatus.PARKED.value,
            resend=resend_id,
        )

    def _mark_unfinished(self, delivery_id: str, expression: str, status: str, **values: Any) -> None:
        attribute_values = {
            ":new": {"S": status},
            **_UNFINISHED_VALUES,
            **{f":{name}": base.to_attribute(value) for name, value in values.items()},
        }
        try:
            self.client.update_item(
                TableName=self._table,
                Key={"deliveryId": {"S": delivery_id}},
                UpdateExpression=expression,
                ConditionExpression="#status IN (:received, :failed)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=attribute_values,
            )
        except ClientError as error:
            if not base.is_condition_failure(error):
                raise

    # ------------------------------------------------------------------ reads
    def get(self, delivery_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self._table, Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True
        ).get("Item")
        return base.from_item(item) if item else None

    def list_by_status(
        self, status: str, limit: int, next_token: str | None = None, received_before: int | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, from the status index (which does not project the body)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._status_index,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}},
            "ScanIndexForward": False,
        }
        if received_before is not None:
            query["KeyConditionExpression"] += " AND receivedAt < :before"
            query["ExpressionAttributeValues"][":before"] = base.to_attribute(received_before)
        start_key = decode_token(next_token, status) if next_token else None
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            if start_key:
                query["ExclusiveStartKey"] = start_key
            query["Limit"] = limit - len(items)
            response = self.client.query(**query)
            items += [base.from_item(item) for item in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return items, None
        return items, encode_token(start_key) if start_key else None

    def search(
        self, search: DeliverySearch, limit: int, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, by one index Query per page (never a scan): BySubject when the search names a resend
        or an item, else ByStatus; the window bounds the index's receivedAt, the other criteria filter. A
        filtered page may come back short with a nextToken: each request reads at most MAX_QUERIES pages."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if search.subject is not None:
            index, hash_name, hash_value, token_field = self._subject_index, "subject", search.subject, "j"
        else:
            assert search.status is not None  # DeliverySearch requires one of them
            index, hash_name, hash_value, token_field = self._status_index, "status", search.status, "s"
        names["#hash"] = hash_name
        values[":hash"] = {"S": hash_value}
        key_condition = "#hash = :hash"
        if search.since is not None and search.until is not None:
            key_condition += " AND #received BETWEEN :since AND :until"
        elif search.since is not None:
            key_condition += " AND #received >= :since"
        elif search.until is not None:
            key_condition += " AND #received <= :until"
        for name, bound in ((":since", search.since), (":until", search.until)):
            if bound is not None:
                values[name] = base.to_attribute(bound)
                names["#received"] = "receivedAt"
        filters = []
        if search.subject is not None and search.status is not None:
            names["#status"] = "status"
            values[":status"] = {"S": search.status}
            filters.append("#status = :status")
        if search.category is not None:
            names["#category"] = "category"
            values[":category"] = {"S": search.category}
            filters.append("#category = :category")
        if search.resend_id is not None and search.inventory_id is not None:
            values[":inventory"] = base.to_attribute(search.inventory_id)
            filters.append("contains(inventoryIds, :inventory)")
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        start_key = _decode(next_token, token_field, hash_name, hash_value) if next_token else None
        items: list[dict[str, Any]] = []
        for _ in range(MAX_QUERIES):
            if start_key:
                query["ExclusiveStartKey"] = start_key
            # Never more read than still wanted: a page then ends exactly at a key a token can resume from.
            query["Limit"] = limit - len(items)
            response = self.client.query(**query)
            items += [base.from_item(item) for item in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if not start_key or len(items) >= limit:
                break
        return items, _encode(start_key, token_field, hash_name) if start_key else None

    def parked_for(self, resend_id: int) -> list[str]:
        """Ids of the deliveries parked under a resend id (a sparse index: only parked ones carry it)."""
        ids: list[str] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._parked_index,
            "KeyConditionExpression": "parkedResendId = :resend",
            "ExpressionAttributeValues": {":resend": base.to_attribute(resend_id)},
        }
        while True:
            response = self.client.query(**query)
            ids += [item["deliveryId"]["S"] for item in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                return ids
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# A search reads at most this many index pages per request (a rare category filtered out of a long window
# answers a short page and a nextToken, not a request that reads the whole window).
MAX_QUERIES = 10

_TOKEN = {"s": str, "r": int, "d": str}  # the status index's key: status, receivedAt, deliveryId
_SUBJECT_TOKEN = {"j": str, "r": int, "d": str}  # the subject index's key: subject, receivedAt, deliveryId


def encode_token(key: dict[str, Any]) -> str:
    return _encode(key, "s", "status")


def decode_token(token: str, status: str) -> dict[str, Any]:
    """InvalidPageToken for a token that is not ours or belongs to another status."""
    return _decode(token, "s", "status", status)


def _encode(key: dict[str, Any], field: str, hash_name: str) -> str:
    plain = base.from_item(key)
    return page_tokens.encode({field: plain[hash_name], "r": plain["receivedAt"], "d": plain["deliveryId"]})


def _decode(token: str, field: str, hash_name: str, hash_value: str) -> dict[str, Any]:
    fields = page_tokens.decode(token, _TOKEN if field == "s" else _SUBJECT_TOKEN)
    if fields[field] != hash_value:
        raise InvalidPageToken(f"nextToken belongs to another {hash_name}")
    return {
        hash_name: {"S": fields[field]},
        "receivedAt": base.to_attribute(fields["r"]),
        "deliveryId": {"S": fields["d"]},
    }
