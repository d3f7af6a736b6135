"""The contract's error body, and the REST resolver handlers that produce it everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


class FieldErrorModel(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every error response: a message and one entry per offending field."""

    message: str
    errors: list[FieldErrorModel] = []


def error_body(message: str, errors: Iterable[FieldError] = ()) -> dict[str, Any]:
    return {"message": message, "errors": [{"field": e.field, "message": e.message} for e in errors]}


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def field_path(location: Sequence[Any]) -> str | None:
    """pydantic's loc ("query", "warehouseId") -> "warehouseId"; ("body", "a", 0) -> "a.0"."""
    parts = list(location)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or None


def from_validation_errors(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(field_path(error.get("loc", ())), str(error.get("msg", "invalid"))) for error in errors]
