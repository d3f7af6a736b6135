"""The webhook path after verification: keep the delivery once, then apply it.

verify (signature.verify) -> record (one conditional put) -> apply (one
conditional update per inventory). Each step is callable alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from rh_common import events, inventory
from rh_common.adapters.delivery_log import Delivery, DeliveryLog
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.resend_tracking import ResendTracker


class ApplyFailed(RuntimeError):
    """Stored but not applied: answer 5xx so Return Helper redelivers (the log accepts that redelivery)."""


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "applied" | "duplicate" | "ignored" | "unprocessable"
    delivery_id: str
    category: str | None = None
    action: str | None = None


def read_delivery(raw_body: bytes) -> tuple[Delivery, events.NormalisedEvent | None]:
    """Pure: the delivery to keep and, when the body is a readable event, the event."""
    body_hash = "sha256:" + hashlib.sha256(raw_body).hexdigest()
    try:
        event = events.normalise(json.loads(raw_body))
    except (ValueError, events.UnprocessableEvent) as exc:
        # json's ValueError covers bad JSON and bad UTF-8 alike.
        return Delivery(body_hash, raw_body, "unprocessable", reason=str(exc)[:500]), None
    delivery_id = f"notification:{event.notification_id}" if event.notification_id else body_hash
    status = "accepted" if event.handled else "ignored"
    return Delivery(delivery_id, raw_body, status, event.category, event.action, event.event_time), event


class WebhookIngestor:
    def __init__(self, deliveries: DeliveryLog, inventories: InventoryStore, resends: ResendTracker) -> None:
        self._deliveries = deliveries
        self._inventories = inventories
        self._resends = resends

    def ingest(self, raw_body: bytes) -> IngestResult:
        delivery, event = read_delivery(raw_body)
        if not self._deliveries.record(delivery):
            return IngestResult("duplicate", delivery.delivery_id, delivery.category, delivery.action)
        if event is None or not event.handled:
            return IngestResult(delivery.status, delivery.delivery_id, delivery.category, delivery.action)
        try:
            self.apply(event, delivery.delivery_id)
        except Exception as exc:
            self._deliveries.mark_apply_failed(delivery.delivery_id, type(exc).__name__)
            raise ApplyFailed(delivery.delivery_id) from exc
        return IngestResult("applied", delivery.delivery_id, event.category, event.action)

    def apply(self, event: events.NormalisedEvent, delivery_id: str) -> None:
        version = inventory.event_version(event.event_time, delivery_id)
        for facts in event.inventories:
            self._inventories.apply(facts, version, event.event_time)
        if event.resend is not None:
            # A resend we do not know (not ours, or not recorded yet) stays in the
            # delivery log; the reconciler's GetResend poll catches up on ours.
            self._resends.apply(event.resend, event.event_time, delivery_id)
