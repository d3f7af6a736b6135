"""A warehouse's shipment service types, cached in DynamoDB with a TTL.

A burst of resend requests reads the cache, not Return Helper. A stale entry
is still used when Return Helper cannot be reached (better than refusing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rh_common.adapters.dynamodb import base
from rh_common.domain.errors import ServiceTypesRefused, ServiceTypesUnavailable
from rh_common.domain.upstream_outcome import UpstreamOutcome


class ServiceTypeCache(base.TableAdapter):
    def __init__(
        self,
        table_name: str,
        fetch: Callable[[int], UpstreamOutcome],
        ttl_seconds: int,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._client = client
        self._clock = clock
        # Warehouse -> (expiresAt, rows) of a fresh table entry, kept in memory between invocations
        # until the entry's own expiry: a warm resend does not read the table again (one round trip less).
        self._fresh: dict[int, tuple[int, list[dict[str, Any]]]] = {}

    def rows(self, warehouse_id: int) -> list[dict[str, Any]]:
        """Return Helper's rows for the warehouse (serviceTypeCode, serviceType, countryCodePairList)."""
        now = self._clock()
        remembered = self._fresh.get(warehouse_id)
        if remembered and remembered[0] > now:
            return remembered[1]
        key = {"cacheKey": {"S": f"shipmentServiceTypes#{warehouse_id}"}}
        item = self.client.get_item(TableName=self._table, Key=key).get("Item")
        if item and int(item["expiresAt"]["N"]) > now:
            return self._remember(warehouse_id, int(item["expiresAt"]["N"]), json.loads(item["rows"]["S"]))
        outcome = self._fetch(warehouse_id)
        if outcome.ok:
            rows = outcome.payload.get("data") or outcome.payload.get("serviceTypeList") or []
            expires_at = int(now + self._ttl)
            self.client.put_item(
                TableName=self._table,
                Item={**key, "rows": {"S": json.dumps(rows)}, "expiresAt": {"N": str(expires_at)}},
            )
            return self._remember(warehouse_id, expires_at, rows)
        if item:  # stale beats nothing while upstream is down
            return json.loads(item["rows"]["S"])
        if outcome.permanent:
            raise ServiceTypesRefused(outcome.error_code or outcome.detail)
        raise ServiceTypesUnavailable(outcome.detail)

    def _remember(self, warehouse_id: int, expires_at: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._fresh[warehouse_id] = (expires_at, rows)
        return rows
