"""`make run` shows every event the stack publishes, one line each.

A rule on the local bus (moto) matching every event sends it to a queue of its own, which
this loop drains: `[events] ResendStatusChanged <eventId> PENDING -> SUBMITTED`. It is a consumer
like any other (the same route a merchant's rule takes), so what it prints is what a subscriber
would receive.
"""

from __future__ import annotations

import json
from typing import Any

from local.aws_services import client
from local.processes import log
from local.settings import LOCAL_STACK_NAME
from local.sqs_poller import SqsPoller
from local.template import SqsEventSource

PRINTER_NAME = f"{LOCAL_STACK_NAME}-print-every-event"


def describe(event: dict[str, Any]) -> str:
    """One line for one EventBridge event: detail-type, eventId, and a status change when it is one."""
    detail = event.get("detail") or {}
    line = f"{event.get('detail-type', '?')} {detail.get('eventId', event.get('id'))}"
    return line + (f" {detail.get('previousStatus') or '-'} -> {detail['status']}" if "status" in detail else "")


class EventPrinter(SqsPoller):
    """Receives from its queue like an SQS event source, but prints the events instead of invoking."""

    component = "events"

    def __init__(self, bus_name: str, *, aws_endpoint: str, region: str) -> None:
        sqs, events = client("sqs", aws_endpoint, region), client("events", aws_endpoint, region)
        queue_url = sqs.create_queue(QueueName=PRINTER_NAME)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        every_event = json.dumps({"source": [{"prefix": ""}]})
        events.put_rule(Name=PRINTER_NAME, EventBusName=bus_name, EventPattern=every_event)
        events.put_targets(Rule=PRINTER_NAME, EventBusName=bus_name, Targets=[{"Id": "printer", "Arn": queue_arn}])
        source = SqsEventSource("", "", PRINTER_NAME, queue_url, 10, 0, (), True)
        super().__init__(source, lambda _function_id, _event: None, aws_endpoint=aws_endpoint, region=region)
        self.label = PRINTER_NAME
        log("events", f"every event on bus {bus_name} is printed here")

    def _process(self, messages: list[dict]) -> None:
        for message in messages:
            try:
                log("events", describe(json.loads(message["Body"])))
            except (ValueError, TypeError, KeyError):
                log("events", f"unreadable event: {message['Body'][:200]}")
        self._delete(messages)
