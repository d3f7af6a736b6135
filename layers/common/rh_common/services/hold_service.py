"""POST /inventories/{id}/hold: put an item on hold (ohd) with UpdateReturnInventoryHandling.

Checked first from our state (domain/eligibility's hold conditions: reserved, pending VAS,
handling not pending, not in stock: 409, nothing sent); an item already ohd/pending answers at once. When
Return Helper accepts, the hold is recorded as a fact dated now through the same
last-writer-wins registers as webhooks, so a later webhook still wins.
"""

from __future__ import annotations

from rh_common.domain import eligibility, idempotency_keys, inventory, results
from rh_common.domain.field_errors import FieldError, error_body
from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.results import Outcome, Result
from rh_common.domain.timestamps import now_iso
from rh_common.domain.webhook_events import InventoryFacts
from rh_common.services.inventory_lookup import read_through
from rh_common.services.ports import Inventories, ReturnHelper

ON_HOLD = {"handlingCode": "ohd", "handlingStatusCode": "pending"}


def refusal(record: InventoryRecord, reserved_by: str | None = None) -> str | None:
    """Why the item cannot be put on hold now, or None (the first unmet of eligibility.HOLD_CONDITIONS; its
    reservation by `reserved_by` is none: a request holding its own items)."""
    stored = inventory.attributes(record)
    conditions = eligibility.HOLD_CONDITIONS
    if reserved_by is not None and record.active_resend_request_id == reserved_by:
        conditions = tuple(condition for condition in conditions if condition is not eligibility.NOT_RESERVED)
    unmet = eligibility.unmet(conditions, stored)
    return f"it {unmet[0].explain(stored)}" if unmet else None


def is_on_hold(record: InventoryRecord) -> bool:
    return all(record.values.get(name) == value for name, value in ON_HOLD.items())


class HoldService:
    def __init__(
        self,
        inventories: Inventories,
        upstream: ReturnHelper,
        eligible_handling_codes: frozenset[str],
    ) -> None:
        self._inventories = inventories
        self._upstream = upstream
        self._eligible = eligible_handling_codes

    def hold(self, inventory_id: int, reserved_by: str | None = None) -> Result:
        """Put the item on hold; `reserved_by`: the request that reserved it, holding it after its approval."""
        record = self._inventories.get(inventory_id, consistent=True)
        if record is None:
            record = read_through(self._upstream, self._inventories, [inventory_id], {}).get(inventory_id)
        if record is None:
            return results.not_found(f"inventory {inventory_id} is not known")
        if is_on_hold(record):
            return Result(Outcome.ALREADY_HELD, inventory.view(record, self._eligible))
        why = refusal(record, reserved_by)
        if why is not None:
            message = f"inventory {inventory_id} cannot be put on hold: {why}"
            return Result(Outcome.NOT_HOLDABLE, error_body(message, [FieldError("returnInventoryId", message)]))
        key = idempotency_keys.hold_key(inventory_id, record.last_version)
        outcome = self._upstream.update_handling(inventory_id, "ohd", key)
        if outcome.transient:
            return results.unavailable(f"Return Helper could not be reached ({outcome.detail}); try again")
        if not outcome.ok:
            return results.refused_upstream("hold", outcome)
        event_time = now_iso()
        version = inventory.event_version(event_time, f"hold:{inventory_id}")
        self._inventories.apply(InventoryFacts(inventory_id, ON_HOLD), version, event_time)
        held = inventory.apply(record, ON_HOLD, version, event_time)
        return Result(Outcome.HELD, inventory.view(held, self._eligible))
