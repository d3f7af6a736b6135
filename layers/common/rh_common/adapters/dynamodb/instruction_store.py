"""The instruction table (template.yaml ResendInstructionTable): one item per instruction, key `instructionId`.

Index ByStatus (status, createdAt) lists them by status; index ByMatch (matchRef, instructionId) is sparse:
`matchRef` (`instruction#<type>#<value>`) is kept only while the instruction waits, so an arrival's look-up
is one Query that finds only waiting instructions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base, page_tokens
from rh_common.domain.errors import InvalidPageToken

_KEY = "instructionId"
_TOKEN = {"s": str, "c": str, "i": str}  # the listing's status, the last createdAt and id


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

    def page(self, status: str, limit: int, next_token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the instructions stored with `status`, oldest first (index ByStatus). InvalidPageToken."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByStatus",
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": base.to_attribute(status)},
            "Limit": limit,
        }
        if next_token:
            fields = page_tokens.decode(next_token, _TOKEN)
            if fields["s"] != status:
                raise InvalidPageToken("nextToken is not a token from this listing")
            kwargs["ExclusiveStartKey"] = {
                "status": base.to_attribute(fields["s"]),
                "createdAt": base.to_attribute(fields["c"]),
                _KEY: base.to_attribute(fields["i"]),
            }
        answer = self.client.query(**kwargs)
        items = [base.from_item(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        token = None
        if last:
            key = base.from_item(last)
            token = page_tokens.encode({"s": key["status"], "c": key["createdAt"], "i": key[_KEY]})
        return items, token
