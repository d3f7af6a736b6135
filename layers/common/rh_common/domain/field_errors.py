"""The contract's error body as plain data: `{"message", "errors": [{"field", "message"}]}`.

Its pydantic models, for the OpenAPI document, are `rh_common.contract.error_schemas`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


def error_body(message: str, errors: Iterable[FieldError] = ()) -> dict[str, Any]:
    return {"message": message, "errors": [{"field": e.field, "message": e.message} for e in errors]}


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def field_path(location: Sequence[Any]) -> str | None:
    """pydantic's loc ("query", "warehouseId") -> "warehouseId"; ("body", "a", 0) -> "a.0";
    ("header", "idempotency-key") -> "Idempotency-Key" (Powertools lower-cases header names)."""
    parts = list(location)
    if parts[:1] == ["header"] and len(parts) == 2:
        return "-".join(word.capitalize() for word in str(parts[1]).split("-"))
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or None


def from_validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    return [FieldError(field_path(error.get("loc", ())), str(error.get("msg", "invalid"))) for error in errors]
