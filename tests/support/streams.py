"""The tables' streams and the event bus in moto (in process), for the event publisher's tests.

`StreamReader` hands out what was written since its last read, as the Lambda event a stream
mapping would deliver (built by the local stack's own poller code); `BusCapture` is a rule on
the bus with an SQS target, the way a merchant's system subscribes.
"""

from __future__ import annotations

import json

import boto3
from botocore.config import Config

from local.stream_poller import build_record
from rh_common.adapters.dynamodb import base


class StreamReader:
    def __init__(self, table_name: str) -> None:
        # moto (in process) answers streams on the regional endpoint only, not the account-based one.
        self._streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        self._arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._after: str | None = None

    def read(self) -> dict:
        """{"Records": [...]}: every record after the previous read (one shard in moto)."""
        [shard] = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        start = {"ShardIteratorType": "TRIM_HORIZON"}
        if self._after is not None:
            start = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._after}
        iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard["ShardId"], **start)
        records = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
        if records:
            self._after = records[-1]["dynamodb"]["SequenceNumber"]
        return {"Records": [build_record(record, stream_arn=self._arn) for record in records]}


class BusCapture:
    """Every event put on `bus_name` (created if missing) from now on, through a rule and a queue."""

    def __init__(self, bus_name: str) -> None:
        events, self._sqs = boto3.client("events"), boto3.client("sqs")
        if bus_name not in {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}:
            events.create_event_bus(Name=bus_name)
        self._queue = self._sqs.create_queue(QueueName=f"capture-{bus_name}")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])["Attributes"]
        events.put_rule(Name="capture", EventBusName=bus_name, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
        events.put_targets(Rule="capture", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
        self.events: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.events
            for message in messages:
                self.events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])


def stream_record(
    new: dict | None,
    old: dict | None = None,
    *,
    event_id: str = "e-1",
    sequence: str = "100",
    event_name: str | None = None,
    key: str = "resendRequestId",
) -> dict:
    """One record of Lambda's DynamoDB stream event, from plain images."""
    image = new if new is not None else old
    if image is None:
        raise ValueError("a stream record has a new image, an old one, or both")
    change = {
        "Keys": {key: base.to_attribute(image[key])},
        "SequenceNumber": sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = base.to_item(new)
    if old is not None:
        change["OldImage"] = base.to_item(old)
    name = event_name or ("INSERT" if old is None else "REMOVE" if new is None else "MODIFY")
    return {"eventID": event_id, "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": change}
