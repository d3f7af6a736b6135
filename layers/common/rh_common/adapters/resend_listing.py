"""Resend requests by status, newest `updatedAt` first (GET /resends?status=): the ByStatus index.

The index projects keys only (it also serves the reconciler), so a page is one Query
plus one BatchGetItem of the records. The index is eventually consistent: a record
whose status has moved on since is left out of the page rather than shown under
the wrong status.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from rh_common.adapters import dynamo


class ResendListing(dynamo.TableAdapter):
    def __init__(self, table_name: str, status_index: str = "ByStatus", client: Any = None) -> None:
        self._table = table_name
        self._index = status_index
        self._client = client

    def page(self, status: str, limit: int, next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Raise ValueError for a token that is not from this listing (or another status's)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = decode_token(next_token, status)
        response = self.client.query(**query)
        ids = [item["resendRequestId"]["S"] for item in response.get("Items", [])]
        records = self._get_many(ids)
        items = [records[i] for i in ids if i in records and records[i].get("status") == status]
        last = response.get("LastEvaluatedKey")
        return items, encode_token(last) if last else None

    def _get_many(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        request = {self._table: {"Keys": [{"resendRequestId": {"S": i}} for i in ids], "ConsistentRead": True}}
        while ids and request:
            response = self.client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                record = dynamo.from_item(item)
                found[record["resendRequestId"]] = record
            request = response.get("UnprocessedKeys") or {}
        return found


def encode_token(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    raw = json.dumps([plain["status"], plain["updatedAt"], plain["resendRequestId"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, status: str) -> dict[str, Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        token_status, updated_at, request_id = (str(part) for part in raw)
    except (ValueError, TypeError) as exc:
        raise ValueError("nextToken is not a token from this listing") from exc
    if not updated_at or not request_id:
        raise ValueError("nextToken is not a token from this listing")
    if token_status != status:
        raise ValueError("nextToken belongs to another status")
    return {"status": {"S": status}, "updatedAt": {"S": updated_at}, "resendRequestId": {"S": request_id}}
