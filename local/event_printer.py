"""`make run` shows every event the stack publishes, one line each.

A rule on the local bus (moto) matching every event sends it to a queue of its own, which
this loop drains: `[events] ResendStatusChanged <eventId> PENDING -> SUBMITTED (resend
request ...)`. It is a consumer like any other (the same route a merchant's rule takes), so
what it prints is what a subscriber would receive.
"""

from __future__ import annotations

import json
from typing import Any

from local.aws_services import client
from local.background import BackgroundLoop
from local.processes import log
from local.settings import LOCAL_STACK_NAME

PRINTER_NAME = f"{LOCAL_STACK_NAME}-print-every-event"
RECEIVE_WAIT_SECONDS = 1


def describe(event: dict[str, Any]) -> str:
    """One line for one EventBridge event: detail-type, eventId, status (or what changed)."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type", "?")
    event_id = detail.get("eventId", event.get("id"))
    if "status" in detail:
        return (
            f"{kind} {event_id} {detail.get('previousStatus') or '-'} -> {detail['status']} "
            f"(resend request {detail.get('resendRequestId')}"
            + (f", tracking {detail['trackingNumber']}" if detail.get("trackingNumber") else "")
            + ")"
        )
    if "returnInventoryId" in detail:
        changed = ",".join(detail.get("changed") or [])
        return f"{kind} {event_id} inventory {detail['returnInventoryId']} changed {changed}"
    return f"{kind} {event_id}"


class EventPrinter(BackgroundLoop):
    thread_kind = "event printer"
    label = PRINTER_NAME

    def __init__(self, bus_name: str, *, aws_endpoint: str, region: str) -> None:
        super().__init__()
        self._bus = bus_name
        self._events = client("events", aws_endpoint, region)
        self._sqs = client("sqs", aws_endpoint, region)
        self._queue_url: str | None = None

    def start(self) -> None:
        self._queue_url = self._sqs.create_queue(QueueName=PRINTER_NAME)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._events.put_rule(
            Name=PRINTER_NAME, EventBusName=self._bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
        )
        self._events.put_targets(
            Rule=PRINTER_NAME, EventBusName=self._bus, Targets=[{"Id": "printer", "Arn": queue_arn}]
        )
        log("events", f"every event on bus {self._bus} is printed here")
        super().start()

    def _run(self) -> None:
        assert self._queue_url is not None
        while not self._stopping.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=RECEIVE_WAIT_SECONDS
                ).get("Messages", [])
            except Exception as exc:
                if self._stopping.is_set():
                    return
                log("events", f"printer: {type(exc).__name__}: {exc}")
                self._stopping.wait(1.0)
                continue
            for message in messages:
                try:
                    log("events", describe(json.loads(message["Body"])))
                except (ValueError, TypeError, KeyError):
                    log("events", f"unreadable event: {message['Body'][:200]}")
            if messages:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
