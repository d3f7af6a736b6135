"""Quotes, cached briefly in the cache table (DynamoDB, with its TTL attribute).

DynamoDB rather than memory: a merchant quotes, then creates the batch, and the
two calls usually land on different Lambda instances. The key (`quote.quote_key`) holds
every item's last applied event version, so any newer webhook for one of the items (a
completeRecalibrate changes the weight, hence the fee) makes a new key: the old
entry is never read again and expires. Nothing to delete on the webhook path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rh_common.adapters.dynamodb import base


class QuoteCache(base.TableAdapter):
    def __init__(
        self, table_name: str, ttl_seconds: int, client: Any = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table_name
        self._ttl = ttl_seconds
        self._client = client
        self._clock = clock

    def get(self, key: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self._table, Key={"cacheKey": {"S": key}}).get("Item")
        # TTL deletion is lazy (up to days): the expiry is checked here.
        if item and int(item["expiresAt"]["N"]) > self._clock():
            return json.loads(item["quote"]["S"])
        return None

    def put(self, key: str, quote: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self._table,
            Item={
                "cacheKey": {"S": key},
                "quote": {"S": json.dumps(quote)},
                "expiresAt": {"N": str(int(self._clock() + self._ttl))},
            },
        )
