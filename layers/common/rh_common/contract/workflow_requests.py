"""The bodies of the routes around a resend: quote, plan and batch (pydantic, as resend_request)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rh_common.contract import item_caps
from rh_common.contract.resend_request import (
    InventoryId,
    ResendShipment,
    capped_and_distinct,
    fingerprint_of,
    iso_alpha3,
)

# The documents' bounds; the caps (contract.item_caps: RESEND_MAX_ITEMS, BATCH_MAX_ITEMS: at most 50 and 500 in
# template.yaml) are checked by the validators, before any look-up.
MAX_QUOTED_ITEMS = 100
MAX_LISTED_ITEMS = 1000
CHEAPEST = "cheapest"


def _one_resend(ids: list[int]) -> list[int]:
    return capped_and_distinct(ids, item_caps.resend_max_items(), "resend")


def _one_batch(ids: list[int]) -> list[int]:
    return capped_and_distinct(ids, item_caps.batch_max_items(), "batch")


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=MAX_QUOTED_ITEMS)
    shipmentCountryCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3)] = Field(
        description="ISO 3166 alpha-3, e.g. usa"
    )
    shipmentPostalCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

    _items = field_validator("returnInventoryIdList")(_one_resend)
    _country = field_validator("shipmentCountryCode")(iso_alpha3)

    @classmethod
    def of(cls, inventory_ids: list[int], shipment: ResendShipment) -> QuoteRequest:
        """The quote of these items to a resend's destination (a batch group's, a fulfilment's, an instruction's)."""
        return cls(
            returnInventoryIdList=inventory_ids,
            shipmentCountryCode=shipment.shipmentCountryCode,
            shipmentPostalCode=shipment.shipmentPostalCode,
        )


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=MAX_LISTED_ITEMS)

    _items = field_validator("returnInventoryIdList")(_one_batch)


class BatchRequest(BaseModel):
    """POST /resends' body for up to BATCH_MAX_ITEMS items of any warehouses, plus holdFirst."""

    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=MAX_LISTED_ITEMS)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    remarks: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    resendShipment: ResendShipment = Field(
        description='As for POST /resends; shipmentServiceType may be "cheapest" (resolved per group with the quote)'
    )
    holdFirst: bool = Field(default=False, description="Put the tbc items on hold (ohd) first")

    _items = field_validator("returnInventoryIdList")(_one_batch)

    def fingerprint(self) -> str:
        return fingerprint_of(self.model_dump(mode="json"))

    @property
    def wants_cheapest(self) -> bool:
        return self.resendShipment.shipmentServiceType.lower() == CHEAPEST
