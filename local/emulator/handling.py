"""POST ReturnInventory/UpdateReturnInventoryHandling (its rinv webhook: webhooks.inventory_handling_completed).

Refusals as the api doc lists them (soft errors, VALIDATION_FAILED): an unknown item or
handling code, ``rsd`` and ``tbc`` (a resend goes through createResend), a pending VAS
request, an item in a resend, out of stock, or whose handling status is not ``pending``.
When accepted, the item takes the new handling (status ``pending``) and Return Helper's
``rinv`` / ``completeInventoryHandling`` event is sent, signed, carrying the item as it now is.
"""

from __future__ import annotations

from typing import Any

from local.emulator.state import HANDLING_CODES, EmulatorState, _as_id, invalid

OPERATION = "updateReturnInventoryHandling"
REFUSED_TARGETS = frozenset({"rsd", "tbc"})
_NAMES_BY_NUMBER = {number: name for name, number in HANDLING_CODES.items()}


def update_handling(state: EmulatorState, body: Any) -> dict[str, Any]:
    """Validate and apply; returns the updated inventory (the answer itself is the bare envelope)."""
    if not isinstance(body, dict):
        raise invalid("request", "A JSON object body is required.")
    inventory_id = _as_id(body.get("returnInventoryId"))
    raw_code = body.get("handlingCode")
    code = _NAMES_BY_NUMBER.get(raw_code) if isinstance(raw_code, int) else raw_code
    if inventory_id is None:
        raise invalid("returnInventoryId", "'Return Inventory Id' must be a valid id.")
    if code not in HANDLING_CODES:
        raise invalid("handlingCode", f"'{raw_code}' is not a handling code.")
    if code in REFUSED_TARGETS:
        raise invalid("handlingCode", f"Handling '{code}' cannot be set here (resend: createResend).")

    def change(inventory: dict[str, Any] | None) -> None:
        key = "returnInventoryId"
        if inventory is None:
            raise invalid(key, f"Return inventory {inventory_id} does not exist.")
        if inventory["pendingVas"]:
            raise invalid(key, f"Return inventory {inventory_id} has a pending VAS request.")
        if inventory["activeResendId"] is not None or not inventory["inStock"]:
            raise invalid(key, f"Return inventory {inventory_id} is not available.")
        if inventory["handlingStatusCode"] != "pending":
            raise invalid(key, f"Return inventory {inventory_id} handling is {inventory['handlingStatusCode']}.")
        state.set_handling(inventory, code, "pending")

    return state.change_inventory(inventory_id, change)
