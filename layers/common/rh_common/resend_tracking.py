"""Upstream status reports (resend webhooks, GetResend polls) applied to our resend requests.

Forward only (resend_lifecycle.can_move); FAILED and CANCELED release the items
in the same transaction that records the status, then give each item back the handling
it had when the request reserved it (`restore_handling`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rh_common import inventory, resend_lifecycle
from rh_common.events import InventoryFacts, ResendUpdate
from rh_common.ports import Inventories, ResendRecords
from rh_common.resend_lifecycle import RELEASES_ITEMS, RESTORES_HANDLING, Status
from rh_common.timestamps import now_iso

_ATTEMPTS = 4  # re-read and retry when a concurrent writer moved the status first


def restore_handling(inventories: Inventories, record: dict[str, Any], event_time: str, source: str) -> None:
    """Each item's handling back to what it was at reservation, as a fact dated `event_time`.

    Through the same last-writer-wins registers as every event, so a newer webhook still wins.
    `source` orders it among facts of the same instant: the delivery id of the status webhook
    plus a suffix sorts it right after that webhook's own facts.
    """
    version = inventory.event_version(event_time, source)
    for inventory_id, handling in resend_lifecycle.handling_to_restore(record).items():
        inventories.apply(InventoryFacts(inventory_id, handling), version, event_time)


class ResendTracker:
    def __init__(
        self,
        resends: ResendRecords,
        on_status: Callable[[Status], None] | None = None,
        inventories: Inventories | None = None,
    ) -> None:
        self._resends = resends
        self._on_status = on_status  # told each new status this tracker recorded (e.g. metrics)
        self._inventories = inventories  # where FAILED / CANCELED give the items their handling back

    def find(self, resend_id: int) -> dict[str, Any] | None:
        """Our request that Return Helper knows as resend_id, or None (not ours, or not recorded yet)."""
        return self._resends.find_by_resend_id(resend_id)

    def apply_to(
        self,
        record: dict[str, Any],
        update: ResendUpdate,
        event_time: str | None = None,
        delivery_id: str | None = None,
    ) -> str:
        for _ in range(_ATTEMPTS):
            now = now_iso()
            changes, target = resend_lifecycle.upstream_changes(
                record, update.status_code, update.tracking_number, update.error, now
            )
            if not changes:
                return "unchanged"
            release = record.get("returnInventoryIdList", []) if target in RELEASES_ITEMS else []
            if self._resends.transition(record["resendRequestId"], [record["status"]], changes, release):
                if target in RESTORES_HANDLING and self._inventories is not None:
                    source = f"{delivery_id}#release" if delivery_id else f"release:{record['resendRequestId']}"
                    restore_handling(self._inventories, record, event_time or now, source)
                if target is not None and self._on_status is not None:
                    self._on_status(target)
                return "applied"
            record = self._resends.get(record["resendRequestId"]) or record
        return "unchanged"
