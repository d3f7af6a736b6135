"""Read-through: an inventory unknown here is looked up once with GetReturnInventory (and
applied as a dated fact) before a request naming it is refused (contract section 8).

One home for POST /resends, and for the quote / plan / batch routes to call.
"""

from __future__ import annotations

from collections.abc import Iterable

from rh_common.domain import sync_windows
from rh_common.domain.inventory import FactWrite, InventoryRecord
from rh_common.domain.timestamps import now_iso
from rh_common.services.ports import Inventories, ReturnHelper


def read_through(
    upstream: ReturnHelper,
    inventories: Inventories,
    ids: Iterable[int],
    known: dict[int, InventoryRecord],
) -> dict[int, InventoryRecord]:
    """`known` plus whatever Return Helper says about the ids missing from it (one call each).
    An id upstream does not know, or a failed call, stays unknown: the caller refuses it."""
    found = []
    for inventory_id in dict.fromkeys(i for i in ids if i not in known):
        read_at = now_iso()  # before the call: what it answers is at least this recent
        outcome = upstream.get_return_inventory(inventory_id)
        if not outcome.ok:
            continue
        try:
            read = sync_windows.read_of(outcome.payload, read_at)
        except (KeyError, ValueError):
            continue
        if read.facts.inventory_id != inventory_id:
            continue
        apply_read(inventories, read)
        found.append(inventory_id)
    if not found:
        return known
    return {**known, **inventories.get_many(found, consistent=True)}


def apply_read(inventories: Inventories, read: sync_windows.ItemRead) -> bool:
    """Apply one answer; True when it changed what we know of the item."""
    changed = inventories.apply(read.facts, read.version, read.fact_time) != FactWrite.SUPERSEDED
    return inventories.apply_read_dated(read.read_dated, read.read_version) == FactWrite.APPLIED or changed
