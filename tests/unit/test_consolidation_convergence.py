"""A consolidation order's packing, its cancellation and the streams behind them converge in any order
(services/inventory_references.py over the fakes): the cancellation names only the order, so the freeing
meets the item wherever the two arrive second."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from rh_common.domain import inventory, references
from rh_common.domain.webhook_events import InventoryFacts
from rh_common.services.inventory_references import ReferenceKeeper
from tests.support.fakes import FakeInventories, FakeReferences

ITEM = 20312
PACKED = ("2025-03-07T01:00:00.0000000Z", "X")  # (eventTime, order)
CANCELLED = ("2025-03-07T02:00:00.0000000Z", "X")
PACKED_AGAIN = ("2025-03-07T03:00:00.0000000Z", "Y")  # into another order, after X's cancellation


class StreamedInventories(FakeInventories):
    """FakeInventories whose every change is a stream record, waiting to be read."""

    def __init__(self) -> None:
        super().__init__()
        self.stream: deque[references.ItemChanged] = deque()

    def apply(self, facts: InventoryFacts, version: str, event_time: str) -> str:
        before = self.records.get(facts.inventory_id)
        outcome = super().apply(facts, version, event_time)
        if outcome != "superseded":
            old = dict(before.values) if before else None
            self.stream.append(
                references.ItemChanged(facts.inventory_id, old, dict(self.records[facts.inventory_id].values))
            )
        return outcome


def run(deliveries, reads, redeliver):
    items, rows = StreamedInventories(), FakeReferences()
    keeper = ReferenceKeeper(rows, items, ("ohd", "tbc"))
    items.seed(ITEM, warehouseId=2, handlingCode="tbc", handlingStatusCode="pending", inStock=True)
    markers: deque[references.OrderCancelled] = deque()
    steps = list(deliveries)
    pending_reads = list(reads)
    while steps or items.stream or markers:
        # a stream read now and then between deliveries, as the mappings poll on their own
        if steps and (not pending_reads or not pending_reads.pop(0)):
            kind, (event_time, order) = steps.pop(0)
            version = inventory.event_version(event_time, f"{kind}-{order}")
            if kind == "cancel":
                rows.cancel_order(order, version, event_time, also={})
                markers.append(references.OrderCancelled(order, version, event_time))
            else:
                facts = {"otherWorkflow": "consolidation", "consolidationOrderId": order}
                items.apply(InventoryFacts(ITEM, facts), version, event_time)
            continue
        for queue in (items.stream, markers):
            if queue:
                change = queue.popleft()
                for _ in range(2 if redeliver else 1):
                    keeper.apply(change)
    return items.records[ITEM].values


DELIVERIES = [("pack", PACKED), ("cancel", CANCELLED)]


@settings(max_examples=200, deadline=None)
@given(st.permutations(DELIVERIES), st.lists(st.booleans(), max_size=8), st.booleans())
def test_a_cancelled_order_s_item_is_free_whatever_the_order_of_deliveries_and_stream_reads(order, reads, again):
    assert run(order, reads, again).get("otherWorkflow") is None


@settings(max_examples=200, deadline=None)
@given(st.permutations([*DELIVERIES, ("pack", PACKED_AGAIN)]), st.lists(st.booleans(), max_size=8), st.booleans())
def test_an_item_packed_into_another_order_after_the_cancellation_stays_in_the_workflow(order, reads, again):
    values = run(order, reads, again)
    assert (values.get("otherWorkflow"), values.get("consolidationOrderId")) == ("consolidation", "Y")
