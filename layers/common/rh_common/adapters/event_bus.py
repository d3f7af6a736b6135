"""EventBridge PutEvents for the outbox: ten entries a call, only the failed ones sent again.

PutEvents answers per entry: an entry with an ErrorCode (throttling, an internal error)
was not put, the others were. So each retry round re-sends exactly the entries that
failed, after a short backoff, and after `max_attempts` rounds the caller learns which
entries never made it (their stream records are reported as batch item failures and
come back with the batch). A whole call that raises counts as every entry in it failing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rh_common.adapters.aws_client import ServiceAdapter

MAX_ENTRIES_PER_CALL = 10  # PutEvents' own limit
DEFAULT_MAX_ATTEMPTS = 3
BASE_BACKOFF_SECONDS = 0.1


@dataclass(frozen=True)
class Entry:
    """One event to put; `key` is the caller's name for it (the stream record it came from)."""

    key: str
    detail_type: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class PutResult:
    failed: list[str]  # keys of entries still not put after every attempt
    retried: int  # entries sent more than once


class EventBusPublisher(ServiceAdapter):
    SERVICE = "events"
    MAX_ATTEMPTS = 3

    def __init__(
        self,
        bus_name: str,
        source: str,
        client: Any = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._bus = bus_name
        self._source = source
        self._client = client
        self._max_attempts = max_attempts
        self._sleep = sleep

    def put(self, entries: Sequence[Entry]) -> PutResult:
        pending = list(entries)
        retried: set[str] = set()
        for attempt in range(self._max_attempts):
            if not pending:
                break
            if attempt:
                retried.update(entry.key for entry in pending)
                self._sleep(BASE_BACKOFF_SECONDS * 2 ** (attempt - 1))
            still_failing: list[Entry] = []
            for start in range(0, len(pending), MAX_ENTRIES_PER_CALL):
                still_failing += self._put_chunk(pending[start : start + MAX_ENTRIES_PER_CALL])
            pending = still_failing
        return PutResult(failed=[entry.key for entry in pending], retried=len(retried))

    def publish(self, detail_type: str, details: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Events of one type, each keyed by the caller (services.ports.EventBus): the keys not put."""
        return self.put([Entry(key, detail_type, dict(detail)) for key, detail in details.items()]).failed

    def _put_chunk(self, chunk: list[Entry]) -> list[Entry]:
        request = [
            {
                "EventBusName": self._bus,
                "Source": self._source,
                "DetailType": entry.detail_type,
                "Detail": json.dumps(entry.detail, separators=(",", ":")),
            }
            for entry in chunk
        ]
        try:
            answers = self.client.put_events(Entries=request)["Entries"]
        except (ClientError, BotoCoreError):
            return chunk  # nothing is known to have been put: all of it again
        # Answers come in request order, one per entry; an entry with an ErrorCode was not put.
        return [entry for entry, answer in zip(chunk, answers, strict=True) if answer.get("ErrorCode")]
