"""Table changes -> the events of CONTRACT section 9 (the outbox's translation; pure).

One change of a resend request or an inventory (old and new state, read from a DynamoDB stream
record by `rh_common.adapters.dynamodb.stream_records`) becomes at most one event:

- `ResendStatusChanged` when a resend request's `status` differs between the old and the
  new image (an INSERT has no old image: `previousStatus` is null);
- `InventoryChanged` when the inventory view (`inventory.view`, the same view the API
  answers) differs, with `changed` naming the fields that did.

Everything else (a retry's bookkeeping, a revision bump, a removal) is no event. The event
carries only the contract's fields: never the shipment the resend image holds, and of its `lastError`
only the code, the reason and our own words (`resend_errors.published`). `eventId`
is the stream record's `eventID`, the same on every delivery of that record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rh_common.domain import inventory, resend_errors, resend_lifecycle

RESEND_STATUS_CHANGED = "ResendStatusChanged"
INVENTORY_CHANGED = "InventoryChanged"

RESEND_KEY = "resendRequestId"


class UnreadableRecord(ValueError):
    """A stream record this translation cannot read: reported as a batch item failure."""


@dataclass(frozen=True)
class ChangeEvent:
    detail_type: str
    detail: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.detail["eventId"]


def resend_status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any], event_id: str) -> ChangeEvent | None:
    status = new.get("status")
    if not isinstance(status, str) or RESEND_KEY not in new:
        raise UnreadableRecord(f"record {event_id}: a resend image without resendRequestId/status")
    previous = old.get("status") if old else None
    if previous == status:
        return None
    detail = {
        "resendRequestId": new[RESEND_KEY],
        "status": status,
        "previousStatus": previous,
        "resendId": new.get("resendId"),
        "resendNumber": new.get("resendNumber"),
        "trackingNumber": new.get("trackingNumber"),
        "returnInventoryIdList": [int(i) for i in new.get("returnInventoryIdList") or []],
        "idempotencyKey": new.get("idempotencyKey"),
        "lastError": resend_errors.published(resend_lifecycle.current_error(dict(new))),
        "eventId": event_id,
    }
    return ChangeEvent(RESEND_STATUS_CHANGED, detail)


def inventory_changed(
    before: inventory.InventoryRecord | None,
    after: inventory.InventoryRecord,
    event_id: str,
    eligible_handling_codes: frozenset[str],
) -> ChangeEvent | None:
    # An item's first write compares with the view of an item nobody has heard of.
    before = before or inventory.InventoryRecord(after.inventory_id)
    old_view = inventory.view(before, eligible_handling_codes)
    new_view = inventory.view(after, eligible_handling_codes)
    changed = [name for name, value in new_view.items() if old_view.get(name) != value]
    if not changed:
        return None
    return ChangeEvent(INVENTORY_CHANGED, {**new_view, "changed": changed, "eventId": event_id})
