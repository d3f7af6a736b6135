"""Delivery replays (contract section 11): the deliveries of one state and window run through the webhook's
own apply path again, in the background, a page per SQS message, paced, each page counted once.

One chain per replay: a page message reads the next page of the search from the record's cursor, replays
it, counts it (with the cursor after it) in one conditional write, and only then queues the next page. A
page message SQS delivers again, or one whose function died after counting, finds its page counted: it
replays nothing and only queues the next page if that was never recorded as queued; so each page is
counted once and a chain never forks into two.

Replaying is idempotent twice over: state is versioned by event (a delivery applied again writes nothing),
and a replay only takes deliveries still in the state it names (those it applied have left it: a replay of a
replay finds nothing left to apply).

Rate: a process applies at most `rate_limit / workers` deliveries per second, and at most `workers` pages
run at once (the queue source's MaximumConcurrency), so a replay never puts more into the apply path than
the webhook route admits (WebhookRateLimit).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rh_common.contract.queue_messages import REPLAY_KIND
from rh_common.domain.deliveries import APPLY_FAILED
from rh_common.domain.delivery_search import RUNNING, DeliverySearch, parse_replay, replay_view
from rh_common.domain.field_errors import FieldError
from rh_common.domain.timestamps import now_iso
from rh_common.services.ports import Deliveries, ReplayPages, ReplayRecords
from rh_common.services.webhook_ingest import ApplyFailed, WebhookIngestor

MAX_PAGE_SIZE = 50
PAGE_SECONDS = 10  # a page is at most this long at the paced rate (the worker's timeout is 29 s)


@dataclass(frozen=True)
class ReplaySettings:
    rate_limit: float  # deliveries per second into the apply path, all workers together
    workers: int  # pages running at once at most (the replay queue source's MaximumConcurrency)
    retention_days: int = 30  # a replay record is kept as long as the deliveries it names

    @property
    def worker_rate(self) -> float:
        return self.rate_limit / max(1, self.workers)

    @property
    def page_size(self) -> int:
        return max(1, min(MAX_PAGE_SIZE, int(self.worker_rate * PAGE_SECONDS)))


class Pacer:
    """At most `rate` starts per second in this process: each `wait` returns no sooner than 1/rate after the
    previous one (kept across invocations of a warm function, so back-to-back pages are paced too)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is not None and self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


class DeliveryReplayService:
    def __init__(
        self,
        deliveries: Deliveries,
        replays: ReplayRecords,
        queue: ReplayPages,
        ingestor: WebhookIngestor,
        settings: ReplaySettings,
        pacer: Pacer | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._replays = replays
        self._queue = queue
        self._ingestor = ingestor
        self._settings = settings
        self.pacer = pacer or Pacer(settings.worker_rate)  # one per process: warm invocations stay paced

    # ------------------------------------------------------------------ start, progress (the API)
    def start(
        self, status: Any, category: Any, since: Any, until: Any, now: datetime | None = None
    ) -> tuple[dict[str, Any] | None, list[FieldError]]:
        """Record a replay and queue its first page: (its view, []) or (None, field errors)."""
        search, problems = parse_replay(now or datetime.now(UTC), status, category, since, until)
        if search is None:
            return None, problems
        replay_id = str(uuid.uuid4())
        created = now_iso()
        record = {
            "replayId": replay_id,
            "status": RUNNING,
            "search": search.stored(),
            "matched": 0,
            "replayed": 0,
            "outcomes": {},
            "pagesDone": 0,
            "pagesSent": 0,
            "createdAt": created,
            "updatedAt": created,
            "expiresAt": int(time.time()) + self._settings.retention_days * 86400,
        }
        self._replays.create(record)
        self._queue.send(page_message(replay_id, 0))
        return replay_view(record), []

    def get(self, replay_id: str) -> dict[str, Any] | None:
        record = self._replays.get(replay_id)
        return replay_view(record) if record else None

    # ------------------------------------------------------------------ one page (the worker)
    def handle(self, message: dict[str, Any]) -> str:
        """One page message: "counted", "done", "already counted" or "skipped"."""
        replay_id, page = str(message["replayId"]), int(message["page"])
        record = self._replays.get(replay_id)
        if record is None or record.get("status") != RUNNING:
            return "skipped"  # a DONE replay's leftover message
        done, sent = int(record.get("pagesDone") or 0), int(record.get("pagesSent") or 0)
        if page < done:
            # Counted before: delivered again, or its function died between counting and queueing the next.
            if page == done - 1 and sent < done:
                self._queue_page(replay_id, done)
            return "already counted"
        if page > done:
            return "skipped"  # never queued before the page ahead of it is counted
        search = DeliverySearch.from_stored(record["search"])
        listed, cursor = self._deliveries.search(search, self._settings.page_size, record.get("cursor"))
        outcomes: Counter[str] = Counter()
        for entry in listed:
            item = self._deliveries.get(entry["deliveryId"])
            if item is None or item.get("status") != search.status:
                continue  # it left the state since (a redelivery, the reconciler): nothing to replay
            self.pacer.wait()
            outcomes[self._replay(item)] += 1
        counters = {"matched": len(listed), "replayed": sum(outcomes.values())}
        if not self._replays.count_page(replay_id, page, counters, dict(outcomes), cursor, now_iso()):
            return "already counted"  # a concurrent delivery of this message counted it first
        if cursor is None:
            return "done"
        self._queue_page(replay_id, page + 1)
        return "counted"

    def _replay(self, item: dict[str, Any]) -> str:
        try:
            return self._ingestor.apply_stored(item).outcome
        except ApplyFailed:
            return APPLY_FAILED  # marked applyFailed again; a later replay or the reconciler tries again

    def _queue_page(self, replay_id: str, page: int) -> None:
        self._queue.send(page_message(replay_id, page))
        self._replays.mark_sent(replay_id, page)


def page_message(replay_id: str, page: int) -> dict[str, Any]:
    return {"kind": REPLAY_KIND, "replayId": replay_id, "page": page}
