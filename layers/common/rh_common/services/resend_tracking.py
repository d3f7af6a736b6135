"""Upstream status reports (resend webhooks, GetResend polls) applied to our resend requests.

Forward only (resend_lifecycle.can_move); FAILED and CANCELED give each item back the
handling it had when the request reserved it (`restore_handling`), then release the items
in the same transaction that records the status: a failure of either leaves the report
unapplied, and its retry does both again (the restore is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rh_common.domain import inventory, resend_lifecycle
from rh_common.domain.resend_lifecycle import RELEASES_ITEMS, RESTORES_HANDLING, Status
from rh_common.domain.timestamps import now_iso
from rh_common.domain.webhook_events import InventoryFacts, ResendUpdate
from rh_common.services.ports import Inventories, ResendRecords

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
        on_status: Callable[[Status], None],
        inventories: Inventories,
    ) -> None:
        self._resends = resends
        self._on_status = on_status  # told each new status this tracker recorded (the metrics)
        self._inventories = inventories  # where FAILED / CANCELED give the items their handling back

    def find(self, resend_id: int) -> dict[str, Any] | None:
        """Our request that Return Helper knows as resend_id, or None (not ours, or not recorded yet)."""
        return self._resends.find_by_resend_id(resend_id)

    def adopt(self, resend_id: int, inventory_ids: list[int]) -> dict[str, Any] | None:
        """The PENDING request whose unknown attempt created `resend_id` (its items are exactly the report's),
        now recording that id; None when no request is that one (resend_lifecycle.adopts).

        Found through the first item's reservation: one item read, one request read."""
        if not inventory_ids:
            return None
        item = self._inventories.get(inventory_ids[0], consistent=True)
        holder = item.active_resend_request_id if item is not None else None
        record = self._resends.get(holder) if holder else None
        if record is None or not resend_lifecycle.adopts(record, inventory_ids):
            return None
        changes = {"resendId": resend_id, "attemptUnknown": None, "updatedAt": now_iso()}
        seen = {"attemptUnknown": True, "resendId": None}
        if not self._resends.transition(record["resendRequestId"], [Status.PENDING.value], changes, (), seen):
            return None  # answered meanwhile (its own resend id recorded, or canceled): not adopted here
        adopted = {**record, "resendId": resend_id, "updatedAt": changes["updatedAt"]}
        adopted.pop("attemptUnknown", None)
        return adopted

    def apply_to(
        self,
        record: dict[str, Any],
        update: ResendUpdate,
        event_time: str | None = None,
        delivery_id: str | None = None,
    ) -> bool:
        """Whether the report changed the request (False: nothing new, or outrun by other writers)."""
        for _ in range(_ATTEMPTS):
            now = now_iso()
            changes, target = resend_lifecycle.upstream_changes(
                record,
                update.status_code,
                update.tracking_number,
                update.error,
                now,
                event_time,
                update.shipments,
                delivery_id,
            )
            if not changes:
                return False
            request_id = record["resendRequestId"]
            release = record.get("returnInventoryIdList", []) if target in RELEASES_ITEMS else []
            if target in RESTORES_HANDLING:
                # Before the status moves: a failure here leaves the report unapplied, so whoever retries it
                # (Return Helper's redelivery, the reconciler) restores again; the same version when the
                # report is the same, so a second restore changes nothing.
                source = f"{delivery_id}#release" if delivery_id else f"release:{request_id}"
                restore_handling(self._inventories, record, event_time or now, source)
            # Newest-report registers: written only over the version this report was compared with.
            registers = ("trackingEventTime", "shipmentsVersion")
            unchanged: dict[str, Any] = {name: record.get(name) for name in registers if name in changes}
            if self._resends.transition(request_id, [record["status"]], changes, release, unchanged or None):
                if target is not None:
                    self._on_status(target)
                return True
            record = self._resends.get(request_id) or record
        return False
