"""The contract's inventory view as a success model (shared by app.py and the workflow routes)."""

from rh_common.http_api import SuccessModel


class InventoryView(SuccessModel):
    returnInventoryId: int
    warehouseId: int | None
    handlingCode: str | None
    handlingStatusCode: str | None
    inStock: bool
    pendingVas: bool
    activeResendRequestId: str | None
    eligibleForResend: bool
    rma: str | None
    sku: str | None
    description: str | None
    lastEventTime: str | None
