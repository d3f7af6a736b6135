"""The webhook path after verification: keep the delivery, apply it, mark it applied.

verify (signature.verify) -> record (one conditional put, `received`) -> apply
and mark `accepted` (one transaction for the inventory writes and the mark).
A new in-order delivery is two write requests, a duplicate of an applied one
is one (the failed put), and a delivery is never answered "duplicate" unless
its effect is known to be applied: docs/architecture.md says why this order is
safe. The same apply path serves redeliveries, replays and the reconciler.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rh_common.domain import inventory, json_input, timestamps, webhook_events
from rh_common.domain.deliveries import ANSWER_OF, UNFINISHED, Delivery, DeliveryOutcome, DeliveryStatus
from rh_common.services.ports import Deliveries, EventInventories, OrderCancellations
from rh_common.services.resend_tracking import ResendTracker

log = logging.getLogger(__name__)


class ApplyFailed(RuntimeError):
    """Stored but not applied for a reason a retry can cure: answer 5xx so Return Helper redelivers
    (the log accepts that redelivery)."""


@dataclass(frozen=True)
class IngestResult:
    outcome: DeliveryOutcome
    delivery_id: str
    category: str | None = None
    action: str | None = None
    payload: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)  # for logging, masked


def read_delivery(raw_body: bytes) -> tuple[Delivery, webhook_events.NormalisedEvent | None]:
    """Pure: the delivery to keep and, when the body is a readable event, the event."""
    body_hash = "sha256:" + hashlib.sha256(raw_body).hexdigest()
    try:
        event = webhook_events.normalise(json_input.load(raw_body))
    except (ValueError, webhook_events.UnprocessableEvent) as exc:
        # json's ValueError covers bad JSON and bad UTF-8 alike; json_input's, NaN and deep nesting.
        reason = str(exc)[:500]
        return Delivery(body_hash, raw_body, DeliveryStatus.UNPROCESSABLE, reason=reason), None
    delivery_id = f"notification:{event.notification_id}" if event.notification_id else body_hash
    status = DeliveryStatus.RECEIVED if event.handled else DeliveryStatus.IGNORED
    delivery = Delivery(
        delivery_id,
        raw_body,
        status,
        event.category,
        event.action,
        event.event_time,
        inventory_ids=tuple(facts.inventory_id for facts in event.inventories),
        resend_id=event.resend.resend_id if event.resend is not None else None,
    )
    return delivery, event


def failure_reason(error: Exception) -> str:
    """What the delivery log keeps about a failed apply: the error's type, and DynamoDB's code and
    message or our own (the log's `reason`, read by operators; never logged)."""
    response = getattr(error, "response", {})  # a botocore ClientError's
    code = response.get("Error", {}).get("Code")
    detail = f"{code}: {response['Error'].get('Message', '')}" if code else str(error)
    return f"{type(error).__name__}: {detail}"[:500]


class WebhookIngestor:
    def __init__(
        self,
        deliveries: Deliveries,
        inventories: EventInventories,
        resends: ResendTracker,
        orders: OrderCancellations,
        retryable: Callable[[BaseException], bool],
    ) -> None:
        self._deliveries = deliveries
        self._inventories = inventories
        self._resends = resends
        self._orders = orders
        # Whether a failed apply may succeed later (the store's judgement: adapters.dynamodb.base.is_retryable).
        self._retryable = retryable

    @property
    def deliveries(self) -> Deliveries:
        return self._deliveries

    def ingest(self, raw_body: bytes) -> IngestResult:
        delivery, event = read_delivery(raw_body)
        payload = event.payload if event is not None else None
        if not self._deliveries.record(delivery):
            duplicate = DeliveryOutcome.DUPLICATE
            return IngestResult(duplicate, delivery.delivery_id, delivery.category, delivery.action, payload)
        if event is None or not event.handled:
            answer = ANSWER_OF[delivery.status]
            return IngestResult(answer, delivery.delivery_id, delivery.category, delivery.action, payload)
        # New, or a redelivery of one whose apply did not finish: apply it (again; the
        # versioned registers make a second apply change nothing).
        return self._apply_or_fail(event, delivery.delivery_id)

    def apply_stored(self, item: dict[str, Any]) -> IngestResult:
        """A kept delivery's stored bytes through the same apply path, without the dedup step
        (replay, the reconciler). A body that is still unreadable or of a type not handled
        keeps its status."""
        delivery_id = item["deliveryId"]
        delivery, event = read_delivery(bytes(item["body"]))
        if event is None or not event.handled:
            return IngestResult(ANSWER_OF[delivery.status], delivery_id, delivery.category, delivery.action)
        return self._apply_or_fail(event, delivery_id)

    def _apply_or_fail(self, event: webhook_events.NormalisedEvent, delivery_id: str) -> IngestResult:
        """Applied; or kept `unprocessable` when the failure would recur on every redelivery (a
        number DynamoDB cannot hold, a request it refuses, a shape the readers did not foresee);
        or ApplyFailed (5xx) when a retry can cure it."""
        try:
            self.apply(event, delivery_id)
        except Exception as exc:
            if self._retryable(exc):
                self._deliveries.mark_apply_failed(delivery_id, type(exc).__name__)
                raise ApplyFailed(delivery_id) from exc
            self._deliveries.mark_unprocessable(delivery_id, failure_reason(exc))
            # By type only: a message may quote a value. The reason is in the delivery log.
            log.warning(
                "delivery kept unprocessable: its apply fails the same way every time",
                extra={"deliveryId": delivery_id, "error": type(exc).__name__},
            )
            unprocessable = ANSWER_OF[DeliveryStatus.UNPROCESSABLE]
            return IngestResult(unprocessable, delivery_id, event.category, event.action, event.payload)
        # `accepted` in the log, or `parked` until its resend id is recorded: answered alike
        return IngestResult(DeliveryOutcome.APPLIED, delivery_id, event.category, event.action, event.payload)

    def apply(self, event: webhook_events.NormalisedEvent, delivery_id: str) -> None:
        """Apply the event and record the delivery's final state (`accepted`, or `parked`)."""
        version = inventory.event_version(event.event_time, delivery_id)
        if event.cancelled_order is not None:
            # Names no item: a marker the reference table's consumer frees the order's items by, written with
            # the mark in one transaction (still two writes and no read for a new delivery).
            applied = self._deliveries.applied_update(delivery_id)
            self._orders.cancel_order(event.cancelled_order, version, event.event_time, also=applied)
            return
        if event.resend is None:
            # The mark rides in the inventory writes' transaction: applied and marked, or neither.
            self._inventories.apply_together(
                event.inventories, version, event.event_time, also=self._deliveries.applied_update(delivery_id)
            )
            return
        self._inventories.apply_together(event.inventories, version, event.event_time)
        record = self._resends.find(event.resend.resend_id)
        if record is None:
            # A resend an unknown attempt of ours may have created: adopted by the PENDING request that holds
            # exactly its items. Here, not where parked reports are released: nothing would ever release a
            # report parked under an id that no request will record. Only reports for an unrecorded id pay
            # its reads (the first item, its request); the new-delivery path stays two writes.
            record = self._resends.adopt(event.resend.resend_id, [facts.inventory_id for facts in event.inventories])
        if record is None:
            # Not ours, or its create answer is not recorded yet: kept under the resend id
            # and applied in the step that records it (ParkedResendUpdates.release).
            self._deliveries.mark_parked(delivery_id, event.resend.resend_id)
            record = self._resends.find(event.resend.resend_id)
            if record is None:
                return
            # Recorded meanwhile (its step may have looked for parked reports before this one
            # was parked): apply this one now, and any others parked under the id.
            self._resends.apply_to(record, event.resend, event.event_time, delivery_id)
            self._deliveries.mark_applied(delivery_id)
            ParkedResendUpdates(self._deliveries, self._resends).release(event.resend.resend_id, record)
            return
        self._resends.apply_to(record, event.resend, event.event_time, delivery_id)
        self._deliveries.mark_applied(delivery_id)

    def reapply_unfinished(
        self, older_than_seconds: int, keep_going: Callable[[], bool], limit: int = 100
    ) -> list[IngestResult]:
        """The reconciler's step: deliveries left `received`/`applyFailed` past a grace period
        (the function died, and Return Helper stopped redelivering) are applied, each while
        `keep_going()` (the run's time) allows; the rest are the next run's."""
        before = int(time.time()) - older_than_seconds
        results: list[IngestResult] = []
        for status in UNFINISHED:
            stuck, _ = self._deliveries.list_by_status(status.value, limit, received_before=before)
            for listed in stuck:
                if not keep_going():
                    return results
                item = self._deliveries.get(listed["deliveryId"])
                if item is None or item.get("status") not in UNFINISHED:
                    continue
                try:
                    results.append(self.apply_stored(item))
                except ApplyFailed:
                    continue  # marked applyFailed; the next run tries again
        return results


class ParkedResendUpdates:
    """Resend reports that arrived before their resend id was recorded, applied in event order
    in the step that records it (the create answer, a GetResend poll)."""

    def __init__(self, deliveries: Deliveries, resends: ResendTracker) -> None:
        self._deliveries = deliveries
        self._resends = resends

    def release(self, resend_id: int, record: dict[str, Any] | None = None) -> int:
        """Apply every delivery parked under resend_id; returns how many were applied."""
        parked = []
        for delivery_id in self._deliveries.parked_for(resend_id):
            item = self._deliveries.get(delivery_id)
            if item is None or item.get("status") != DeliveryStatus.PARKED.value:
                continue
            _, event = read_delivery(bytes(item["body"]))
            if event is not None and event.resend is not None:
                parked.append((timestamps.sortable(event.event_time), delivery_id, event.resend, event.event_time))
        record = record or (self._resends.find(resend_id) if parked else None)
        if record is None:
            return 0
        for _, delivery_id, resend, event_time in sorted(parked, key=lambda entry: entry[:2]):
            # apply_to re-reads the request when the previous update moved its status.
            self._resends.apply_to(record, resend, event_time, delivery_id)
            self._deliveries.mark_applied(delivery_id)
        return len(parked)
