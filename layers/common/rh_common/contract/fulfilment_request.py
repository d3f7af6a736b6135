"""POST /fulfilments' body (contract section 12): an order's lines by SKU, and where to send them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rh_common.contract import item_caps
from rh_common.contract.resend_request import ResendShipment, fingerprint_of
from rh_common.contract.workflow_requests import CHEAPEST, MAX_LISTED_ITEMS

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class FulfilmentLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Text
    quantity: int = Field(gt=0, le=MAX_LISTED_ITEMS)


class FulfilmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orderReference: Text
    lines: list[FulfilmentLine] = Field(min_length=1, max_length=MAX_LISTED_ITEMS)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    remarks: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    resendShipment: ResendShipment = Field(
        description='As for POST /resends; shipmentServiceType may be "cheapest" (resolved per warehouse group)'
    )
    holdFirst: bool = Field(default=False, description="Put the picked tbc units on hold (ohd) first")

    @field_validator("lines")
    @classmethod
    def _capped(cls, lines: list[FulfilmentLine]) -> list[FulfilmentLine]:
        # On the field, so the 422 names `lines` (as POST /resends names returnInventoryIdList).
        cap = item_caps.batch_max_items()
        if sum(line.quantity for line in lines) > cap:
            raise ValueError(f"a fulfilment takes at most {cap} units (BATCH_MAX_ITEMS)")
        return lines

    def fingerprint(self) -> str:
        return fingerprint_of(self.model_dump(mode="json"))

    @property
    def wants_cheapest(self) -> bool:
        return self.resendShipment.shipmentServiceType.lower() == CHEAPEST
