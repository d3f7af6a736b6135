"""POST /instructions' body (contract section 12) and its fingerprint (the idempotency check)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rh_common.contract.resend_request import ResendShipment, fingerprint_of
from rh_common.domain import instructions


class InstructionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=1024)] | int] = Field(
        description=f"Exactly one of {', '.join(instructions.MATCH_TYPES)}"
    )
    sku: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    resendShipment: ResendShipment
    expiresAt: datetime | None = Field(default=None, description="Default: 90 days after registration")

    @field_validator("match")
    @classmethod
    def _one_key(cls, match: dict[str, Any]) -> dict[str, Any]:
        if len(match) != 1:
            raise ValueError(f"give exactly one of {', '.join(instructions.MATCH_TYPES)}")
        ((name, value),) = match.items()
        if name not in instructions.MATCH_TYPES:
            raise ValueError(f"{name} is not one of {', '.join(instructions.MATCH_TYPES)}")
        if instructions.match_reference(name, value) is None:
            raise ValueError(f"{name} cannot be matched")
        return match

    @field_validator("expiresAt")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("give a time zone (for example Z)")
        return moment

    def fingerprint(self) -> str:
        return fingerprint_of(self.model_dump(mode="json"))
