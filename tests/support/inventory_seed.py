"""Items written to the inventory table as a webhook or a sync would apply them (the stream tests' starting point)."""

from __future__ import annotations

from typing import Any

from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.domain import inventory
from rh_common.domain.webhook_events import InventoryFacts

T0 = "2025-03-07T00:00:00.0000000Z"


def seed(
    store: InventoryStore, inventory_id: int, values: dict[str, Any], event_time: str = T0, delivery: str = "seed"
) -> None:
    store.apply(InventoryFacts(inventory_id, values), inventory.event_version(event_time, delivery), event_time)
