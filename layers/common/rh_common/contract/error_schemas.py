"""The error body as pydantic models, for the merchant API's OpenAPI document.

Apart from `domain.field_errors` (the body as plain data) so that building an error body costs no
pydantic: the webhook function never needs these models, and pydantic is tens of milliseconds of
its cold start (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldErrorModel(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every error response: a message and one entry per offending field."""

    message: str
    errors: list[FieldErrorModel]  # always present, [] when no field is to blame


class UpstreamRefusal(BaseModel):
    """What Return Helper said when it refused a call (soft error): its errorCode and error."""

    errorCode: str | None
    error: Any
