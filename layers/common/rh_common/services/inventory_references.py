"""Look-ups by reference (GET /inventories?rma=...), and the reference table kept from the inventory stream.

The rows follow each item's stream image (domain/references.py). A consolidation order's cancellation
names only the order: the webhook keeps it as a marker row among the order's rows (no read on its path),
and the freeing is applied here, where the order's items can be read. Whichever of an item's row and the
marker is written second sees the other (each writer writes, then reads the other with a strongly
consistent read), and the freeing is a dated fact (`otherWorkflow` None at the cancellation's version):
any arrival order, any redelivery, the same result.
"""

from __future__ import annotations

from collections.abc import Iterable

from rh_common.domain import references, stock
from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.webhook_events import InventoryFacts
from rh_common.services.ports import Inventories, References


class ReferenceKeeper:
    """The inventory and reference tables' stream consumer (functions/inventory_references)."""

    def __init__(
        self, references_table: References, inventories: Inventories, eligible_handling_codes: Iterable[str]
    ) -> None:
        self._references = references_table
        self._inventories = inventories
        self._eligible_handling_codes = tuple(eligible_handling_codes)

    def apply(self, change: references.ItemChanged | references.OrderCancelled) -> None:
        if isinstance(change, references.OrderCancelled):
            for inventory_id in self._references.members(change.order_id):
                self._free(inventory_id, change)
            return
        write, delete = references.row_changes(change.old, change.new)
        indexed, unindexed = stock.row_changes(change.old, change.new, self._eligible_handling_codes)
        idle = stock.aging_row(change.new or {})
        if idle is not None:
            # On every change of an idle item, not only the first: a write lost with a given-up batch comes back.
            self._references.add_aging_warehouse(int(idle[1]["warehouseId"]))
        self._references.replace(change.inventory_id, write | frozenset(indexed), delete | unindexed, indexed)
        order_id = (change.new or {}).get(references.ATTRIBUTES[references.CONSOLIDATION_ORDER])
        if order_id and references.reference(references.CONSOLIDATION_ORDER, order_id) in write:
            cancelled = self._references.cancellation(order_id)
            if cancelled is not None:
                self._free(change.inventory_id, references.OrderCancelled(order_id, *cancelled))

    def _free(self, inventory_id: int, cancelled: references.OrderCancelled) -> None:
        # Wins over the packing (older), loses to anything newer (packed into another order, a recall).
        freed = InventoryFacts(inventory_id, {"otherWorkflow": None})
        self._inventories.apply(freed, cancelled.version, cancelled.event_time)


def find(
    references_table: References,
    inventories: Inventories,
    ref_type: str,
    value: str,
    limit: int,
    next_token: str | None = None,
) -> tuple[list[InventoryRecord], str | None]:
    """A page of the items whose `ref_type` is `value`: one Query of the reference table and one batch
    read of the items, each checked against the value (a row can be older than its item).
    InvalidPageToken for a bad token."""
    ref = references.reference(ref_type, value)
    if ref is None:  # a value no row can hold: nothing has it
        return [], None
    ids, token = references_table.page(ref, limit, next_token)
    found = inventories.get_many(ids, consistent=False) if ids else {}
    records = [found[i] for i in ids if i in found and references.matches(found[i].values, ref_type, value)]
    return records, token
