"""The bodies of the routes around a resend: quote, plan and batch (pydantic, as resend_request)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rh_common.resend_request import InventoryId, ResendShipment, fingerprint_of, iso_alpha3

# Plan and batch take "any number" of items; this bounds one request's batch read (and its body).
MAX_LISTED_ITEMS = 1000
CHEAPEST = "cheapest"


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("inventory ids must be distinct")
    return ids


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=100)
    shipmentCountryCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3)] = Field(
        description="ISO 3166 alpha-3, e.g. usa"
    )
    shipmentPostalCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

    _distinct_ids = field_validator("returnInventoryIdList")(_distinct)
    _country = field_validator("shipmentCountryCode")(iso_alpha3)


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=MAX_LISTED_ITEMS)


class BatchRequest(BaseModel):
    """POST /resends' body for any number of items of any warehouses, plus holdFirst."""

    model_config = ConfigDict(extra="forbid")

    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=MAX_LISTED_ITEMS)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    remarks: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    resendShipment: ResendShipment = Field(
        description='As for POST /resends; shipmentServiceType may be "cheapest" (resolved per group with the quote)'
    )
    holdFirst: bool = Field(default=False, description="Put the tbc items on hold (ohd) first")

    _distinct_ids = field_validator("returnInventoryIdList")(_distinct)

    def fingerprint(self) -> str:
        return fingerprint_of(self.model_dump(mode="json"))

    @property
    def wants_cheapest(self) -> bool:
        return self.resendShipment.shipmentServiceType.lower() == CHEAPEST
