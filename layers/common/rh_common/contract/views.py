"""The contract's views as pydantic models: what the merchant API's routes return and document.

One home per view: the routes annotate their return types with these models, so Powertools
validates every success body against what /openapi.json says (error answers are raised and
bypass it, rh_common/http/rest_api.py). The plain-dict builders beside the domain (`inventory.view`,
`resend_lifecycle.view`, `deliveries.view`, `sync_windows.view`) stay pydantic-free for the
webhook and the event publisher; tests/unit/test_views.py checks each builds exactly its model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rh_common.contract.error_schemas import ErrorBody
from rh_common.domain.approval import Why
from rh_common.domain.resend_errors import Reason


class SuccessModel(BaseModel):
    """Base of the success models: a body with keys the document does not name is a bug, not a match."""

    model_config = ConfigDict(extra="forbid")


class FraudFlag(SuccessModel):
    isFraudulent: bool
    reasonCode: str | None


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
    # section 11: what else Return Helper said about the item, null where unknown
    returnRequestId: int | None
    shipmentId: int | None
    sellerReferenceNumber: str | None
    inboundTrackingNumber: str | None
    imageUrls: list[str] | None
    warehouseRemarks: str | None
    fraudFlag: FraudFlag | None
    weight: float | None  # in the payload's weightUom, else grams
    dimensions: list[float] | None  # [d1, d2, d3], in the payload's dimensionUom, else cm
    loggedAt: str | None
    workflow: Literal["recall", "consolidation"] | None


class ResendShipmentView(SuccessModel):
    """One entry of the newest report's resendShipmentList (CONTRACT section 11): no address."""

    resendShipmentId: int | None
    warehouseId: int | None
    trackingNumber: str | None
    cost: float | None  # JSON numbers, the value Return Helper sent (stored as a Decimal, never a float)
    currencyCode: str | None
    chargeableWeight: float | None
    error: str | None  # Return Helper's text, as sent (a JSON-encoded {"message": ...} on a failure)


class LastError(SuccessModel):
    errorCode: str | None
    detail: str
    reason: Reason


class ResendView(SuccessModel):
    resendRequestId: str
    status: str
    returnInventoryIdList: list[int]
    resendId: int | None
    resendNumber: str | None
    resendStatusCode: int | None
    trackingNumber: str | None
    attempts: int
    lastError: LastError | None
    idempotencyKey: str | None
    createdAt: str | None
    updatedAt: str | None
    # Defaults: an answer stored (for an Idempotency-Key's replay) before these existed has neither.
    shipments: list[ResendShipmentView] = Field(default_factory=list)
    quotedFee: float | None = None
    approvalReason: Why | None = Field(
        default=None,
        description="Why it waited for approval (section 12): the fee over the threshold, no quote, or a fraud flag; "
        "null when it never waited",
    )


class ResendAccepted(SuccessModel):
    resendRequestId: str
    status: str


class ConflictItem(BaseModel):
    returnInventoryId: int
    resendRequestId: str | None


class ReservationConflictBody(ErrorBody):
    """409 of every route that reserves or reads reservations: the items held by another request."""

    conflicts: list[ConflictItem]


class DeliveryView(SuccessModel):
    deliveryId: str
    status: str
    category: str | None
    action: str | None
    eventTime: str | None
    receivedAt: str | None
    reason: str | None


class SyncError(SuccessModel):
    message: str


class SyncProgress(SuccessModel):
    syncId: str
    status: Literal["RUNNING", "DONE", "FAILED"]
    since: str | None
    until: str | None
    pagesDone: int
    pagesTotal: int
    inventoriesSeen: int
    inventoriesChanged: int
    errors: list[SyncError]
