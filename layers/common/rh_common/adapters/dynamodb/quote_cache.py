"""Quotes, cached briefly in the cache table (DynamoDB, with its TTL attribute).

DynamoDB rather than memory: a merchant quotes, then creates the batch, and the
two calls usually land on different Lambda instances. The key (`quote.quote_key`) names
the items and the destination; the entry (`quote.cache_entry`) holds every item's last
applied event version, so after any newer webhook for one of the items (a
completeRecalibrate changes the weight, hence the fee) the entry is stale
(`quote.current_quote`) and the next quote replaces it. Nothing to delete on the webhook
path. The create path reads an entry in its own first transaction (`entry_of`:
adapters.dynamodb.resend_store), for the request's quotedFee.
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
        item = self.client.get_item(TableName=self._table, Key=cache_key(key)).get("Item")
        return entry_of(item, self._clock())

    def put(self, key: str, quote: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self._table,
            Item={
                **cache_key(key),
                "quote": {"S": json.dumps(quote)},
                "expiresAt": {"N": str(int(self._clock() + self._ttl))},
            },
        )


def cache_key(key: str) -> dict[str, Any]:
    """The table key of a cache entry."""
    return {"cacheKey": {"S": key}}


def entry_of(item: Any, now: float) -> dict[str, Any] | None:
    """A read cache item's entry while it has not expired (TTL deletion is lazy: up to days)."""
    if item and int(item["expiresAt"]["N"]) > now:
        return json.loads(item["quote"]["S"])
    return None
