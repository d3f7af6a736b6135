"""Local DynamoDB stream event source mappings: one poller thread per enabled `DynamoDB` event.

Each poller behaves like Lambda's stream event source mapping, shard by shard (parents
before their children), one batch in flight per shard:

- reads the table's stream (DynamoDB Local and moto both serve the `dynamodbstreams` API
  on the DynamoDB endpoint) from TRIM_HORIZON, up to BatchSize records, waiting up to
  MaximumBatchingWindowInSeconds for a batch to fill;
- drops the records no FilterCriteria pattern matches (Lambda's event filtering: the same
  pattern language as EventBridge's, matched with moto's implementation of it), checkpointing
  past a batch with none left;
- invokes the function with the event Lambda builds ({"Records": [...]}, each record with
  its eventSourceARN and ApproximateCreationDateTime in epoch seconds);
- checkpoints after a batch that succeeded. With FunctionResponseTypes
  [ReportBatchItemFailures] the checkpoint stops before the first sequence number the
  function listed in batchItemFailures and the batch is retried from there; a response it
  cannot read, a function error or a timeout retry the whole batch (halved first when
  BisectBatchOnFunctionError is set);
- after MaximumRetryAttempts retries of one batch, sends Lambda's description of it
  (DDBStreamBatchInfo: shard, first and last sequence number) to the OnFailure queue and
  moves past it: a bad record never blocks its shard.

Test hook (local only, never in AWS): a file `<faults dir>/<FunctionId>.<EventName>.crash-once`
makes the next batch of that source "crash mid-batch": the function is invoked with the first
half of the batch (so those records' effects happen), then its workers are killed and nothing
is checkpointed, so the whole batch is delivered again, as Lambda does after a crash. A file
with text in it fires only on a batch whose records contain that text (an idempotency key, an
item id), so a test crashes its own batch. The file is removed when it fires.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local.aws_services import client
from local.background import BackgroundLoop, EventSources, Invoke, reported_failures
from local.processes import log
from local.template import DynamoDBEventSource

IDLE_POLL_SECONDS = 0.25  # Lambda polls a shard four times a second
SHARD_REFRESH_SECONDS = 5.0
ERROR_BACKOFF_SECONDS = 1.0
RETRY_BACKOFF_SECONDS = 0.2  # times the attempt number
MAX_GET_RECORDS = 1000  # GetRecords' own cap
CRASH_ONCE_SUFFIX = ".crash-once"
_STALE_ITERATOR = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException"})


# ------------------------------------------------------------------ the event Lambda builds


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


def on_failure_record(
    source: DynamoDBEventSource,
    function_arn: str,
    shard_id: str,
    records: Sequence[Mapping[str, Any]],
    invocations: int,
    result: Any,
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's OnFailure destination: the batch described, not its records."""

    def arrival(record: Mapping[str, Any]) -> str:
        seconds = record["dynamodb"].get("ApproximateCreationDateTime") or 0
        return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if not getattr(result, "ok", False):
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invocations,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": source.stream_arn,
        },
    }


class RecordFilter:
    """A source's FilterCriteria: a record passes when any pattern matches it (no pattern: every record)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns = []
        if patterns:
            from moto.events.models import EventPattern  # the local stack runs moto server anyway

            self._patterns = [EventPattern.load(pattern) for pattern in patterns]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def passes(self, record: Mapping[str, Any]) -> bool:
        return not self._patterns or any(pattern.matches_event(record) for pattern in self._patterns)


# ------------------------------------------------------------------ one event source


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
    retry_from: str | None = None  # first sequence number of the batch being retried
    attempts: int = 0  # failed invocations of that batch
    batch_limit: int | None = None  # bisected batch size
    finished: bool = False


class StreamPoller(BackgroundLoop):
    """Lambda's event source mapping for one DynamoDB event, in a daemon thread."""

    thread_kind = "stream poller"

    def __init__(
        self,
        source: DynamoDBEventSource,
        invoke: Invoke,
        *,
        dynamodb_endpoint: str,
        aws_endpoint: str,
        region: str,
        function_arn: str,
        on_failure_queue_url: str | None = None,
        faults_dir: Path | None = None,
        crash: Callable[[str], None] | None = None,
        idle_seconds: float = IDLE_POLL_SECONDS,
        shard_refresh_seconds: float = SHARD_REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.source = source
        self._invoke = invoke
        self._function_arn = function_arn
        self._on_failure_queue_url = on_failure_queue_url
        self._faults_dir = faults_dir
        self._crash = crash
        self._idle_seconds = idle_seconds
        self._shard_refresh_seconds = shard_refresh_seconds
        self._streams = client("dynamodbstreams", dynamodb_endpoint, region)
        self._sqs = client("sqs", aws_endpoint, region)
        self._shards: dict[str, _Shard] = {}
        self._refreshed_at = -math.inf
        self.label = f"{source.function_id}.{source.event_name}"
        self._filter = RecordFilter(source.filter_patterns)

    def describe(self) -> str:
        source = self.source
        return (
            f"{self.label} reads the {source.table_id} stream from {source.starting_position} (batch "
            f"{source.batch_size}, {source.maximum_retry_attempts} retries, on failure -> "
            f"{source.on_failure_queue_id or 'nothing'})"
        )

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if time.monotonic() - self._refreshed_at > self._shard_refresh_seconds:
                    self._refresh_shards()
                busy = False
                for shard in self._ready_shards():
                    busy |= self._poll(shard)
                if not busy:
                    self._stopping.wait(self._idle_seconds)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                log("streams", f"{self.label}: {type(exc).__name__}: {exc}; retrying")
                for shard in self._shards.values():
                    shard.iterator = None  # iterators may have expired; resume from the checkpoints
                self._stopping.wait(ERROR_BACKOFF_SECONDS)

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            self._shards.setdefault(shard["ShardId"], _Shard(shard["ShardId"], shard.get("ParentShardId")))
            self._shards[shard["ShardId"]].iterator = None  # asked for again from where it is: see _Shard
        self._refreshed_at = time.monotonic()

    def _ready_shards(self) -> list[_Shard]:
        """Open work: shards not finished whose parent (if we know it) is finished."""
        ready = []
        for shard in list(self._shards.values()):
            parent = self._shards.get(shard.parent_id or "")
            if not shard.finished and (parent is None or parent.finished):
                ready.append(shard)
        return ready

    def _iterator(self, shard: _Shard) -> str:
        arguments: dict[str, Any] = {"StreamArn": self.source.stream_arn, "ShardId": shard.shard_id}
        if shard.retry_from is not None:
            arguments.update(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=shard.retry_from)
        elif shard.checkpoint is not None:
            arguments.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
        else:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        return self._streams.get_shard_iterator(**arguments)["ShardIterator"]

    def _read(self, shard: _Shard) -> list[dict]:
        """Up to BatchSize records: the first read that returns any, then more until the window closes."""
        limit = max(1, min(shard.batch_limit or self.source.batch_size, self.source.batch_size))
        records: list[dict] = []
        window_ends: float | None = None
        while not self._stopping.is_set():
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            try:
                answer = self._streams.get_records(
                    ShardIterator=shard.iterator, Limit=min(MAX_GET_RECORDS, limit - len(records))
                )
            except ClientError as error:
                # DynamoDB Local answers a TRIM_HORIZON iterator on a shard with nothing in it yet this
                # way, and iterators expire after 15 minutes: ask for a new one on the next poll.
                if error.response.get("Error", {}).get("Code") not in _STALE_ITERATOR:
                    raise
                shard.iterator = None
                return records
            received = answer.get("Records", [])
            records += received
            shard.iterator = answer.get("NextShardIterator")
            if shard.iterator is None:  # the shard is closed and read to its end
                if not records:
                    shard.finished = True
                    self._refreshed_at = -math.inf  # its children appear in the next describe
                return records
            if not records:
                return records
            if window_ends is None:
                window_ends = time.monotonic() + self.source.maximum_batching_window_seconds
            if len(records) >= limit or time.monotonic() >= window_ends:
                return records
            if not received:
                self._stopping.wait(0.1)
        return []

    def _poll(self, shard: _Shard) -> bool:
        """One batch of this shard, if there is one; True when there was."""
        records = self._read(shard)
        if not records or self._stopping.is_set():
            return False
        built = [build_record(record, stream_arn=self.source.stream_arn) for record in records]
        if self._filter:
            kept = [i for i, record in enumerate(built) if self._filter.passes(record)]
            if not kept:
                self._done(shard, records[-1]["dynamodb"]["SequenceNumber"])
                return True
            records, built = [records[i] for i in kept], [built[i] for i in kept]
        event = {"Records": built}
        if self._crash_once_armed(event):
            self._crash_mid_batch(event)
            self._retry(shard, event["Records"], 0, result=None)
            return True
        result = self._invoke(self.source.function_id, event)
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
        failed_at = first_failed_index(result, sequence_numbers, self.source.function_response_types)
        if failed_at is None:
            self._done(shard, sequence_numbers[-1])
            outcome = f"{len(records)} record(s), ok"
        else:
            outcome = self._retry(shard, event["Records"], failed_at, result)
        log("streams", f"{self.source.function_id} <- {self.source.table_id}: {outcome}")
        return True

    def _done(self, shard: _Shard, last_sequence: str) -> None:
        shard.checkpoint = last_sequence
        shard.retry_from, shard.attempts, shard.batch_limit = None, 0, None

    def _retry(self, shard: _Shard, records: list[dict], failed_at: int, result: Any) -> str:
        """Checkpoint before the first failed record; retry from it, or give the batch up after the retries."""
        if failed_at > 0:
            shard.checkpoint = records[failed_at - 1]["dynamodb"]["SequenceNumber"]
        first_failed = records[failed_at]["dynamodb"]["SequenceNumber"]
        shard.attempts = shard.attempts + 1 if shard.retry_from == first_failed else 1
        shard.retry_from = first_failed
        shard.iterator = None  # read again from the first failed record
        function_error = result is not None and not getattr(result, "ok", False)
        if function_error and self.source.bisect_batch_on_function_error and len(records) > 1:
            shard.batch_limit = max(1, len(records) // 2)
        limit = self.source.maximum_retry_attempts
        if limit >= 0 and shard.attempts > limit:
            failed = records[failed_at:]
            self._send_on_failure(shard, failed, shard.attempts, result)
            self._done(shard, records[-1]["dynamodb"]["SequenceNumber"])
            return (
                f"{len(records)} record(s), failed from {first_failed} after {limit} retries: "
                f"{len(failed)} record(s) skipped, described on the on-failure queue"
            )
        self._stopping.wait(RETRY_BACKOFF_SECONDS * shard.attempts)
        why = getattr(result, "error_type", None) or "batch item failures"
        return f"{len(records)} record(s), retrying from {first_failed} ({why}; attempt {shard.attempts})"

    def _send_on_failure(self, shard: _Shard, records: list[dict], invocations: int, result: Any) -> None:
        if self._on_failure_queue_url is None:
            log("streams", f"{self.label}: no on-failure destination; {len(records)} record(s) dropped")
            return
        body = on_failure_record(self.source, self._function_arn, shard.shard_id, records, invocations, result)
        self._sqs.send_message(QueueUrl=self._on_failure_queue_url, MessageBody=json.dumps(body))

    # -- the local crash hook

    def _crash_once_armed(self, event: dict) -> bool:
        if self._faults_dir is None:
            return False
        switch = self._faults_dir / f"{self.label}{CRASH_ONCE_SUFFIX}"
        try:
            marker = switch.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return False
        if marker and marker not in json.dumps(event):
            return False  # armed for another batch (one that holds the marker)
        switch.unlink(missing_ok=True)
        return True

    def _crash_mid_batch(self, event: dict) -> None:
        records = event["Records"]
        handled = records[: math.ceil(len(records) / 2)]
        self._invoke(self.source.function_id, {"Records": handled})
        if self._crash is not None:
            self._crash(self.source.function_id)
        log(
            "streams",
            f"fault: {self.label} crashed after handling {len(handled)} of {len(records)} record(s) "
            "(workers killed, nothing checkpointed); the batch is delivered again",
        )


def stream_pollers(
    sources: Iterable[DynamoDBEventSource],
    invoke: Invoke,
    *,
    dynamodb_endpoint: str,
    aws_endpoint: str,
    region: str,
    function_arns: Mapping[str, str],
    queue_urls: Mapping[str, str],
    faults_dir: Path | None = None,
    crash: Callable[[str], None] | None = None,
) -> EventSources:
    """A poller per enabled DynamoDB event source of the template."""

    def poller(source: DynamoDBEventSource) -> StreamPoller:
        return StreamPoller(
            source,
            invoke,
            dynamodb_endpoint=dynamodb_endpoint,
            aws_endpoint=aws_endpoint,
            region=region,
            function_arn=function_arns[source.function_id],
            on_failure_queue_url=queue_urls.get(source.on_failure_queue_id or ""),
            faults_dir=faults_dir,
            crash=crash,
        )

    return EventSources("streams", sources, poller)
