"""The CreateResend request as the merchant sends it (and as Return Helper takes it).

Pydantic models: the same types validate the HTTP body, the SQS automation
messages and generate the OpenAPI schema. Length limits are Return Helper's
where documented; undocumented ones are generous bounds that keep a field sane.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import pycountry
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rh_common.contract import item_caps

MAX_ID = 2**63 - 1

InventoryId = Annotated[int, Field(gt=0, le=MAX_ID, strict=True)]


def _stripped(max_length: int, min_length: int = 1) -> StringConstraints:
    """A text field's constraints: `Annotated[str, _stripped(...)]` (an annotation, so a type checker reads it)."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def capped_and_distinct(ids: list[int], max_items: int, per: str) -> list[int]:
    """The request's items before any look-up (contract section 10): at most the cap, none twice.
    Checked here, in the models both doors validate with, so a refused request reads nothing."""
    if len(ids) > max_items:
        raise ValueError(f"at most {max_items} items per {per}")
    if len(set(ids)) != len(ids):
        raise ValueError("inventory ids must be distinct")
    return ids


def iso_alpha3(value: str) -> str:
    """A real ISO 3166 alpha-3 code, lower-cased (Return Helper's samples use lower case)."""
    if pycountry.countries.get(alpha_3=value.upper()) is None:
        raise ValueError("must be an ISO 3166 alpha-3 country code, e.g. usa")
    return value.lower()


class ResendShipment(BaseModel):
    """Destination and service. Name, street, city and postal code limits are Return Helper's."""

    model_config = ConfigDict(extra="forbid")

    shipmentServiceType: Annotated[str, _stripped(100)] = Field(
        description="A shipment service type code of the warehouse"
    )
    shipmentCountryCode: Annotated[str, _stripped(3, 3)] = Field(description="ISO 3166 alpha-3, e.g. usa")
    shipmentName: Annotated[str, _stripped(255)]
    shipmentPhone: Annotated[str, _stripped(50)]
    shipmentEmail: Annotated[str, _stripped(255, 0)] | None = None
    shipmentFax: Annotated[str, _stripped(50, 0)] | None = None
    shipmentStreet1: Annotated[str, _stripped(255)]
    shipmentStreet2: Annotated[str, _stripped(255, 0)] = ""
    shipmentStreet3: Annotated[str, _stripped(255, 0)] | None = None
    shipmentState: Annotated[str, _stripped(50)] = Field(description="State code, or NA where the country has none")
    shipmentCity: Annotated[str, _stripped(50)]
    shipmentPostalCode: Annotated[str, _stripped(50)]

    @field_validator("shipmentCountryCode")
    @classmethod
    def _iso_alpha3(cls, value: str) -> str:
        return iso_alpha3(value)


class CreateResendRequest(BaseModel):
    """Return Helper's CreateResend body."""

    model_config = ConfigDict(extra="forbid")

    # RESEND_MAX_ITEMS (at most 50, template.yaml) is checked by the validator; 100 bounds the document.
    returnInventoryIdList: list[InventoryId] = Field(min_length=1, max_length=100)
    description: Annotated[str, _stripped(500, 0)] | None = None
    remarks: Annotated[str, _stripped(500, 0)] | None = None
    resendShipment: ResendShipment

    @field_validator("returnInventoryIdList")
    @classmethod
    def _capped_and_distinct(cls, ids: list[int]) -> list[int]:
        return capped_and_distinct(ids, item_caps.resend_max_items(), "resend")

    def upstream_body(self) -> dict[str, Any]:
        """The body sent to Return Helper (unset optional fields left out)."""
        return self.model_dump(exclude_none=True)

    def fingerprint(self) -> str:
        """Same request, same fingerprint, whatever the key order or whitespace of the JSON."""
        return fingerprint_of(self.model_dump(mode="json"))


def fingerprint_of(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
