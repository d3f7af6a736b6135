"""The contract's error body, and the REST resolver handlers that produce it everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rh_common.contract.error_schemas import ErrorBody, FieldErrorModel

__all__ = ["ErrorBody", "FieldError", "FieldErrorModel", "error_body", "field_path", "from_validation_errors"]
_MODELS = ("ErrorBody", "FieldErrorModel")  # pydantic: made on first use (see __getattr__)


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


def from_validation_errors(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(field_path(error.get("loc", ())), str(error.get("msg", "invalid"))) for error in errors]


def __getattr__(name: str) -> Any:
    """`errors.ErrorBody` / `errors.FieldErrorModel`: the pydantic models, imported on first use only."""
    if name in _MODELS:
        from rh_common.contract import error_schemas

        return getattr(error_schemas, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
