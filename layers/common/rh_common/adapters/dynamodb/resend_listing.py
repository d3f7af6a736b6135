"""Resend requests by status, newest `updatedAt` first (GET /resends?status=): the ByStatus index.

The index projects keys only (it also serves the reconciler), so a page is one Query
plus one BatchGetItem of the records. The index is eventually consistent: a record
whose status has moved on since is left out of the page rather than shown under
the wrong status.
"""

from __future__ import annotations

from typing import Any

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.domain.errors import InvalidPageToken


class ResendListing(base.TableAdapter):
    def __init__(self, table_name: str, status_index: str = "ByStatus", client: Any = None) -> None:
        self._table = table_name
        self._index = status_index
        self._client = client

    def page(self, status: str, limit: int, next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """InvalidPageToken for a token that is not from this listing (or another status's)."""
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
        keys = [{"resendRequestId": {"S": i}} for i in ids]
        records = map(base.from_item, base.batch_get(self.client, {self._table: keys}, consistent=True)[self._table])
        return {record["resendRequestId"]: record for record in records}


_TOKEN = {"s": str, "u": str, "r": str}  # the ByStatus index's key: status, updatedAt, resendRequestId


def encode_token(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return page_tokens.encode({"s": plain["status"], "u": plain["updatedAt"], "r": plain["resendRequestId"]})


def decode_token(token: str, status: str) -> dict[str, Any]:
    """InvalidPageToken for a token that is not ours or belongs to another status."""
    fields = page_tokens.decode(token, _TOKEN)
    if fields["s"] != status:
        raise InvalidPageToken("nextToken belongs to another status")
    return {"status": {"S": status}, "updatedAt": {"S": fields["u"]}, "resendRequestId": {"S": fields["r"]}}
