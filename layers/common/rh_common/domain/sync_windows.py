"""Inventory sync, the pure part: the window asked for, its 62-day windows, the facts one
GetReturnInventory answer states (contract section 8), and the sync record's statuses and view.

Facts are dated by Return Helper's own update time (`handlingUpdatedOnStr`, else
`createOn`) and go through the same last-writer-wins registers as webhooks: a webhook
newer than the sync's data always wins, and a re-run writes nothing (same version).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from rh_common.domain import codes, inventory, timestamps, webhook_events
from rh_common.domain.field_errors import FieldError
from rh_common.domain.webhook_events import InventoryFacts

# A sync spans at most this long (30 windows): a window reaching back to year 1 would be
# thousands of messages queued inside one API request.
MAX_SYNC_DAYS = 5 * 366
MAX_WINDOW_DAYS = 62  # Return Helper's ReturnInventory/list limit (SearchConfig.simpleRecordsMaxDays)
PAGE_SIZE = 50  # ... and its page-size limit
# The version suffix of every sync fact: the same data read twice is the same version (no write).
SYNC_SOURCE = "sync"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    create_from: str  # ISO 8601, Z
    create_to: str


def parse_bound(raw: Any, name: str, end_of_day: bool) -> tuple[datetime | None, FieldError | None]:
    """One bound of an operator window (a sync, a delivery search or replay): a date (its start, or with
    `end_of_day` its last second) or a date-time with Z or an offset; else a field error naming `name`."""
    if not isinstance(raw, str) or not raw.strip():
        return None, FieldError(name, "a date (YYYY-MM-DD) or a date-time with Z or an offset")
    raw = raw.strip()
    if _DATE.match(raw):
        try:
            day = datetime.fromisoformat(raw).date()
        except ValueError:
            return None, FieldError(name, "not a real date")
        bound = time(23, 59, 59) if end_of_day else time(0, 0, 0)
        return datetime.combine(day, bound, tzinfo=UTC), None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            return None, FieldError(name, "a date-time must carry Z or an offset")
        return parsed.astimezone(UTC), None
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        return None, FieldError(name, "not an ISO 8601 date or date-time")


def parse_window(since: Any, until: Any, now: datetime) -> tuple[tuple[datetime, datetime] | None, list[FieldError]]:
    """The window asked for, or field errors. A date `since` starts at 00:00Z, a date `until`
    ends at the end of its day; `until` defaults to now and an `until` past now is now."""
    start, since_error = parse_bound(since, "since", end_of_day=False)
    end, until_error = (now, None) if until is None else parse_bound(until, "until", end_of_day=True)
    problems = [e for e in (since_error, until_error) if e is not None]
    if problems:
        return None, problems
    assert start is not None and end is not None
    end = min(end, now)
    if start > now:
        return None, [FieldError("since", "must not be in the future")]
    if start > end:
        return None, [FieldError("since", "must not be after until")]
    if end - start > timedelta(days=MAX_SYNC_DAYS):
        return None, [FieldError("since", f"a sync covers at most {MAX_SYNC_DAYS} days")]
    return (start, end), []


def windows(start: datetime, end: datetime, max_days: int = MAX_WINDOW_DAYS) -> list[Window]:
    """Consecutive windows of at most max_days covering [start, end]; each second in exactly one."""
    found, cursor, step = [], start, timedelta(days=max_days)
    while True:
        last = min(end, cursor + step)
        found.append(Window(timestamps.iso_seconds(cursor), timestamps.iso_seconds(last)))
        if last >= end:
            return found
        cursor = last + timedelta(seconds=1)


def pages_in(total: int, page_size: int = PAGE_SIZE) -> int:
    """Pages of a window: its first page is always read (it tells the total)."""
    return max(1, math.ceil(total / page_size))


def facts_of(payload: Mapping[str, Any]) -> tuple[InventoryFacts, str, str]:
    """(facts, version, fact time) from one GetReturnInventory answer (ReturnInventoryPayload)."""
    inventory_id = codes.parse_id(payload["returnInventoryId"])
    values: dict[str, Any] = {
        name: payload[name] for name in ("rma", "sku", "description") if payload.get(name) not in (None, "")
    }
    values.update(webhook_events.item_details(payload))  # no image URLs: the answer has S3 keys only
    if payload.get("warehouseId") not in (None, ""):
        values["warehouseId"] = codes.parse_id(payload["warehouseId"])
    code = status = None
    if payload.get("handlingCode") is not None:
        values["handlingCode"] = code = codes.handling_code(payload["handlingCode"])
    if payload.get("handlingStatusCode") is not None:
        values["handlingStatusCode"] = status = codes.handling_status(payload["handlingStatusCode"])
    if code is not None and status is not None:
        # Upstream has no "in stock" flag. An item Return Helper lists is in its warehouse
        # until a handling that takes it out (resend, disposal, recall: rsd/dis/rtn) is
        # completed - the same rule as the completeInventoryHandling webhook.
        values["inStock"] = not (code in codes.LEAVES_STOCK_WHEN_COMPLETED and status == "completed")
    fact_time = _fact_time(payload)
    return InventoryFacts(inventory_id, values), inventory.event_version(fact_time, SYNC_SOURCE), fact_time


@dataclass(frozen=True)
class ItemRead:
    """What one GetReturnInventory answer says, as versioned facts: most dated by the handling update, the VAS
    (`read_dated`) by the read itself (a VAS does not move handlingUpdatedOn: a sync that reads a finished VAS
    clears pendingVas, and a webhook newer than the read still wins)."""

    facts: InventoryFacts
    version: str
    fact_time: str
    read_dated: InventoryFacts
    read_version: str


def read_of(payload: Mapping[str, Any], read_at: str, listed_create_on: Any = None) -> ItemRead:
    """KeyError / ValueError for an answer without a readable returnInventoryId. `listed_create_on`: the item's
    `createOn` in ReturnInventory/list, when the read came from a page of it (GetReturnInventory has none)."""
    facts, version, fact_time = facts_of(payload)
    created = _moment(listed_create_on)
    if created is not None:
        facts = InventoryFacts(facts.inventory_id, {**facts.values, "listedCreateOn": created})
    vas = payload.get("returnRequestLineItemVasList")
    dated = {}
    if isinstance(vas, list):
        dated["pendingVas"] = any(isinstance(v, dict) and v.get("isFinished") is False for v in vas)
    read_version = inventory.event_version(read_at, SYNC_SOURCE)
    return ItemRead(facts, version, fact_time, InventoryFacts(facts.inventory_id, dated), read_version)


def _fact_time(payload: Mapping[str, Any]) -> str:
    for name in ("handlingUpdatedOnStr", "handlingUpdatedOn", "createOn"):
        moment = _moment(payload.get(name))
        if moment is not None:
            return moment
    # Undated: older than any dated news, so any webhook wins over it.
    return "2000-01-01T00:00:00.0000000Z"


def _moment(raw: Any) -> str | None:
    """An upstream date-time in sortable form; None when unset (null, "", upstream's sentinel) or unreadable."""
    if isinstance(raw, str) and raw.strip() and not raw.startswith(timestamps.UNSET_SENTINEL):
        try:
            return timestamps.sortable(raw)
        except ValueError:
            return None
    return None


# -- the sync record (adapters.dynamodb.sync_store keeps it): its statuses and its view

RUNNING, DONE, FAILED = "RUNNING", "DONE", "FAILED"
VIEW_FIELDS = ("syncId", "status", "since", "until", "pagesDone", "pagesTotal", "inventoriesSeen", "inventoriesChanged")


def view(record: dict[str, Any]) -> dict[str, Any]:
    shown = {name: record.get(name) for name in VIEW_FIELDS}
    for counter in ("pagesDone", "pagesTotal", "inventoriesSeen", "inventoriesChanged"):
        shown[counter] = int(shown[counter] or 0)
    shown["errors"] = [{"message": str(e.get("message"))} for e in record.get("errors") or []]
    return shown
