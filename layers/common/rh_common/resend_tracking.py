"""Upstream status reports (resend webhooks, GetResend polls) applied to our resend requests.

Forward only (resend_lifecycle.can_move); FAILED and CANCELED release the items
in the same transaction that records the status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rh_common import resend_lifecycle
from rh_common.adapters.resend_store import ResendStore
from rh_common.events import ResendUpdate
from rh_common.resend_lifecycle import RELEASES_ITEMS, Status

_ATTEMPTS = 4  # re-read and retry when a concurrent writer moved the status first


class ResendTracker:
    def __init__(self, resends: ResendStore, on_status: Callable[[Status], None] | None = None) -> None:
        self._resends = resends
        self._on_status = on_status  # told each new status this tracker recorded (e.g. metrics)

    def apply(self, update: ResendUpdate) -> str:
        """ "applied", "unchanged", or "unknown" (a resend we did not create, or not recorded yet)."""
        record = self._resends.find_by_resend_id(update.resend_id)
        if record is None:
            return "unknown"
        return self.apply_to(record, update)

    def apply_to(self, record: dict[str, Any], update: ResendUpdate) -> str:
        for _ in range(_ATTEMPTS):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            changes, target = resend_lifecycle.upstream_changes(
                record, update.status_code, update.tracking_number, update.error, now
            )
            if not changes:
                return "unchanged"
            release = record.get("returnInventoryIdList", []) if target in RELEASES_ITEMS else []
            if self._resends.transition(record["resendRequestId"], [record["status"]], changes, release):
                if target is not None and self._on_status is not None:
                    self._on_status(target)
                return "applied"
            record = self._resends.get(record["resendRequestId"]) or record
        return "unchanged"
