"""Each plain-dict view builder builds exactly its model in rh_common.contract.views (the document's shape)."""

import pytest

from rh_common.contract.views import DeliveryView, InventoryView, ResendView, SyncProgress
from rh_common.domain import deliveries, inventory, resend_lifecycle, sync_windows
from rh_common.domain.inventory import InventoryRecord

INVENTORY = InventoryRecord(
    7001,
    {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True, "sku": "S-1"},
    last_event_time="2024-01-12T09:23:08.4863561Z",
)
RESEND = {
    "resendRequestId": "r-1",
    "status": "SUBMITTED",
    "returnInventoryIdList": [7001],
    "resendId": 3588,
    "attempts": 1,
    "createdAt": "2024-01-12T09:23:08.486356Z",
    "shipment": {"shipmentName": "kept out of the view"},
}
DELIVERY = {"deliveryId": "d-1", "status": "applied", "receivedAt": 1705051388, "rawBody": "kept out"}
SYNC = {"syncId": "s-1", "status": "RUNNING", "since": "2024-01-01T00:00:00Z", "pagesDone": 2, "errors": []}


@pytest.mark.parametrize(
    ("built", "model"),
    [
        pytest.param(inventory.view(INVENTORY, frozenset({"ohd"})), InventoryView, id="inventory"),
        pytest.param(resend_lifecycle.view(RESEND), ResendView, id="resend"),
        pytest.param(deliveries.view(DELIVERY), DeliveryView, id="delivery"),
        pytest.param(sync_windows.view(SYNC), SyncProgress, id="sync"),
    ],
)
def test_each_builder_sends_exactly_the_fields_its_model_documents(built, model):
    assert set(built) == set(model.model_fields)
    assert model.model_validate(built).model_dump() == built  # every value of the documented type, as sent
