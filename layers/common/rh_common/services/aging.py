"""Aging (contract section 12): items idle in stock longer than AGING_ALERT_DAYS are published once each as
`InventoryAging`, on the reconciler's runs and within their time budget; and GET /inventories?agedOverDays=N.

The items are found through the sparse `aging#<warehouseId>` rows (domain/stock.py), which carry `loggedAt`,
in the index on it: a run reads a warehouse's aged items oldest first, never its younger idle ones.
Once per item: a marker claimed by a conditional write before the event is put, marked published after
it was put, released when the put failed (the next run tries again). A run that dies between its claim
and its put leaves a claim; a later run takes it over once it is older than CLAIM_STALE_SECONDS. The
event id is the item's own, so a consumer drops the rare repeat (a run that died after its put).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rh_common.domain import stock
from rh_common.domain.inventory import InventoryRecord, attributes
from rh_common.domain.timestamps import iso
from rh_common.services.ports import AgingAlerts, EventBus, Inventories, StockIndex

INVENTORY_AGING = "InventoryAging"
# Longer than a reconciler run can last (its timeout), so a live run's claim is never taken over.
CLAIM_STALE_SECONDS = 900
_PAGE = 100


@dataclass(frozen=True)
class AgingSettings:
    alert_days: int


class AgingCheck:
    def __init__(self, index: StockIndex, alerts: AgingAlerts, bus: EventBus, settings: AgingSettings) -> None:
        self._index = index
        self._alerts = alerts
        self._bus = bus
        self._settings = settings

    def publish_aged(self, now: datetime, allows: Callable[[], bool]) -> list[int]:
        """One pass over every warehouse's idle items older than the threshold, while `allows()` (the run's
        budget); the ids whose InventoryAging this run published."""
        cutoff = stock.age_cutoff(now, self._settings.alert_days)
        published: list[int] = []
        for warehouse_id in self._index.aging_warehouses():
            token: str | None = None
            while allows():
                rows, token = self._index.aging_page(warehouse_id, cutoff, _PAGE, token)
                published += self._publish(rows, now)
                if token is None:
                    break
            if not allows():
                break
        return published

    def _publish(self, rows: list[stock.AgingRow], now: datetime) -> list[int]:
        stale_before = iso(now - timedelta(seconds=CLAIM_STALE_SECONDS))
        done = self._alerts.published((row.inventory_id for row in rows), stale_before)
        claimed = [
            row
            for row in rows
            if row.inventory_id not in done and self._alerts.claim(row.inventory_id, iso(now), stale_before)
        ]
        if not claimed:
            return []
        events = {str(row.inventory_id): stock.aging_event(row, now) for row in claimed}
        failed = set(self._bus.publish(INVENTORY_AGING, events))
        for row in claimed:
            if str(row.inventory_id) in failed:
                self._alerts.release(row.inventory_id)
            else:
                self._alerts.mark_published(row.inventory_id)
        return [row.inventory_id for row in claimed if str(row.inventory_id) not in failed]


def aged_items(
    index: StockIndex,
    inventories: Inventories,
    warehouse_id: int,
    days: int,
    now: datetime,
    limit: int,
    next_token: str | None = None,
) -> tuple[list[InventoryRecord], str | None]:
    """GET /inventories?agedOverDays=N&warehouseId=W: a page of the warehouse's items idle in stock and logged
    more than `days` days before `now`, oldest first: one Query of its aging rows and one batch read of the
    items, each checked again (a row can be older than its item). InvalidPageToken for a bad token."""
    cutoff = stock.age_cutoff(now, days)
    rows, token = index.aging_page(warehouse_id, cutoff, limit, next_token)
    ids = [row.inventory_id for row in rows]
    found = inventories.get_many(ids, consistent=False) if ids else {}
    return [found[i] for i in ids if i in found and _still_aged(found[i], warehouse_id, cutoff)], token


def _still_aged(record: InventoryRecord, warehouse_id: int, cutoff: str) -> bool:
    row = stock.aging_row(attributes(record))
    return (
        row is not None and row[0] == stock.aging_reference(warehouse_id) and row[1][stock.LOGGED_AT_SORTABLE] < cutoff
    )
