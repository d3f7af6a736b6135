"""The instruction table (template.yaml ResendInstructionTable): one item per instruction, key `instructionId`.

Index ByStatus (status, createdAt) lists them by status (the merchant's listings, the reconciler's sweep);
index ByMatch (matchRef, instructionId) is sparse: `matchRef` (`instruction#<type>#<value>`) is kept only while
the instruction waits, so an arrival's look-up is one Query that finds only waiting instructions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.domain.errors import InvalidPageToken

_KEY = "instructionId"
_TOKEN = {"s": str, "c": str, "i": str}  # the listing's status, the last createdAt and id
_NEXT_STATUS_TOKEN = {"s": str}  # a listing of several statuses: the next one's from its start


class InstructionStore(base.TableAdapter):
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table = table_name
        self._client = client

    def create(self, record: Mapping[str, Any]) -> bool:
        """False (nothing written) when an instruction with this id is stored."""
        return base.create(self.client, self._table, record, _KEY)

    def get(self, instruction_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self._table, Key={_KEY: base.to_attribute(instruction_id)}, ConsistentRead=True
        ).get("Item")
        return base.from_item(item) if item else None

    def settle(self, instruction_id: str, status: str, updated_at: str, extra: Mapping[str, Any] | None = None) -> bool:
        """WAITING -> `status` (leaving the match index), with `extra` attributes; False when it was not WAITING."""
        values = {"status": status, "updatedAt": updated_at, **(extra or {})}
        names = {f"#a{i}": name for i, name in enumerate(values)}
        sets = [f"#a{i} = :v{i}" for i in range(len(values))]
        attributes = {f":v{i}": base.to_attribute(value) for i, value in enumerate(values.values())}
        try:
            self.client.update_item(
                TableName=self._table,
                Key={_KEY: base.to_attribute(instruction_id)},
                UpdateExpression=f"SET {', '.join(sets)} REMOVE matchRef",
                ConditionExpression="#a0 = :waiting",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**attributes, ":waiting": base.to_attribute("WAITING")},
            )
        except ClientError as error:
            if base.is_condition_failure(error):
                return False
            raise
        return True

    def waiting_for(self, match_ref: str) -> list[dict[str, Any]]:
        """The waiting instructions with this match reference (the sparse ByMatch index: eventually consistent)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByMatch",
            "KeyConditionExpression": "matchRef = :ref",
            "ExpressionAttributeValues": {":ref": base.to_attribute(match_ref)},
        }
        while True:
            page = self.client.query(**kwargs)
            found += [base.from_item(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def waiting_after(self, position: tuple[str, str] | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` waiting instructions after `position` (createdAt, instructionId; None: from the oldest),
        oldest first (index ByStatus: eventually consistent), and whether more may follow."""
        kwargs = self._by_status("WAITING", limit)
        if position is not None:
            kwargs["ExclusiveStartKey"] = self._start_key("WAITING", *position)
        answer = self.client.query(**kwargs)
        return [base.from_item(item) for item in answer.get("Items", [])], "LastEvaluatedKey" in answer

    def page(
        self, statuses: Sequence[str], limit: int, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the instructions stored with one of `statuses`, one status after the other, each oldest
        first (index ByStatus). InvalidPageToken for a token this listing did not issue."""
        status, start = statuses[0], None
        if next_token:
            status, start = self._decode(next_token)
            if status not in statuses:
                raise InvalidPageToken("nextToken is not a token from this listing")
        items: list[dict[str, Any]] = []
        while True:
            kwargs = self._by_status(status, limit - len(items))
            if start is not None:
                kwargs["ExclusiveStartKey"] = start
            answer = self.client.query(**kwargs)
            items += [base.from_item(item) for item in answer.get("Items", [])]
            last = answer.get("LastEvaluatedKey")
            if last:
                key = base.from_item(last)
                return items, page_tokens.encode({"s": key["status"], "c": key["createdAt"], "i": key[_KEY]})
            following = statuses.index(status) + 1
            if following == len(statuses):
                return items, None
            status, start = statuses[following], None
            if len(items) == limit:
                return items, page_tokens.encode({"s": status})

    def _by_status(self, status: str, limit: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "IndexName": "ByStatus",
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": base.to_attribute(status)},
            "Limit": limit,
        }

    def _start_key(self, status: str, created_at: str, instruction_id: str) -> dict[str, Any]:
        return {
            "status": base.to_attribute(status),
            "createdAt": base.to_attribute(created_at),
            _KEY: base.to_attribute(instruction_id),
        }

    def _decode(self, token: str) -> tuple[str, dict[str, Any] | None]:
        """(the status to list, the start key in it: None from its start)."""
        try:
            fields = page_tokens.decode(token, _TOKEN)
        except InvalidPageToken:
            return str(page_tokens.decode(token, _NEXT_STATUS_TOKEN)["s"]), None
        return str(fields["s"]), self._start_key(str(fields["s"]), str(fields["c"]), str(fields["i"]))
