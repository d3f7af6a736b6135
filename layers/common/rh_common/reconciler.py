"""Nothing stuck: finds requests the normal flow left behind and moves them on.

- PENDING with no attempt due (the function died between reserving and
  handing the request on, or between recording a retry and queueing it):
  queued again; the retry uses the same idempotency key, so a create that did
  reach Return Helper is recognised, never duplicated.
- SUBMITTED / IN_PROGRESS with no status change for a while (a webhook lost or
  not yet matchable): GetResend, and whatever it says is applied forward-only,
  with any resend reports parked under that resend id.
- Webhook deliveries left `received` or `applyFailed` past a grace period (the
  function died or timed out and Return Helper stopped redelivering): applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rh_common.events import ResendUpdate, tracking_and_error
from rh_common.ports import ResendRecords, RetryScheduler, ReturnHelper
from rh_common.resend_lifecycle import Status
from rh_common.resend_tracking import ResendTracker
from rh_common.timestamps import iso

if TYPE_CHECKING:
    from rh_common.ingest import WebhookIngestor


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deliveries_applied: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(
        self,
        resends: ResendRecords,
        tracker: ResendTracker,
        upstream: ReturnHelper,
        retries: RetryScheduler,
        pending_after_seconds: int,
        submitted_after_seconds: int,
        deliveries: WebhookIngestor | None = None,
        deliveries_after_seconds: int = 300,
        release_parked: Callable[[int], int] | None = None,
    ) -> None:
        self._resends = resends
        self._tracker = tracker
        self._upstream = upstream
        self._retries = retries
        self._pending_after = pending_after_seconds
        self._submitted_after = submitted_after_seconds
        self._deliveries = deliveries
        self._deliveries_after = deliveries_after_seconds
        self._release_parked = release_parked

    def run(self, now: datetime | None = None) -> ReconcileReport:
        now = now or datetime.now(UTC)
        report = ReconcileReport()
        self._requeue_stuck_pending(now, report)
        self._poll_quiet_submissions(now, report)
        if self._deliveries is not None:
            results = self._deliveries.reapply_unfinished(self._deliveries_after)
            report.deliveries_applied = [r.delivery_id for r in results if r.outcome == "applied"]
        return report

    def _requeue_stuck_pending(self, now: datetime, report: ReconcileReport) -> None:
        before = iso(now - timedelta(seconds=self._pending_after))
        for request_id in self._resends.ids_with_status(Status.PENDING.value, before):
            record = self._resends.get(request_id)
            if record is None or record["status"] != Status.PENDING.value:
                continue
            due = int(record.get("nextAttemptAt", 0))
            if due and due + self._pending_after > now.timestamp():
                continue  # a queued retry is (or was very recently) due; let it run
            # Touch first so the next run does not queue it again while this one waits.
            touched = self._resends.transition(
                request_id, [Status.PENDING.value], {"updatedAt": iso(now), "nextAttemptAt": int(time.time())}
            )
            if touched:
                self._retries.schedule(request_id, 0)
                report.requeued.append(request_id)

    def _poll_quiet_submissions(self, now: datetime, report: ReconcileReport) -> None:
        before = iso(now - timedelta(seconds=self._submitted_after))
        for status in (Status.SUBMITTED, Status.IN_PROGRESS):
            for request_id in self._resends.ids_with_status(status.value, before):
                record = self._resends.get(request_id)
                if record is None or record["status"] != status.value or record.get("resendId") is None:
                    continue
                outcome = self._upstream.get_resend(int(record["resendId"]))
                report.polled.append(request_id)
                if not outcome.ok:
                    continue
                update = _update_from_get_resend(int(record["resendId"]), outcome.payload)
                if self._tracker.apply_to(record, update) == "applied":
                    report.updated.append(request_id)
                if self._release_parked is not None:
                    self._release_parked(int(record["resendId"]))


def _update_from_get_resend(resend_id: int, payload: dict[str, Any]) -> ResendUpdate:
    tracking, error = tracking_and_error(payload.get("resendShipmentList"))
    code = payload.get("resendStatusCode")
    return ResendUpdate(
        resend_id=resend_id,
        status_code=int(code) if code is not None and str(code).lstrip("-").isdigit() else None,
        tracking_number=tracking,
        error=error,
    )
