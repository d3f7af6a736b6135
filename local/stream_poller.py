"""Local DynamoDB stream event source mappings: one poller thread per enabled `DynamoDB` event.

Each poller reads its table's stream (DynamoDB Local and moto both serve the `dynamodbstreams` API
on the DynamoDB endpoint) shard by shard, parents before their children, from TRIM_HORIZON; drops
the records no FilterCriteria pattern matches (Lambda's event filtering: EventBridge's pattern
language, matched with moto's implementation of it); invokes the function with up to BatchSize
records in the event Lambda builds; and checkpoints past the batch when it succeeded. With
ReportBatchItemFailures it checkpoints before the first record the function reported and retries
from there; a function error or timeout retries the whole batch. After MaximumRetryAttempts retries
the failed records are skipped with a log line, so a bad record never blocks its shard.

Not emulated (the stack needs its records delivered in order, at least once, and no more):
Lambda's bisection, its on-failure destination, record age, the batching window.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from local.aws_services import client
from local.background import BackgroundLoop, Invoke, reported_failures
from local.processes import log
from local.template import DynamoDBEventSource

IDLE_POLL_SECONDS = 0.25  # Lambda polls a shard four times a second
SHARD_REFRESH_SECONDS = 5.0
RETRY_BACKOFF_SECONDS = 0.5
MAX_GET_RECORDS = 1000  # GetRecords' own cap
_STALE_ITERATOR = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException"})


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")  # B / BS attributes, as Lambda sends them
    return value


def build_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB event from one GetRecords record (boto3 shape)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    built = {key: record[key] for key in ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion")}
    built["dynamodb"] = _json_safe(change)
    built["eventSourceARN"] = stream_arn
    return built


def first_failed_index(
    result: Any, sequence_numbers: Sequence[str], function_response_types: Iterable[str]
) -> int | None:
    """Index of the first record to retry after this invocation result (the lowest sequence number
    reported failed); None when the batch is done."""
    failed = reported_failures(result, sequence_numbers, function_response_types)
    if failed is None:
        return 0
    return min(sequence_numbers.index(sequence) for sequence in failed) if failed else None


class RecordFilter:
    """A source's FilterCriteria: a record passes when any pattern matches it (no pattern: every record)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns = []
        if patterns:
            from moto.events.models import EventPattern  # the local stack runs moto server anyway

            self._patterns = [EventPattern.load(pattern) for pattern in patterns]

    def passes(self, record: Mapping[str, Any]) -> bool:
        return not self._patterns or any(pattern.matches_event(record) for pattern in self._patterns)


@dataclass
class _Shard:
    """Where one shard is read. Its iterator is asked for again from the checkpoint (or TRIM_HORIZON)
    at every shard refresh: when a transaction fails, moto puts back a deep copy of the table taken
    before it, stream included, and an iterator from before then reads the discarded copy for ever,
    with no error and no records (the stall after the API fuzzing)."""

    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    checkpoint: str | None = None  # last sequence number done
    failing: str | None = None  # the first sequence number of the records being retried
    attempts: int = 0  # failed invocations of those records
    finished: bool = False


class StreamPoller(BackgroundLoop):
    """Lambda's event source mapping for one DynamoDB event, in a daemon thread."""

    component = "streams"

    def __init__(
        self,
        source: DynamoDBEventSource,
        invoke: Invoke,
        *,
        dynamodb_endpoint: str,
        region: str,
        idle_seconds: float = IDLE_POLL_SECONDS,
        shard_refresh_seconds: float = SHARD_REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.source = source
        self._invoke = invoke
        self._idle_seconds = idle_seconds
        self._shard_refresh_seconds = shard_refresh_seconds
        self._streams = client("dynamodbstreams", dynamodb_endpoint, region)
        self._shards: dict[str, _Shard] = {}
        self._refreshed_at = -math.inf
        self.label = f"{source.function_id}.{source.event_name}"
        self._filter = RecordFilter(source.filter_patterns)

    def step(self) -> None:
        try:
            if time.monotonic() - self._refreshed_at > self._shard_refresh_seconds:
                self._refresh_shards()
            busy = False
            for shard in self._ready_shards():
                busy |= self._poll(shard)
        except Exception:
            for shard in self._shards.values():
                shard.iterator = None  # iterators may have expired; resume from the checkpoints
            raise
        if not busy:
            self._stopping.wait(self._idle_seconds)

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            self._shards.setdefault(shard["ShardId"], _Shard(shard["ShardId"], shard.get("ParentShardId")))
            self._shards[shard["ShardId"]].iterator = None  # asked for again from where it is: see _Shard
        self._refreshed_at = time.monotonic()

    def _ready_shards(self) -> list[_Shard]:
        """Open work: shards not finished whose parent (if we know it) is finished."""
        shards = self._shards
        return [
            s for s in list(shards.values()) if not s.finished and getattr(shards.get(s.parent_id), "finished", True)
        ]

    def _iterator(self, shard: _Shard) -> str:
        arguments: dict[str, Any] = {"StreamArn": self.source.stream_arn, "ShardId": shard.shard_id}
        if shard.checkpoint is not None:
            arguments.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
        else:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        return self._streams.get_shard_iterator(**arguments)["ShardIterator"]

    def _read(self, shard: _Shard) -> list[dict]:
        """Up to BatchSize records from where the shard is read."""
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
        try:
            answer = self._streams.get_records(
                ShardIterator=shard.iterator, Limit=min(MAX_GET_RECORDS, max(1, self.source.batch_size))
            )
        except ClientError as error:
            # DynamoDB Local answers a TRIM_HORIZON iterator on a shard with nothing in it yet this
            # way, and iterators expire after 15 minutes: ask for a new one on the next poll.
            if error.response.get("Error", {}).get("Code") not in _STALE_ITERATOR:
                raise
            shard.iterator = None
            return []
        records = answer.get("Records", [])
        shard.iterator = answer.get("NextShardIterator")
        if shard.iterator is None and not records:  # the shard is closed and read to its end
            shard.finished = True
            self._refreshed_at = -math.inf  # its children appear in the next describe
        return records

    def _poll(self, shard: _Shard) -> bool:
        """One batch of this shard, if there is one; True when there was."""
        records = self._read(shard)
        if not records or self._stopping.is_set():
            return False
        last = records[-1]["dynamodb"]["SequenceNumber"]
        built = [build_record(record, stream_arn=self.source.stream_arn) for record in records]
        built = [record for record in built if self._filter.passes(record)]
        if not built:
            self._done(shard, last)
            return True
        result = self._invoke(self.source.function_id, {"Records": built})
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in built]
        failed_at = first_failed_index(result, sequence_numbers, self.source.function_response_types)
        if failed_at is None:
            self._done(shard, last)
            outcome = f"{len(built)} record(s), ok"
        else:
            outcome = self._retry(shard, sequence_numbers, failed_at, last, result)
        log("streams", f"{self.source.function_id} <- {self.source.table_id}: {outcome}")
        return True

    def _done(self, shard: _Shard, last_sequence: str) -> None:
        shard.checkpoint, shard.failing, shard.attempts = last_sequence, None, 0

    def _retry(self, shard: _Shard, sequence_numbers: list[str], failed_at: int, last: str, result: Any) -> str:
        """Checkpoint before the first failed record and read again from it; skip it after the retries."""
        first_failed = sequence_numbers[failed_at]
        shard.attempts = shard.attempts + 1 if shard.failing == first_failed else 1
        limit = self.source.maximum_retry_attempts
        if 0 <= limit < shard.attempts:
            self._done(shard, last)
            return f"{len(sequence_numbers) - failed_at} record(s) from {first_failed} skipped after {limit} retries"
        if failed_at > 0:  # read again after the last record done (the ones between were filtered out)
            shard.checkpoint = sequence_numbers[failed_at - 1]
        shard.failing, shard.iterator = first_failed, None
        self._stopping.wait(RETRY_BACKOFF_SECONDS)
        why = getattr(result, "error_type", None) or "batch item failures"
        return f"{len(sequence_numbers)} record(s), retrying from {first_failed} ({why}; attempt {shard.attempts})"
