"""Inventory sync as a distributed job: a record with atomic progress counters, and SQS
messages one per page (a 62-day window's page of ReturnInventory/list, or a page of the
items in stock to re-read). The first page of each window tells the window's total and fans
out the rest; the re-read is one chain per shard of the sparse in-stock index, each page
querying one page of the index and queueing the next (no run reads the whole table). Every
page reads GetReturnInventory for its items with bounded concurrency and applies what it
learns through the inventory registers (rh_common.domain.sync_windows).

A re-read page counts itself and, when the index has more, the page after it (pagesTotal +1)
in one update before queueing it, so pagesDone reaches pagesTotal only once every chain has
ended. A page message handled again after it was counted (SQS delivers at least once, or the
function died before queueing the next) reads nothing and queues the next page again.

A page that fails transiently is sent again with the resends' backoff (retry_policy),
without redoing the other pages; after `retry_max_attempts`, or on a refusal, the sync
ends FAILED with the upstream error. A FAILED or DONE sync ignores its leftover pages,
so nothing loops.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rh_common.domain import codes, retry_policy, sync_windows
from rh_common.domain.field_errors import FieldError
from rh_common.domain.sync_windows import RUNNING, view
from rh_common.domain.timestamps import iso_seconds, now_iso
from rh_common.domain.upstream_outcome import UpstreamOutcome
from rh_common.services.inventory_lookup import apply_read
from rh_common.services.ports import InStockInventories, ReturnHelper, SyncPages, SyncRecords

WINDOW_PAGE, REREAD_PAGE = "inventorySyncPage", "inventoryReread"


@dataclass(frozen=True)
class SyncSettings:
    retry_base_delay_seconds: float
    retry_max_attempts: int
    concurrency: int = 8  # GetReturnInventory calls in flight per page


class InventorySyncService:
    def __init__(
        self,
        syncs: SyncRecords,
        queue: SyncPages,
        inventories: InStockInventories,
        upstream: ReturnHelper,
        settings: SyncSettings,
    ) -> None:
        self._syncs = syncs
        self._queue = queue
        self._inventories = inventories
        self._upstream = upstream
        self._settings = settings

    # ------------------------------------------------------------------ start
    def start(self, since: Any, until: Any, now: datetime | None = None) -> tuple[dict | None, list[FieldError]]:
        """Record a sync and queue each window's first page; (the sync view, []) or (None, field errors)."""
        window, problems = sync_windows.parse_window(since, until, now or datetime.now(UTC))
        if window is None:
            return None, problems
        return self._start(*window, reread=False), []

    def start_scheduled(self, days: int, now: datetime | None = None) -> dict:
        """The last `days` days' new items, and a re-read of every known item still in stock
        (the list filters by creation date: an older item that changed while deliveries were
        suspended would otherwise be missed)."""
        end = now or datetime.now(UTC)
        return self._start(end - timedelta(days=days), end, reread=True, kind="scheduled")

    def _start(self, start: datetime, end: datetime, reread: bool, kind: str = "manual") -> dict:
        sync_id = str(uuid.uuid4())
        windows = sync_windows.windows(start, end)
        shards = range(self._inventories.in_stock_shards) if reread else range(0)
        now = now_iso()
        record = {
            "syncId": sync_id,
            "kind": kind,
            "status": RUNNING,
            "since": iso_seconds(start),
            "until": iso_seconds(end),
            "windowsPending": len(windows),
            "pagesTotal": len(shards),  # each chain's first page; a page with a next one counts it
            "pagesDone": 0,
            "inventoriesSeen": 0,
            "inventoriesChanged": 0,
            "createdAt": now,
            "updatedAt": now,
        }
        self._syncs.create(record)
        messages = [
            {
                "kind": WINDOW_PAGE,
                "syncId": sync_id,
                "from": w.create_from,
                "to": w.create_to,
                "offset": 0,
                "first": True,
            }
            for w in windows
        ]
        messages += [{"kind": REREAD_PAGE, "syncId": sync_id, "shard": shard, "after": None} for shard in shards]
        self._queue.send(messages)
        return view(record)

    def get(self, sync_id: str) -> dict | None:
        record = self._syncs.get(sync_id)
        return view(record) if record else None

    # ------------------------------------------------------------------ one page (the worker)
    def handle(self, message: dict[str, Any]) -> str:
        """One page message: "counted", "already counted", "retrying", "failed" or "skipped"."""
        sync_id = str(message.get("syncId"))
        sync = self._syncs.get(sync_id)
        if sync is None or sync.get("status") != RUNNING:
            return "skipped"  # a FAILED (or DONE) sync's leftover pages stop here
        if message.get("kind") == REREAD_PAGE:
            return self._reread(message, sync)
        # a window's page of ReturnInventory/list
        page_key = f"{message['from']}|{message['offset']}"
        outcome = self._upstream.list_return_inventory(
            message["from"], message["to"], sync_windows.PAGE_SIZE, int(message["offset"])
        )
        if not outcome.ok:
            return self._retry_or_fail(message, outcome)
        rows = [row for row in outcome.payload.get("data") or [] if isinstance(row, dict)]
        listed = {codes.parse_id(row["returnInventoryId"]): row.get("createOn") for row in rows}
        if message.get("first"):
            # The window's total, counted once; then its other pages, as messages of their own.
            total = int(outcome.payload.get("totalNumberOfRecords") or 0)
            pages = sync_windows.pages_in(total)
            self._syncs.count(sync_id, f"{page_key}|total", {"pagesTotal": pages, "windowsPending": -1}, now_iso())
            self._fan_out(message, total)
            message = {**message, "first": False}  # a retry of this page does not fan out again
        read = self._read_and_apply(list(listed), listed)
        if isinstance(read, UpstreamOutcome):
            return self._retry_or_fail(message, read)
        return self._count(sync_id, page_key, *read)

    def _reread(self, message: dict[str, Any], sync: dict[str, Any]) -> str:
        """One page of one shard of the in-stock index: re-read its items, count it, queue the next page."""
        sync_id, shard = str(message["syncId"]), int(message["shard"])
        after = None if message.get("after") is None else int(message["after"])
        page_key = f"r{shard}:{after or 0}"
        ids, next_after = self._inventories.in_stock_page(shard, after, sync_windows.PAGE_SIZE)
        outcome = "already counted"
        if page_key not in (sync.get("donePages") or ()):
            read = self._read_and_apply(ids)
            if isinstance(read, UpstreamOutcome):
                return self._retry_or_fail(message, read)
            outcome = self._count(sync_id, page_key, *read, more=int(next_after is not None))
        if next_after is not None:
            self._queue.send([{"kind": REREAD_PAGE, "syncId": sync_id, "shard": shard, "after": next_after}])
        return outcome

    def _count(self, sync_id: str, page_key: str, seen: int, changed: int, more: int = 0) -> str:
        """Count a page once (and the page after it, `more`); the sync is DONE when it was the last."""
        counters = {"pagesDone": 1, "pagesTotal": more, "inventoriesSeen": seen, "inventoriesChanged": changed}
        counted = self._syncs.count(sync_id, page_key, counters, now_iso())
        if counted is None:
            return "already counted"
        if int(counted.get("windowsPending", 0)) <= 0 and counted.get("pagesDone") == counted.get("pagesTotal"):
            self._syncs.finish(sync_id, now_iso())
        return "counted"

    def _fan_out(self, first: dict[str, Any], total: int) -> None:
        rest = range(sync_windows.PAGE_SIZE, total, sync_windows.PAGE_SIZE)
        self._queue.send([{**first, "offset": offset, "first": False, "attempt": 1} for offset in rest])

    def _read_and_apply(
        self, ids: list[int], listed_create_on: dict[int, Any] | None = None
    ) -> tuple[int, int] | UpstreamOutcome:
        """(seen, changed), or the first transient failure (the page is then retried whole:
        what was applied already is written again as nothing, the versions being the same).
        `listed_create_on`: each item's createOn in the list page it came from (a window's page)."""
        if not ids:
            return 0, 0
        read_at = now_iso()  # before the calls: what they answer is at least this recent
        with ThreadPoolExecutor(max_workers=min(self._settings.concurrency, len(ids))) as pool:
            outcomes = list(pool.map(self._upstream.get_return_inventory, ids))
        failed = next((o for o in outcomes if not o.ok and not o.permanent), None)
        if failed is not None:
            return failed
        seen = changed = 0
        for inventory_id, outcome in zip(ids, outcomes, strict=True):
            if not outcome.ok:
                continue  # refused for this one id (gone upstream): nothing to learn
            seen += 1
            created = (listed_create_on or {}).get(inventory_id)
            changed += apply_read(self._inventories, sync_windows.read_of(outcome.payload, read_at, created))
        return seen, changed

    def _retry_or_fail(self, message: dict[str, Any], outcome: UpstreamOutcome) -> str:
        attempts = int(message.get("attempt", 1))
        if outcome.permanent or retry_policy.should_give_up(attempts, self._settings.retry_max_attempts):
            reason = outcome.error_code or outcome.detail or outcome.kind.value
            self._syncs.fail(str(message["syncId"]), f"{outcome.operation}: {reason}", now_iso())
            return "failed"
        delay = retry_policy.next_delay_seconds(
            attempts, self._settings.retry_base_delay_seconds, outcome.retry_after_seconds
        )
        self._queue.send([{**message, "attempt": attempts + 1}], delay)
        return "retrying"
