"""Nothing stuck: finds requests the normal flow left behind and moves them on, in one run's time.

A run does what its invocation's remaining time allows (CONTRACT section 10, periodic work is
bounded): no new step starts once less than a margin (an upstream call's timeout and a few
seconds) is left; what is left over is the next run's. In this order:

- Webhook deliveries left `received` or `applyFailed` past a grace period (the function died or
  timed out and Return Helper stopped redelivering): applied first, never behind the polling.
- AWAITING_APPROVAL for longer than `approval_timeout_hours` (nobody answered): CANCELED with
  `lastError.reason` approvalTimeout and the items released (section 12); no upstream call, so
  before the steps that make them.
- PENDING with an attempt whose outcome is unknown (`attemptUnknown`: Return Helper may have
  created the resend): queued again on every run, whatever its age or backoff, so Return Helper
  is asked again with the same key until it answers (section 3).
- PENDING with no attempt due (the function died between reserving and handing the request on,
  or between recording a retry and queueing it): queued again; the retry uses the same
  idempotency key, so a create that did reach Return Helper is recognised, never duplicated.
- SUBMITTED / IN_PROGRESS with no status change for a while (a webhook lost or not yet
  matchable): GetResend, and whatever it says is applied forward-only, with any resend reports
  parked under that resend id. At most `poll_max_per_run` per run, the least recently polled
  first; each poll is remembered on the record (`lastPolledAt`, `pollBackoffSeconds`, doubling
  up to a ceiling), so the same quiet requests are not asked about on every run and the next
  run goes on with the ones this one did not reach.
- WAITING resend instructions (services/instruction_service.py `sweep`): one past its expiry is stored
  EXPIRED (out of the match index); the others get their registration's match on consistent reads, so an
  arrival the stream's index look-up missed (a registration within the index's lag) is matched. At most
  `instructions_max_per_run` per run, in turns (from where the last run stopped, round from the oldest);
  one resend each, whoever matches first (the key `instruction:<id>`, the conditional WAITING -> MATCHED).
- Items idle in stock past AGING_ALERT_DAYS: InventoryAging, once per item (services/aging.py), last:
  an alert a run did not reach is the next run's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rh_common.domain import approval, resend_lifecycle
from rh_common.domain.deliveries import DeliveryOutcome
from rh_common.domain.resend_lifecycle import Status
from rh_common.domain.timestamps import iso
from rh_common.domain.webhook_events import ResendUpdate, resend_shipments, tracking_and_error
from rh_common.services.aging import AgingCheck
from rh_common.services.instruction_service import InstructionService
from rh_common.services.ports import ResendRecords, RetryScheduler, ReturnHelper
from rh_common.services.resend_tracking import ResendTracker

if TYPE_CHECKING:
    from rh_common.services.webhook_ingest import WebhookIngestor

QUIET = (Status.SUBMITTED, Status.IN_PROGRESS)


@dataclass(frozen=True)
class ReconcileSettings:
    pending_after_seconds: int
    submitted_after_seconds: int  # quiet this long: polled; also the first backoff between polls
    deliveries_after_seconds: int
    poll_max_per_run: int
    poll_backoff_max_seconds: int
    margin_seconds: float  # no new step starts with less than this left (an upstream call's timeout and more)
    approval_timeout_hours: int  # an AWAITING_APPROVAL request unanswered this long is CANCELED
    instructions_max_per_run: int  # waiting instructions checked per run


@dataclass
class ReconcileReport:
    deliveries_applied: list[str] = field(default_factory=list)
    approvals_timed_out: list[str] = field(default_factory=list)
    asked_again: list[str] = field(default_factory=list)  # PENDING with an unknown attempt
    requeued: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    instructions_expired: list[str] = field(default_factory=list)  # stored EXPIRED
    instructions_matched: list[str] = field(default_factory=list)  # an arrival the stream missed
    aging_published: list[int] = field(default_factory=list)  # items whose InventoryAging went out
    out_of_time: bool = False  # stopped with work left for the next run


class Budget:
    """The invocation's time: a new step starts only while more than the margin is left."""

    def __init__(self, remaining_millis: Callable[[], int], margin_seconds: float, report: ReconcileReport) -> None:
        self._remaining = remaining_millis
        self._margin_millis = margin_seconds * 1000
        self._report = report

    def allows(self) -> bool:
        if self._remaining() > self._margin_millis:
            return True
        self._report.out_of_time = True
        return False


class Reconciler:
    def __init__(
        self,
        resends: ResendRecords,
        tracker: ResendTracker,
        upstream: ReturnHelper,
        retries: RetryScheduler,
        deliveries: WebhookIngestor,
        release_parked: Callable[[int], int],
        aging: AgingCheck,
        instructions: InstructionService,
        settings: ReconcileSettings,
    ) -> None:
        self._resends = resends
        self._tracker = tracker
        self._upstream = upstream
        self._retries = retries
        self._deliveries = deliveries
        self._release_parked = release_parked
        self._aging = aging
        self._instructions = instructions
        self._settings = settings

    def run(self, remaining_millis: Callable[[], int], now: datetime | None = None) -> ReconcileReport:
        """One run within the time `remaining_millis` (the Lambda context's) says is left."""
        now = now or datetime.now(UTC)
        report = ReconcileReport()
        budget = Budget(remaining_millis, self._settings.margin_seconds, report)
        results = self._deliveries.reapply_unfinished(self._settings.deliveries_after_seconds, budget.allows)
        report.deliveries_applied = [r.delivery_id for r in results if r.outcome == DeliveryOutcome.APPLIED]
        if budget.allows():
            self._time_out_approvals(now, budget, report)
        if budget.allows():
            self._requeue_pending(now, budget, report)
        if budget.allows():
            self._poll_quiet_submissions(now, budget, report)
        if budget.allows():
            swept = self._instructions.sweep(now, budget.allows, self._settings.instructions_max_per_run)
            report.instructions_expired, report.instructions_matched = swept.expired, swept.matched
        if budget.allows():
            report.aging_published = self._aging.publish_aged(now, budget.allows)
        return report

    def _time_out_approvals(self, now: datetime, budget: Budget, report: ReconcileReport) -> None:
        """A request waits from its creation and nothing touches it while it waits: its updatedAt (the status
        index's sort key) is when it started waiting. Conditional on still waiting: an approve or reject at
        the same moment wins or loses whole."""
        hours = self._settings.approval_timeout_hours
        due_before = iso(now - timedelta(hours=hours))
        for request_id in self._resends.ids_with_status(Status.AWAITING_APPROVAL.value, due_before):
            if not budget.allows():
                return
            record = self._resends.get(request_id)
            if record is None or record["status"] != Status.AWAITING_APPROVAL.value:
                continue
            if record["createdAt"] >= due_before:
                continue
            changes = approval.timed_out(iso(now), hours)
            expected = [Status.AWAITING_APPROVAL.value]
            if self._resends.transition(request_id, expected, changes, record["returnInventoryIdList"]):
                report.approvals_timed_out.append(request_id)

    def _requeue_pending(self, now: datetime, budget: Budget, report: ReconcileReport) -> None:
        stuck_before = iso(now - timedelta(seconds=self._settings.pending_after_seconds))
        for request_id in self._resends.ids_with_status(Status.PENDING.value, iso(now)):
            if not budget.allows():
                return
            record = self._resends.get(request_id)
            if record is None or record["status"] != Status.PENDING.value:
                continue
            if record.get("attemptUnknown") is True:
                # Return Helper may hold this resend: ask again (same key) on every run, ignoring any backoff.
                self._retries.schedule(request_id, 0)
                report.asked_again.append(request_id)
                continue
            if record["updatedAt"] >= stuck_before:
                continue
            due = int(record.get("nextAttemptAt", 0))
            if due and due + self._settings.pending_after_seconds > now.timestamp():
                continue  # a queued retry is (or was very recently) due; let it run
            # Touch first so the next run does not queue it again while this one waits.
            touched = self._resends.transition(
                request_id, [Status.PENDING.value], {"updatedAt": iso(now), "nextAttemptAt": int(time.time())}
            )
            if touched:
                self._retries.schedule(request_id, 0)
                report.requeued.append(request_id)

    def _poll_quiet_submissions(self, now: datetime, budget: Budget, report: ReconcileReport) -> None:
        before = iso(now - timedelta(seconds=self._settings.submitted_after_seconds))
        quiet = [state for status in QUIET for state in self._resends.poll_states(status.value, before)]
        due = [state for state in quiet if _poll_due(state, now)]
        due.sort(key=lambda state: (state.get("lastPolledAt") or "", state["updatedAt"]))  # never polled first
        for state in due[: self._settings.poll_max_per_run]:
            if not budget.allows():
                return
            self._poll(state, now, report)

    def _poll(self, state: dict[str, Any], now: datetime, report: ReconcileReport) -> None:
        request_id = state["resendRequestId"]
        record = self._resends.get(request_id)
        if record is None or record["status"] not in QUIET or record.get("resendId") is None:
            return
        backoff = int(state.get("pollBackoffSeconds") or 0)
        backoff = min(self._settings.poll_backoff_max_seconds, 2 * backoff or self._settings.submitted_after_seconds)
        # Remembered before the call: a poll that fails (upstream down) is not repeated by the next run either.
        self._resends.transition(
            request_id, [record["status"]], {"lastPolledAt": iso(now), "pollBackoffSeconds": backoff}
        )
        outcome = self._upstream.get_resend(int(record["resendId"]))
        report.polled.append(request_id)
        if not outcome.ok:
            return
        update = _update_from_get_resend(int(record["resendId"]), outcome.payload)
        if self._tracker.apply_to(record, update):
            report.updated.append(request_id)
        self._release_parked(int(record["resendId"]))


def _poll_due(state: dict[str, Any], now: datetime) -> bool:
    polled = state.get("lastPolledAt")
    if not polled:
        return True
    wait = timedelta(seconds=int(state.get("pollBackoffSeconds") or 0))
    return datetime.fromisoformat(polled.replace("Z", "+00:00")) + wait <= now


def _update_from_get_resend(resend_id: int, payload: dict[str, Any]) -> ResendUpdate:
    tracking, error = tracking_and_error(payload.get("resendShipmentList"))
    return ResendUpdate(
        resend_id=resend_id,
        # unreadable: no status from this poll (its tracking number still counts)
        status_code=resend_lifecycle.read_status_code(payload.get("resendStatusCode")),
        tracking_number=tracking,
        error=error,
        shipments=resend_shipments(payload.get("resendShipmentList")),
    )
